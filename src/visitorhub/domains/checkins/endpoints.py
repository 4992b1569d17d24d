"""The checkin operations across visitors: a checkin by barcode, and the checkins of a centre or service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select

from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.listing import ListQuery, apply_sort, parse_fields, select_fields
from visitorhub.core.responses import one, page
from visitorhub.core.router import ERROR_RESPONSES, READ, WRITE, Router
from visitorhub.core.schemas import DataEnvelope, ListEnvelope
from visitorhub.domains.checkins.resources import checkins
from visitorhub.domains.checkins.schemas import BarcodeCheckinCreate, CheckinRead
from visitorhub.errors import NotFound
from visitorhub.models import Checkin, Visitor

router = Router(tags=[checkins.tag_name], responses=ERROR_RESPONSES)


class CheckinsQuery(ListQuery):
    pcCode: str | None = Field(None, description="PC Code")
    serviceId: int | None = Field(None, description="Service id")
    checkedInSince: datetime | None = Field(None, description="creationDate >= this instant")
    checkedInUntil: datetime | None = Field(None, description="creationDate <= this instant")


@router.get(
    "/checkins",
    **documented(78),
    dependencies=READ,
    response_model=ListEnvelope[CheckinRead],
    description="Checkins of every visitor, narrowed by centre and/or service and by the instant of the "
    "checkin (creationDate); oldest first unless sorted otherwise.",
)
def list_checkins_by_center_or_service(
    request: Request, session: DbSession, query: Annotated[CheckinsQuery, Query()]
) -> JSONResponse:
    fields = parse_fields(checkins, query.fields)
    stmt = select(Checkin)
    if query.pcCode is not None:
        stmt = stmt.where(Checkin.pc_code == query.pcCode)
    if query.serviceId is not None:
        stmt = stmt.where(Checkin.service_id == query.serviceId)
    if query.checkedInSince is not None:
        stmt = stmt.where(Checkin.creation_date >= query.checkedInSince)
    if query.checkedInUntil is not None:
        stmt = stmt.where(Checkin.creation_date <= query.checkedInUntil)
    stmt = apply_sort(checkins, stmt, query.sort)
    rows = list(session.scalars(stmt.offset(query.offset).limit(query.limit + 1)))
    represent = checkins.service.represent
    return page(request.url, rows, query, lambda row: select_fields(represent(row), fields))


@router.post(
    "/checkins",
    **documented(79),
    status_code=201,
    dependencies=WRITE,
    response_model=DataEnvelope[CheckinRead],
    description="The visitor is the one with this barcode (404 naming barcode when none has it).",
)
def create_checkin_by_barcode(
    session: DbSession, ctx: WriteCtx, body: Annotated[BarcodeCheckinCreate, Body()]
) -> JSONResponse:
    visitor_id = session.scalar(select(Visitor.visitor_id).where(Visitor.barcode == body.barcode))
    if visitor_id is None:
        raise NotFound(f"No visitor has barcode {body.barcode}.", field="barcode")
    values = body.model_dump(exclude={"barcode"})
    checkin = checkins.service.create(session, {**values, "visitor_id": visitor_id}, ctx)
    return one(checkins.service.represent(checkin), 201)
