"""The visitor-centre operation that is not plain CRUD: the upsert."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Path
from fastapi.responses import JSONResponse

from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.responses import one
from visitorhub.core.router import ERROR_RESPONSES, WRITE, Router, check_parent
from visitorhub.core.schemas import DataEnvelope
from visitorhub.domains.centers.resources import visitor_center_service, visitor_centers
from visitorhub.domains.centers.schemas import VisitorCenterRead, VisitorCenterUpsert

router = Router(tags=[visitor_centers.tag_name], responses=ERROR_RESPONSES)


@router.put(
    "/visitors/{visitorId}/centers",
    description="Upsert keyed by (visitorId, pcCode): 200 when it existed, 201 when created.",
    response_model=DataEnvelope[VisitorCenterRead],
    dependencies=WRITE,
    **documented(44),
)
def upsert_visitor_center(
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    body: Annotated[VisitorCenterUpsert, Body()],
) -> JSONResponse:
    check_parent(session, visitor_centers, {"visitorId": visitor_id})
    record, created = visitor_center_service.upsert(
        session, visitor_id, body.model_dump(exclude_unset=True), ctx
    )
    return one(visitor_center_service.represent(record), 201 if created else 200)
