"""The visitor operations that are not plain CRUD: registration, partial visitors, details, count, batches,
and external-id lookups."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.listing import PageQuery, apply_sort, parse_fields, select_fields
from visitorhub.core.resource import Resource
from visitorhub.core.responses import listing, one, page
from visitorhub.core.router import ERROR_RESPONSES, READ, WRITE, Router, check_parent
from visitorhub.core.schemas import DataEnvelope, ListEnvelope, MetaDataEnvelope
from visitorhub.domains.centers.resources import visitor_centers
from visitorhub.domains.credit_cards.resources import credit_cards
from visitorhub.domains.enums import AccountType, DeletableExternalType, ExternalType
from visitorhub.domains.optins.resources import optins
from visitorhub.domains.rewards.resources import rewards
from visitorhub.domains.vehicles.resources import vehicles
from visitorhub.domains.visitors.resources import external_ids, visitor_service, visitors
from visitorhub.domains.visitors.schemas import (
    BatchDeleteItem,
    BatchDeleteResult,
    CountRead,
    ExternalIdRead,
    PartialVisitorCreate,
    VisitorCreate,
    VisitorDetailsRead,
    VisitorFlagsItem,
    VisitorFlagsRead,
    VisitorRead,
)
from visitorhub.errors import BadRequest, NotFound, ValidationErrors
from visitorhub.models import ExternalId, Visitor

MAX_BATCH = 500
router = Router(tags=["visitors"], responses=ERROR_RESPONSES)


@router.post(
    "/visitors",
    **documented(23),
    status_code=201,
    dependencies=WRITE,
    response_model=DataEnvelope[VisitorRead],
    description="Registers a full visitor and stores its opt-ins. A partial visitor with the same "
    "e-mail is upgraded in place (same visitorId; upgradePcCode = the new acquisitionPcCode).",
)
def create_visitor(session: DbSession, ctx: WriteCtx, body: VisitorCreate) -> JSONResponse:
    visitor = visitor_service.register(session, body.model_dump(), ctx)
    return one(visitor_service.represent(visitor), 201)


@router.post(
    "/visitors/partial",
    **documented(26),
    status_code=201,
    dependencies=WRITE,
    response_model=DataEnvelope[VisitorRead],
    description="accountType is 'partial'; preferredCenter becomes acquisitionPcCode and a favourite "
    "visitor-centre.",
)
def create_partial_visitor(session: DbSession, ctx: WriteCtx, body: PartialVisitorCreate) -> JSONResponse:
    visitor = visitor_service.register_partial(session, body.model_dump(), ctx)
    return one(visitor_service.represent(visitor), 201)


class DetailsQuery(PageQuery):
    visitorId: uuid.UUID | None = Field(None, description="Id of visitor")
    creationDateGte: datetime | None = Field(None, description="creationDate >= this instant")
    creationDateLt: datetime | None = Field(None, description="creationDate < this instant")


def _grouped(session: Session, resource: Resource, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    groups: dict[uuid.UUID, list[Any]] = defaultdict(list)
    model: Any = resource.model
    if ids:
        for row in session.scalars(
            select(model).where(model.visitor_id.in_(ids)).order_by(model.creation_date)
        ):
            groups[row.visitor_id].append(resource.service.represent(row))
    return groups


@router.get(
    "/visitors/details",
    **documented(27),
    dependencies=READ,
    response_model=ListEnvelope[VisitorDetailsRead],
    description="Each visitor with its externalIds, optins, rewards, visitorCenters, vehicles and "
    "creditCards (soft-deleted ones included).",
)
def read_visitors_details(
    request: Request, session: DbSession, query: Annotated[DetailsQuery, Query()]
) -> JSONResponse:
    stmt = select(Visitor)
    if query.visitorId is not None:
        stmt = stmt.where(Visitor.visitor_id == query.visitorId)
    if query.creationDateGte is not None:
        stmt = stmt.where(Visitor.creation_date >= query.creationDateGte)
    if query.creationDateLt is not None:
        stmt = stmt.where(Visitor.creation_date < query.creationDateLt)
    stmt = apply_sort(visitors, stmt, query.sort)
    rows = list(session.scalars(stmt.offset(query.offset).limit(query.limit + 1)))
    ids = [row.visitor_id for row in rows[: query.limit]]
    related = {
        "externalIds": _grouped(session, external_ids, ids),
        "optins": _grouped(session, optins, ids),
        "visitorCenters": _grouped(session, visitor_centers, ids),
        "vehicles": _grouped(session, vehicles, ids),
        "rewards": _grouped(session, rewards, ids),
        "creditCards": _grouped(session, credit_cards, ids),
    }

    def details(row: Visitor) -> dict[str, Any]:
        item = visitor_service.represent(row)
        item["externalIds"] = related["externalIds"].get(row.visitor_id, [])
        item["optins"] = related["optins"].get(row.visitor_id, [])
        item["rewards"] = related["rewards"].get(row.visitor_id, [])
        item["visitorCenters"] = related["visitorCenters"].get(row.visitor_id, [])
        item["vehicles"] = related["vehicles"].get(row.visitor_id, [])
        item["creditCards"] = related["creditCards"].get(row.visitor_id, [])
        return item

    return page(request.url, rows, query, details)


class CountQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registeredSince: datetime | None = Field(None, description="registrationDate >= this instant")
    registeredUntil: datetime | None = Field(None, description="registrationDate <= this instant")
    acquisitionPcCode: str | None = None
    accountType: AccountType | None = None
    originType: str | None = None


@router.get(
    "/visitors/count", **documented(28), dependencies=READ, response_model=MetaDataEnvelope[CountRead]
)
def count_visitors(
    request: Request, session: DbSession, query: Annotated[CountQuery, Query()]
) -> JSONResponse:
    stmt = select(func.count()).select_from(Visitor)
    if query.registeredSince is not None:
        stmt = stmt.where(Visitor.registration_date >= query.registeredSince)
    if query.registeredUntil is not None:
        stmt = stmt.where(Visitor.registration_date <= query.registeredUntil)
    if query.acquisitionPcCode is not None:
        stmt = stmt.where(Visitor.acquisition_pc_code == query.acquisitionPcCode)
    if query.accountType is not None:
        stmt = stmt.where(Visitor.account_type == query.accountType)
    if query.originType is not None:
        stmt = stmt.where(Visitor.origin_type == query.originType)
    count = session.scalar(stmt) or 0
    return one({"count": count}, url=request.url)


def _check_batch_size(items: list[Any]) -> None:
    if not items:
        raise BadRequest("The batch is empty.", field="body", code="empty")
    if len(items) > MAX_BATCH:
        raise BadRequest(
            f"At most {MAX_BATCH} items per batch; got {len(items)}.", field="body", code="too_many"
        )


@router.patch(
    "/visitors/batch",
    **documented(25),
    dependencies=WRITE,
    response_model=ListEnvelope[VisitorFlagsRead],
    description=f"All or nothing: if any visitorId is unknown, nothing is changed. At most {MAX_BATCH} "
    "items.",
)
def update_visitor_flags(
    request: Request,
    session: DbSession,
    ctx: WriteCtx,
    # The bounds are checked by _check_batch_size (a 400 saying so); the schema says them too.
    items: Annotated[list[VisitorFlagsItem], Body(json_schema_extra={"minItems": 1, "maxItems": MAX_BATCH})],
) -> JSONResponse:
    _check_batch_size(items)
    ids = [item.visitor_id for item in items]
    found = {v.visitor_id: v for v in session.scalars(select(Visitor).where(Visitor.visitor_id.in_(ids)))}
    missing = [
        (f"[{i}].visitorId", "not_found", f"[{i}].visitorId: visitor {item.visitor_id} does not exist.")
        for i, item in enumerate(items)
        if item.visitor_id not in found
    ]
    if missing:
        error = ValidationErrors(missing)
        error.status = 404
        error.type = "not_found"
        raise error
    data = []
    for item in items:
        visitor = found[item.visitor_id]
        changes = item.model_dump(exclude_unset=True, exclude={"visitor_id"})
        visitor_service.update(session, visitor, changes, ctx)
        data.append(VisitorFlagsRead.model_validate(visitor).as_json())
    return listing(request.url, data)


@router.post(
    "/visitors/batch-delete",
    **documented(41),
    dependencies=WRITE,
    response_model=MetaDataEnvelope[BatchDeleteResult],
    description="Deletes each visitor whose 'analytics' external id is analyticsId (at pcCode when "
    "given), with its opt-ins, external ids, vehicles and visitor-centres. Unknown ids are listed in "
    "failed.",
)
def delete_visitors_by_analytics_ids(
    request: Request, session: DbSession, ctx: WriteCtx, items: Annotated[list[BatchDeleteItem], Body()]
) -> JSONResponse:
    _check_batch_size(items)
    success: list[str] = []
    failed: list[str] = []
    for item in items:
        stmt = select(ExternalId).where(
            ExternalId.external_type == ExternalType.analytics, ExternalId.external_id == item.analytics_id
        )
        if item.pc_code is not None:
            stmt = stmt.where(ExternalId.pc_code == item.pc_code)
        visitor_ids = {ext.visitor_id for ext in session.scalars(stmt)}
        visitors_found = [v for vid in visitor_ids if (v := session.get(Visitor, vid)) is not None]
        if not visitors_found:
            failed.append(item.analytics_id)
            continue
        for visitor in visitors_found:
            visitor_service.delete(session, visitor, ctx)
        success.append(item.analytics_id)
    return one({"success": success, "failed": failed}, url=request.url)


# External ids ---------------------------------------------------------------------------------------

ext_router = Router(tags=["external-ids"], responses=ERROR_RESPONSES)


class ExternalIdBatchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visitorId: str = Field(description="Comma-separated list of visitorIds (at most 500)")
    externalType: str | None = Field(None, description="Comma-separated list of externalTypes")
    pcCode: str | None = Field(None, description="Pc code")


def _csv(raw: str, field: str, parse: Any) -> list[Any]:
    values = []
    for part in raw.split(","):
        part = part.strip()
        try:
            values.append(parse(part))
        except ValueError:
            raise BadRequest(f"{field}: '{part}' is not valid.", field=field, code="invalid") from None
    return values


@ext_router.get(
    "/external-ids/batch",
    **documented(35),
    dependencies=READ,
    response_model=ListEnvelope[ExternalIdRead],
)
def list_external_ids_batch(
    request: Request, session: DbSession, query: Annotated[ExternalIdBatchQuery, Query()]
) -> JSONResponse:
    ids = _csv(query.visitorId, "visitorId", uuid.UUID)
    if len(ids) > MAX_BATCH:
        raise BadRequest(f"At most {MAX_BATCH} visitorIds.", field="visitorId", code="too_many")
    stmt = select(ExternalId).where(ExternalId.visitor_id.in_(ids))
    if query.externalType:
        stmt = stmt.where(
            ExternalId.external_type.in_(_csv(query.externalType, "externalType", ExternalType))
        )
    if query.pcCode is not None:
        stmt = stmt.where(ExternalId.pc_code == query.pcCode)
    rows = session.scalars(stmt.order_by(ExternalId.visitor_id, ExternalId.external_type, ExternalId.id))
    return listing(request.url, [external_ids.service.represent(row) for row in rows])


class PcCodeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pcCode: str | None = Field(None, description="Pc code")
    fields: str | None = Field(None, description="List of fields to return (fields=foo,bar)")


@ext_router.get(
    "/external-ids/{externalType}/{externalId}",
    **documented(36),
    dependencies=READ,
    response_model=DataEnvelope[ExternalIdRead],
)
def find_external_id(
    session: DbSession,
    external_type: Annotated[ExternalType, Path(alias="externalType")],
    external_id: Annotated[str, Path(alias="externalId")],
    query: Annotated[PcCodeQuery, Query()],
) -> JSONResponse:
    stmt = select(ExternalId).where(
        ExternalId.external_type == external_type, ExternalId.external_id == external_id
    )
    if query.pcCode is not None:
        stmt = stmt.where(ExternalId.pc_code == query.pcCode)
    row = session.scalars(stmt.order_by(ExternalId.id)).first()
    if row is None:
        raise NotFound(f"No visitor has {external_type} id {external_id}.", field="externalId")
    return _item(row, query.fields)


def _item(row: ExternalId, fields: str | None) -> JSONResponse:
    return one(select_fields(external_ids.service.represent(row), parse_fields(external_ids, fields)))


def _visitor_external_ids(
    session: Session, visitor_id: uuid.UUID, external_type: str, pc_code: str | None
) -> list[ExternalId]:
    check_parent(session, external_ids, {"visitorId": visitor_id})
    stmt = select(ExternalId).where(
        ExternalId.visitor_id == visitor_id, ExternalId.external_type == external_type
    )
    if pc_code is not None:
        stmt = stmt.where(ExternalId.pc_code == pc_code)
    rows = list(session.scalars(stmt.order_by(ExternalId.id)))
    if not rows:
        raise NotFound(f"Visitor {visitor_id} has no {external_type} external id.", field="externalType")
    return rows


@ext_router.get(
    "/visitors/{visitorId}/external-ids/{externalType}",
    **documented(39),
    dependencies=READ,
    response_model=DataEnvelope[ExternalIdRead],
    description="Without pcCode, the oldest id of that type whatever its centre.",
)
def get_visitor_external_id(
    session: DbSession,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    external_type: Annotated[ExternalType, Path(alias="externalType")],
    query: Annotated[PcCodeQuery, Query()],
) -> JSONResponse:
    rows = _visitor_external_ids(session, visitor_id, external_type, query.pcCode)
    return _item(rows[0], query.fields)


class DeletePcCodeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pcCode: str | None = Field(None, description="Pc code")


@ext_router.delete(
    "/visitors/{visitorId}/external-ids/{externalType}",
    **documented(40),
    dependencies=WRITE,
    status_code=204,
    response_class=Response,
    description="Without pcCode, every id of that type is deleted, whatever its centre.",
)
def delete_visitor_external_id(
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    external_type: Annotated[DeletableExternalType, Path(alias="externalType")],
    query: Annotated[DeletePcCodeQuery, Query()],
) -> Response:
    for row in _visitor_external_ids(session, visitor_id, external_type, query.pcCode):
        external_ids.service.delete(session, row, ctx)
    return Response(status_code=204)


routers = [router, ext_router]
