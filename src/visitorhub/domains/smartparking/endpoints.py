"""POST /smartparking/visits/{visitType} and GET /smartparking/centers/{pcCode}/visits.

Both answer as the seed shows them: a bare object and a bare array, without the data envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Body, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select

from visitorhub.core.catalogue import documented
from visitorhub.core.db import utcnow
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.listing import ListQuery, apply_sort, parse_fields, select_fields
from visitorhub.core.router import ERROR_RESPONSES, READ, WRITE, Router
from visitorhub.domains.enums import VisitType
from visitorhub.domains.smartparking.resources import smartparking_service, smartparking_visits
from visitorhub.domains.smartparking.schemas import IDS, SmartParkingVisitRead, VisitCreate
from visitorhub.domains.smartparking.service import resolve_visitor
from visitorhub.models import SmartParkingVisit

router = Router(tags=[smartparking_visits.tag_name], responses=ERROR_RESPONSES)
RULES = (
    "The visitor: a licensePlate designates the one whose vehicle matches it (case, spaces and dashes "
    "aside), is not deleted and was updated last; a visitorId or a barcode the one that has it. At least one "
    "of the three (422), each designating a visitor (404 naming it), all the same visitor (409 naming them)."
)


@router.post(
    "/smartparking/visits/{visitType}",
    **documented(142, "Record a smartparking entry or exit"),
    status_code=201,
    dependencies=WRITE,
    response_model=SmartParkingVisitRead,
    description=f"Records the visit (visitDate now) and answers it. {RULES}",
)
def record_visit(
    session: DbSession,
    ctx: WriteCtx,
    visit_type: Annotated[
        VisitType, Path(alias="visitType", description="The type of visit, either entry or exit")
    ],
    body: Annotated[VisitCreate, Body(description="The smartparking payload object")],
) -> JSONResponse:
    ids = body.model_dump(exclude={"pc_code"})
    visit = smartparking_service.record(session, ids, body.pc_code, visit_type.value, utcnow(), ctx)
    return JSONResponse(smartparking_service.represent(visit), status_code=201)


class VisitsQuery(ListQuery):
    visitorId: str | None = Field(None, description=IDS)
    barcode: str | None = Field(None, description=IDS)
    licensePlate: str | None = Field(None, description=IDS)
    visitDateSince: datetime | None = Field(None, description="visitDate >= visitDateSince")
    visitDateUntil: datetime | None = Field(None, description="visitDate <= visitDateUntil")
    visitType: VisitType | None = Field(None, description="Only this visit type; by default all types")


@router.get(
    "/smartparking/centers/{pcCode}/visits",
    **documented(143, "Retrieve a visitor's smartparking visits at a center"),
    dependencies=READ,
    response_model=list[SmartParkingVisitRead],
    description=f"The visits at the centre of the visitor the ids designate, newest first unless sorted "
    f"otherwise (visitDate, visitType). {RULES}",
)
def list_visits(
    session: DbSession,
    pc_code: Annotated[str, Path(alias="pcCode", description="pcCode")],
    query: Annotated[VisitsQuery, Query()],
) -> JSONResponse:
    fields = parse_fields(smartparking_visits, query.fields)
    visitor_id = resolve_visitor(session, query.visitorId, query.barcode, query.licensePlate)
    stmt = select(SmartParkingVisit).where(
        SmartParkingVisit.visitor_id == visitor_id, SmartParkingVisit.pc_code == pc_code
    )
    if query.visitDateSince is not None:
        stmt = stmt.where(SmartParkingVisit.visit_date >= query.visitDateSince)
    if query.visitDateUntil is not None:
        stmt = stmt.where(SmartParkingVisit.visit_date <= query.visitDateUntil)
    if query.visitType is not None:
        stmt = stmt.where(SmartParkingVisit.visit_type == query.visitType)
    stmt = apply_sort(smartparking_visits, stmt, query.sort)
    rows = session.scalars(stmt.offset(query.offset).limit(query.limit))
    represent = smartparking_service.represent
    return JSONResponse([select_fields(represent(row), fields) for row in rows])
