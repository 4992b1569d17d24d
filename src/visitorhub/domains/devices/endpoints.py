"""The device operations that are not plain CRUD: register-or-update, a device's apps, the event token."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from visitorhub.core.catalogue import documented
from visitorhub.core.db import iso_utc
from visitorhub.core.deps import AppSessions, AppSettings, DbSession, WriteCtx
from visitorhub.core.responses import listing, one
from visitorhub.core.router import ERROR_RESPONSES, READ, WRITE, Router, check_parent, load_item
from visitorhub.core.schemas import DataEnvelope, ListEnvelope, MetaDataEnvelope
from visitorhub.domains.devices import tokens
from visitorhub.domains.devices.resources import apps, device_service, devices
from visitorhub.domains.devices.schemas import AppRead, DeviceRead, DeviceRegister, EventTokenRead
from visitorhub.models import App

router = Router(tags=[devices.tag_name], responses=ERROR_RESPONSES)


@router.put(
    "/visitors/{visitorId}/devices",
    **documented(47),
    dependencies=WRITE,
    response_model=DataEnvelope[DeviceRead],
    description="Keyed by (visitorId, token): 201 when the device is new, 200 when it existed (the fields "
    "given are updated). The app urwAppId is recorded on the device with notificationToken.",
    responses={201: {"model": DataEnvelope[DeviceRead], "description": "Device registered"}},
)
def register_device(
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    body: Annotated[DeviceRegister, Body()],
) -> JSONResponse:
    check_parent(session, devices, {"visitorId": visitor_id})
    device, created = device_service.register(session, visitor_id, body.model_dump(exclude_unset=True), ctx)
    return one(device_service.represent(device), 201 if created else 200)


@router.get(
    "/visitors/{visitorId}/devices/{deviceId}/apps",
    **documented(51),
    dependencies=READ,
    response_model=ListEnvelope[AppRead],
    description="Every app registered on the device (at most one per urwAppId), oldest first.",
)
def list_device_apps(
    request: Request,
    session: DbSession,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    device_id: Annotated[int, Path(alias="deviceId")],
) -> JSONResponse:
    load_item(session, devices, {"visitorId": visitor_id, "deviceId": device_id})
    rows = session.scalars(
        select(App).where(App.device_id == device_id).order_by(App.creation_date, App.app_id)
    )
    return listing(request.url, [apps.service.represent(row) for row in rows])


token_router = Router(tags=["event-tokens"], responses=ERROR_RESPONSES)


class EventTokenQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    companyId: str = Field(min_length=1, max_length=100, description="Company ID", examples=["37042"])


@token_router.get(
    "/visitors/{visitorId}/event-token",
    **documented(52),
    dependencies=READ,
    response_model=MetaDataEnvelope[EventTokenRead],
    description="An HS256 JWT with the claims visitorId, companyId, iat and exp, signed with "
    "VISITORHUB_EVENT_TOKEN_SECRET; expiresAt is exp. Lifetime: VISITORHUB_EVENT_TOKEN_TTL_SECONDS.",
)
def get_event_token(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    sessions: AppSessions,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    query: Annotated[EventTokenQuery, Query()],
) -> JSONResponse:
    check_parent(session, devices, {"visitorId": visitor_id})
    state = request.app.state
    key: str | None = getattr(state, "event_token_key", None)
    if key is None:
        key = state.event_token_key = tokens.signing_key(settings, sessions)
    token, expires = tokens.issue(key, visitor_id, query.companyId, settings.event_token_ttl_seconds)
    return one({"token": token, "expiresAt": iso_utc(expires)}, url=request.url)


routers = [router, token_router]
