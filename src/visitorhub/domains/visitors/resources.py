"""Declarations of the visitors and external-ids resources; their router."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select, and_, exists, func, or_, select

from visitorhub.core.resource import Filter, Resource, at_least, equals, starts_with_ci
from visitorhub.core.router import crud_routes
from visitorhub.domains.centers.resources import VISITOR_PARENT
from visitorhub.domains.enums import AccountType, CountryCode, ExternalType, QueryBy
from visitorhub.domains.vehicles.service import normalize_plate
from visitorhub.domains.visitors.schemas import ExternalIdCreate, VisitorUpdate
from visitorhub.domains.visitors.service import external_id_service, visitor_service
from visitorhub.errors import BadRequest
from visitorhub.models import ExternalId, Vehicle, Visitor, VisitorCenter


def _starts_with(column: Any, value: str) -> Any:
    return starts_with_ci(column, value)


def search(stmt: Select[Any], query: Any) -> Select[Any]:
    """`query` narrowed by `queryBy`: e-mail and names match case-insensitive prefixes, licence plates and
    external ids match exactly; without queryBy, e-mail, first and last name are searched."""
    text = (query.query or "").strip()
    if not text:
        if query.queryBy is not None:
            raise BadRequest("queryBy needs a query to search for.", field="query", code="missing")
        return stmt
    by = query.queryBy
    if by == QueryBy.email:
        return stmt.where(_starts_with(Visitor.email, text))
    if by == QueryBy.firstName:
        return stmt.where(_starts_with(Visitor.first_name, text))
    if by == QueryBy.lastName:
        return stmt.where(_starts_with(Visitor.last_name, text))
    if by == QueryBy.licensePlate:
        plate = normalize_plate(text)
        return stmt.where(
            exists().where(
                Vehicle.visitor_id == Visitor.visitor_id,
                Vehicle.license_plate_normalized == plate,
                Vehicle.deletion_date.is_(None),
            )
        )
    if by == QueryBy.externalId:
        return stmt.where(
            exists().where(ExternalId.visitor_id == Visitor.visitor_id, ExternalId.external_id == text)
        )
    if by == QueryBy.fullname:
        # Every word must start the first or the last name: "john smi" finds John Smith.
        for word in text.split():
            stmt = stmt.where(
                or_(_starts_with(Visitor.first_name, word), _starts_with(Visitor.last_name, word))
            )
        return stmt
    return stmt.where(
        or_(
            _starts_with(Visitor.email, text),
            _starts_with(Visitor.first_name, text),
            _starts_with(Visitor.last_name, text),
        )
    )


def _is_smartparker(stmt: Select[Any], value: bool) -> Select[Any]:
    linked = exists().where(
        and_(VisitorCenter.visitor_id == Visitor.visitor_id, VisitorCenter.is_smartparker.is_(True))
    )
    return stmt.where(linked if value else ~linked)


visitors = Resource(
    name="visitors",
    service=visitor_service,
    path="/visitors",
    tag="visitors",
    key="visitorId",
    key_annotation=uuid.UUID,
    update=VisitorUpdate,
    sortable=("creationDate", "updateDate", "registrationDate", "lastVisitDate", "lastName"),
    filters=(
        Filter("countryCode", CountryCode, equals(Visitor.country_code), "Country code"),
        Filter("barcode", str, equals(Visitor.barcode), "Barcode"),
        Filter("email", str, lambda stmt, v: stmt.where(func.lower(Visitor.email) == v.lower()), "E-mail"),
        Filter("acquisitionPcCode", str, equals(Visitor.acquisition_pc_code), "Acquisition centre"),
        Filter("accountType", AccountType, equals(Visitor.account_type), "full or partial"),
        Filter("originType", str, equals(Visitor.origin_type), "Origin type"),
        Filter("isSmartparker", bool, _is_smartparker, "Has a visitor-centre with isSmartparker"),
        Filter("updatedSince", datetime, at_least(Visitor.update_date), "updateDate >= this instant"),
        Filter("createdSince", datetime, at_least(Visitor.creation_date), "creationDate >= this instant"),
        Filter("query", str, lambda stmt, _v: stmt, "Text to search (see queryBy)"),
        Filter("queryBy", QueryBy, lambda stmt, _v: stmt, "What query searches; default e-mail and names"),
    ),
    base_filter=search,
    summaries={"list": "List visitors", "update": "Update a visitor", "get": "Read a visitor"},
)

external_ids = Resource(
    name="external-ids",
    service=external_id_service,
    path="/visitors/{visitorId}/external-ids",
    tag="external-ids",
    key="externalType",
    key_annotation=ExternalType,
    parent=VISITOR_PARENT,
    create=ExternalIdCreate,
    sortable=("creationDate", "updateDate", "externalType"),
    filters=(Filter("pcCode", str, equals(ExternalId.pc_code), "Pc code"),),
    summaries={
        "create": "Create external id for visitor",
        "list": "Retrieve visitor\u2019s external ids",
    },
)

__all__ = ["external_ids", "search", "select", "visitors"]


def build_router() -> APIRouter:
    """Custom routes first (they must win over /visitors/{visitorId}), then the generic ones."""
    from visitorhub.domains.visitors import endpoints

    router = APIRouter()
    router.include_router(endpoints.router)
    crud_routes(visitors, router)
    crud_routes(external_ids, router)
    return router
