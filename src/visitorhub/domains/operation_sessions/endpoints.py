"""Adding segments and stores to a centre operation session (a list, each item added or refused)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Path
from fastapi.responses import JSONResponse
from pydantic import Field

from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.resource import Resource
from visitorhub.core.responses import one
from visitorhub.core.router import ERROR_RESPONSES, WRITE, Router, load_item
from visitorhub.core.schemas import DataEnvelope
from visitorhub.domains.operation_sessions.resources import (
    center_operation_segments,
    center_operation_sessions,
    center_operation_stores,
)
from visitorhub.domains.operation_sessions.schemas import (
    MAX_ITEMS,
    CenterOperationItem,
    CenterOperationItemsResult,
)
from visitorhub.domains.operation_sessions.service import add_items

router = Router(tags=[center_operation_sessions.tag_name], responses=ERROR_RESPONSES)

Items = Annotated[list[CenterOperationItem], Body(), Field(min_length=1, max_length=MAX_ITEMS)]
ITEMS_DESCRIPTION = (
    "Each item is added on its own: one whose id the session already has, or that the body repeats, is "
    f"returned in failed and the others are added. 1 to {MAX_ITEMS} items."
)


def _add(
    session: DbSession, ctx: WriteCtx, resource: Resource, visitor_id: uuid.UUID, guid: str, items: Items
) -> JSONResponse:
    load_item(session, center_operation_sessions, {"visitorId": visitor_id, "guid": guid})
    added, failed = add_items(session, resource, guid, [item.model_dump() for item in items], ctx)
    keep = ("id", "name", "creationDate", "updateDate")
    success = [{k: v for k, v in resource.service.represent(r).items() if k in keep} for r in added]
    return one({"success": success, "failed": failed})


@router.post(
    "/visitors/{visitorId}/center-operation-sessions/{guid}/segments",
    response_model=DataEnvelope[CenterOperationItemsResult],
    dependencies=WRITE,
    description=ITEMS_DESCRIPTION,
    **documented(59),
)
def add_center_operation_segments(
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    guid: Annotated[str, Path(alias="guid")],
    items: Items,
) -> JSONResponse:
    return _add(session, ctx, center_operation_segments, visitor_id, guid, items)


@router.post(
    "/visitors/{visitorId}/center-operation-sessions/{guid}/stores",
    response_model=DataEnvelope[CenterOperationItemsResult],
    dependencies=WRITE,
    description=ITEMS_DESCRIPTION,
    **documented(60),
)
def add_center_operation_stores(
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    guid: Annotated[str, Path(alias="guid")],
    items: Items,
) -> JSONResponse:
    return _add(session, ctx, center_operation_stores, visitor_id, guid, items)
