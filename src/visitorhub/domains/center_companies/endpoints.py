"""The center-company update: a PUT (the seed's body is the whole record)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path
from fastapi.responses import JSONResponse

from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.responses import one
from visitorhub.core.router import ERROR_RESPONSES, WRITE, Router, load_item
from visitorhub.core.schemas import DataEnvelope
from visitorhub.domains.center_companies.resources import center_companies, center_company_service
from visitorhub.domains.center_companies.schemas import CenterCompanyCreate, CenterCompanyRead

router = Router(tags=[center_companies.tag_name], responses=ERROR_RESPONSES)


@router.put(
    "/centers/{pcCode}/companies/{centerCompanyId}",
    response_model=DataEnvelope[CenterCompanyRead],
    dependencies=WRITE,
    description="Replaces the company's fields (companyName).",
    **documented(99),
)
def update_center_company(
    session: DbSession,
    ctx: WriteCtx,
    pc_code: Annotated[str, Path(alias="pcCode")],
    center_company_id: Annotated[int, Path(alias="centerCompanyId")],
    body: Annotated[CenterCompanyCreate, Body()],
) -> JSONResponse:
    company = load_item(session, center_companies, {"pcCode": pc_code, "centerCompanyId": center_company_id})
    center_company_service.update(session, company, body.model_dump(), ctx)
    return one(center_company_service.represent(company))
