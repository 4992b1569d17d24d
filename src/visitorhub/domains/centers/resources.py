"""Declarations of the centers and visitor-centers resources, and their router."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse

from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.resource import Filter, Parent, Resource, equals
from visitorhub.core.router import ERROR_RESPONSES, WRITE, check_parent, crud_routes, data_response
from visitorhub.core.schemas import DataEnvelope
from visitorhub.domains.centers.schemas import (
    CenterCreate,
    CenterUpdate,
    VisitorCenterCreate,
    VisitorCenterRead,
    VisitorCenterUpdate,
    VisitorCenterUpsert,
)
from visitorhub.domains.centers.service import center_service, visitor_center_service
from visitorhub.domains.enums import CountryCode
from visitorhub.models import Center, Visitor, VisitorCenter

VISITOR_PARENT = Parent(
    param="visitorId", annotation=uuid.UUID, column="visitor_id", model=Visitor, label="Visitor"
)

centers = Resource(
    name="centers",
    service=center_service,
    path="/centers",
    tag="centers",
    key="pcCode",
    key_annotation=str,
    create=CenterCreate,
    update=CenterUpdate,
    sortable=("creationDate", "updateDate", "pcCode", "label", "country"),
    filters=(
        Filter("isActive", bool, equals(Center.is_active), "Center is active or not"),
        Filter("country", CountryCode, equals(Center.country), "Filter by country"),
    ),
    summaries={
        "create": "Add a new center",
        "list": "List centers",
        "update": "Update a center",
        "get": "Read a center",
    },
)

visitor_centers = Resource(
    name="visitor-centers",
    service=visitor_center_service,
    path="/visitors/{visitorId}/centers",
    tag="visitor-centers",
    key="pcCode",
    key_annotation=str,
    parent=VISITOR_PARENT,
    create=VisitorCenterCreate,
    update=VisitorCenterUpdate,
    sortable=("creationDate", "updateDate", "pcCode", "favoriteDate"),
    filters=(),
    summaries={
        "create": "Create a new visitor center",
        "list": "Retrieve visitor\u2019s centers list",
        "get": "Retrieve a visitor center",
        "update": "Update a visitor center",
    },
)

router = APIRouter()
crud_routes(centers, router)


@router.put(
    "/visitors/{visitorId}/centers",
    summary="Update or create a visitor center",
    description="Upsert keyed by (visitorId, pcCode): 200 when it existed, 201 when created.",
    response_model=DataEnvelope[VisitorCenterRead],
    dependencies=WRITE,
    tags=["visitor-centers"],
    responses=ERROR_RESPONSES,
    operation_id="upsert_visitor-centers",
)
def upsert_visitor_center(
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    body: Annotated[VisitorCenterUpsert, Body()],
) -> JSONResponse:
    path: dict[str, Any] = {"visitorId": visitor_id}
    check_parent(session, visitor_centers, path)
    record, created = visitor_center_service.upsert(
        session, visitor_id, body.model_dump(exclude_unset=True), ctx
    )
    return data_response(visitor_center_service.represent(record), 201 if created else 200)


crud_routes(visitor_centers, router)

__all__ = ["VisitorCenter", "centers", "router", "visitor_centers"]
