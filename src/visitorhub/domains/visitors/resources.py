"""Declarations of the visitors and external-ids resources (opt-ins: domains/optins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_

from visitorhub.core.resource import (
    Filter,
    Imports,
    Resource,
    Unique,
    at_least,
    equals,
    ignored,
)
from visitorhub.core.search import fold, starts_with
from visitorhub.domains.enums import AccountType, CountryCode, ExternalType, QueryBy
from visitorhub.domains.vehicles.resources import normalize_plate
from visitorhub.domains.visitors.schemas import (
    ExternalIdCreate,
    ExternalIdRead,
    VisitorFields,
    VisitorRead,
    VisitorUpdate,
)
from visitorhub.domains.visitors.service import VisitorService
from visitorhub.errors import BadRequest
from visitorhub.models import ExternalId, Vehicle, Visitor, VisitorCenter


def search(stmt: Select[Any], query: Any) -> Select[Any]:
    """`query` narrowed by `queryBy`: e-mail and names match prefixes ignoring case and accents, licence
    plates and external ids match exactly; without queryBy, e-mail, first and last name are searched."""
    text = (query.query or "").strip()
    if not text:
        if query.queryBy is not None:
            raise BadRequest("queryBy needs a query to search for.", field="query", code="missing")
        return stmt
    by = query.queryBy
    if by == QueryBy.email:
        return stmt.where(starts_with(Visitor.email_folded, text))
    if by == QueryBy.firstName:
        return stmt.where(starts_with(Visitor.first_name_folded, text))
    if by == QueryBy.lastName:
        return stmt.where(starts_with(Visitor.last_name_folded, text))
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
                or_(starts_with(Visitor.first_name_folded, word), starts_with(Visitor.last_name_folded, word))
            )
        return stmt
    return stmt.where(
        or_(
            starts_with(Visitor.email_folded, text),
            starts_with(Visitor.first_name_folded, text),
            starts_with(Visitor.last_name_folded, text),
        )
    )


def _is_smartparker(stmt: Select[Any], value: bool) -> Select[Any]:
    linked = exists().where(
        and_(VisitorCenter.visitor_id == Visitor.visitor_id, VisitorCenter.is_smartparker.is_(True))
    )
    return stmt.where(linked if value else ~linked)


visitors = Resource(
    name="visitors",
    entity="Visitor",
    model=Visitor,
    read=VisitorRead,
    update=VisitorUpdate,
    service_class=VisitorService,
    key="visitorId",
    unique=(Unique(("email",), lower=True, message="A visitor with email {email} already exists."),),
    references={"acquisitionPcCode": "centers", "upgradePcCode": "centers"},
    derived={
        "email_folded": ("email", fold),
        "first_name_folded": ("first_name", fold),
        "last_name_folded": ("last_name", fold),
    },
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
        Filter("query", str, ignored, "Text to search (see queryBy)"),
        Filter("queryBy", QueryBy, ignored, "What query searches; default e-mail and names"),
    ),
    base_filter=search,
    operations={"list": 24, "update": 29, "get": 30},
    imports=Imports(writable=VisitorFields),
    example_update={"firstName": "Annie"},
)
visitor_service = visitors.service_as(VisitorService)

external_ids = Resource(
    name="external-ids",
    entity="ExternalId",
    model=ExternalId,
    read=ExternalIdRead,
    create=ExternalIdCreate,
    parent="visitors",
    key="externalType",
    key_annotation=ExternalType,
    unique=(
        Unique(
            ("visitorId", "externalType", "pcCode"),
            message="Visitor already has a {externalType} external id at this pcCode.",
            field="externalType",
        ),
        Unique(
            ("externalType", "externalId", "pcCode"),
            message="{externalType} id {externalId} already belongs to another visitor.",
            field="externalId",
        ),
    ),
    sortable=("creationDate", "updateDate", "externalType"),
    filters=(Filter("pcCode", str, equals(ExternalId.pc_code), "Pc code"),),
    operations={"create": 37, "list": 38},
    imports=Imports(),
    example={"externalId": "crm-42", "externalType": "crm_id"},
)
