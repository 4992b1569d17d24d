"""The opt-in operations that are not plain CRUD: delete by type and channel, disable."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.responses import one
from visitorhub.core.router import ERROR_RESPONSES, WRITE, Router, check_parent, load_item
from visitorhub.core.schemas import DataEnvelope
from visitorhub.domains.enums import OptinChannel, OptinType
from visitorhub.domains.optins.resources import optin_service, optins
from visitorhub.domains.optins.schemas import OptinRead
from visitorhub.errors import NotFound
from visitorhub.models import Optin

router = Router(tags=[optins.tag_name], responses=ERROR_RESPONSES)


@router.delete(
    "/visitors/{visitorId}/optins/{optinType}/{optinChannel}",
    **documented(117),
    status_code=204,
    response_class=Response,
    dependencies=WRITE,
    description="Deletes every opt-in of that type and channel (its whole history); 404 when there is none.",
)
def delete_optins_by_type(
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    optin_type: Annotated[OptinType, Path(alias="optinType")],
    optin_channel: Annotated[OptinChannel, Path(alias="optinChannel")],
) -> Response:
    check_parent(session, optins, {"visitorId": visitor_id})
    stmt = select(Optin).where(
        Optin.visitor_id == visitor_id,
        Optin.optin_type == optin_type,
        Optin.optin_channel == optin_channel,
    )
    found = list(session.scalars(stmt.order_by(Optin.optin_id)))
    if not found:
        raise NotFound(
            f"Visitor {visitor_id} has no {optin_type.value} opt-in by {optin_channel.value}.",
            field="optinType",
        )
    for optin in found:
        optin_service.delete(session, optin, ctx)
    return Response(status_code=204)


@router.post(
    "/visitors/{visitorId}/optins/{optinId}/disable",
    **documented(120),
    dependencies=WRITE,
    response_model=DataEnvelope[OptinRead],
    description="isActive becomes false and optoutDate now; the opt-in stays (history). Disabling a disabled "
    "opt-in changes nothing. Answers the opt-in.",
)
def disable_optin(
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    optin_id: Annotated[int, Path(alias="optinId")],
) -> JSONResponse:
    optin = load_item(session, optins, {"visitorId": visitor_id, "optinId": optin_id})
    optin_service.disable(session, optin, ctx)
    return one(optin_service.represent(optin))
