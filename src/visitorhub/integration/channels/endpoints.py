"""/integration/channels (admin scope) and POST /inbound/{path}: where senders push, with the channel's own
auth instead of an API key."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from visitorhub.core.db import as_utc, checkpoint, iso_utc, unit_of_work
from visitorhub.core.deps import AppSettings, DbSession
from visitorhub.core.listing import DEFAULT_LIMIT, MAX_LIMIT, OffsetQuery
from visitorhub.core.responses import listing, one, page
from visitorhub.core.router import ADMIN, ERROR_RESPONSES, Router
from visitorhub.core.schemas import DataEnvelope, ErrorEnvelope, ListEnvelope
from visitorhub.core.secrets import SecretUnavailable
from visitorhub.errors import AppError, BadRequest, UnsupportedMediaType
from visitorhub.handlers import error_response
from visitorhub.integration.channels import receiving, service
from visitorhub.integration.channels.auth import BadCredentials, check_headers, check_signature
from visitorhub.integration.channels.committer import GroupCommitter
from visitorhub.integration.channels.reapply import reapply
from visitorhub.integration.channels.schemas import (
    INBOUND_PREFIX,
    ChannelCreate,
    ChannelCreated,
    ChannelRead,
    ChannelRecordRead,
    ChannelUpdate,
    ReapplyReport,
    ReceiveResult,
    RecordStatus,
)
from visitorhub.integration.templates.service import parse_since
from visitorhub.models.channel import ChannelRecord

log = logging.getLogger("visitorhub.channels")
T = TypeVar("T")
RETRY_AFTER_SECONDS = 5

# One flat router (api.py lists routes, not routers): the administration under the admin key, the inbound
# route under the channel's own auth.
router = Router()
ADMIN_ROUTE: dict[str, Any] = {"tags": ["channels"], "responses": ERROR_RESPONSES, "dependencies": ADMIN}
CHANNELS = "/integration/channels"

ChannelId = Annotated[int, Path(alias="channelId", description="The channel's id")]


class RecordQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: RecordStatus | None = Field(None, description="Only records in this status")
    since: str | None = Field(
        None, description="Only records received at or after this instant: yyyyMMddHHmmss or ISO 8601"
    )
    cursor: str | None = Field(None, description="The cursor of the next page (from _links.next)")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Records per page")


class ReapplyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["quarantined", "stored"] = Field(
        "quarantined",
        description="quarantined (after a template fix) or stored (received before the channel had a "
        "template)",
    )


# Administration ------------------------------------------------------------------------------------------


@router.post(
    CHANNELS,
    summary="Create an inbound channel",
    status_code=201,
    response_model=DataEnvelope[ChannelCreated],
    description="The channel receives JSON arrays at `POST /inbound/{path}`, authenticated by `auth` (not by "
    "an API key). Each record is stored once per `idField` value; with a `template`, mapped into entities. "
    "An HMAC secret left out is generated and shown here once.",
    **ADMIN_ROUTE,
)
def create_channel(session: DbSession, settings: AppSettings, body: ChannelCreate) -> JSONResponse:
    channel, secret = service.create_channel(session, body, settings)
    return one(service.represent(session, channel, secret), 201)


@router.get(
    CHANNELS, summary="List inbound channels", response_model=ListEnvelope[ChannelRead], **ADMIN_ROUTE
)
def list_channels(
    request: Request, session: DbSession, query: Annotated[OffsetQuery, Query()]
) -> JSONResponse:
    channels = service.list_channels(session, query.offset, query.limit + 1)
    return page(request.url, channels, query, lambda channel: service.represent(session, channel))


@router.get(
    CHANNELS + "/{channelId}",
    summary="Read an inbound channel",
    response_model=DataEnvelope[ChannelRead],
    **ADMIN_ROUTE,
)
def get_channel(session: DbSession, channel_id: ChannelId) -> JSONResponse:
    return one(service.represent(session, service.get_channel(session, channel_id)))


@router.patch(
    CHANNELS + "/{channelId}",
    summary="Update an inbound channel",
    response_model=DataEnvelope[ChannelCreated],
    description="Changes the given fields; `auth` replaces the whole auth setting. Records already received "
    "stay as they are: reapply them to map them through a new template.",
    **ADMIN_ROUTE,
)
def update_channel(
    request: Request, session: DbSession, settings: AppSettings, channel_id: ChannelId, body: ChannelUpdate
) -> JSONResponse:
    channel = service.get_channel(session, channel_id)
    secret = service.update_channel(session, channel, body, settings)
    # This process's next payload reads the channel again (other processes find it changed: ChannelCache).
    channel_cache(request).clear()
    return one(service.represent(session, channel, secret))


@router.delete(
    CHANNELS + "/{channelId}",
    summary="Delete an inbound channel",
    status_code=204,
    response_class=Response,
    description="The channel and the records it received; its URL answers 404 from then on.",
    **ADMIN_ROUTE,
)
def delete_channel(request: Request, session: DbSession, channel_id: ChannelId) -> Response:
    service.delete_channel(session, service.get_channel(session, channel_id))
    channel_cache(request).clear()
    return Response(status_code=204)


def _encode_cursor(received_at: datetime, record_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([iso_utc(received_at), record_id])).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return as_utc(datetime.fromisoformat(raw[0])), int(raw[1])
    except (binascii.Error, ValueError, TypeError, IndexError, orjson.JSONDecodeError):
        raise BadRequest(
            "cursor: not a cursor this API gave; follow _links.next.", field="cursor", code="invalid_cursor"
        ) from None


@router.get(
    CHANNELS + "/{channelId}/records",
    summary="List the records a channel received",
    response_model=ListEnvelope[ChannelRecordRead],
    description="In the order they were last received (oldest first), a page of `limit` at a time: follow "
    "`_links.next`. `status` stored (no template), applied or quarantined; `since` an instant.",
    **ADMIN_ROUTE,
)
def list_records(
    request: Request, session: DbSession, channel_id: ChannelId, query: Annotated[RecordQuery, Query()]
) -> JSONResponse:
    service.get_channel(session, channel_id)
    stmt = select(ChannelRecord).where(ChannelRecord.channel_id == channel_id)
    if query.status is not None:
        stmt = stmt.where(ChannelRecord.status == query.status)
    if query.since is not None:
        try:
            stmt = stmt.where(ChannelRecord.last_received_at >= parse_since(query.since))
        except ValueError as exc:
            raise BadRequest(f"since: {exc}", field="since", code="invalid_date") from None
    if query.cursor is not None:
        at, after_id = _decode_cursor(query.cursor)
        received = ChannelRecord.last_received_at
        stmt = stmt.where(or_(received > at, and_(received == at, ChannelRecord.id > after_id)))
    stmt = stmt.order_by(ChannelRecord.last_received_at, ChannelRecord.id).limit(query.limit + 1)
    rows = list(session.scalars(stmt))
    data = [ChannelRecordRead.model_validate(row).as_json() for row in rows[: query.limit]]
    cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        cursor = _encode_cursor(last.last_received_at, last.id)
    return listing(request.url, data, {"cursor": cursor} if cursor else None)


@router.post(
    CHANNELS + "/{channelId}/reapply",
    summary="Apply a channel's quarantined records again",
    response_model=DataEnvelope[ReapplyReport],
    description="Puts the channel's quarantined records (or, with status=stored, those received before it "
    "had a template) through its current template, 500 to a transaction, and reports what came of it.",
    **ADMIN_ROUTE,
)
def reapply_records(
    request: Request,
    session: DbSession,
    channel_id: ChannelId,
    query: Annotated[ReapplyQuery, Query()],
) -> JSONResponse:
    service.get_channel(session, channel_id)
    checkpoint(session)  # the request only checked the key: hand over to the chunks' own transactions
    return one(reapply(committer(request), channel_id, query.status).as_json())


# Receiving -----------------------------------------------------------------------------------------------

_state_lock = threading.Lock()
# Times a payload is checked against a channel that changes under it before the sender gets a 503.
ATTEMPTS = 3
MAX_CACHED_CHANNELS = 1000


class ChannelCache:
    """The channels this process read, by path: a payload for a path seen before is checked without reading
    its channel again (a transaction, its secrets opened). An entry is trusted only for a payload that gets
    through: the transaction that stores it checks that the channel is still as read
    (receiving.StaleChannel), and a refusal or a failure to store on an entry is decided again on a fresh
    read, so a change of a channel made by any process (PATCH, disable, DELETE) holds from the next payload
    on. Unknown and disabled paths are never kept."""

    def __init__(self, size: int = MAX_CACHED_CHANNELS) -> None:
        self.size = size
        self._entries: dict[str, service.InboundChannel] = {}

    def get(self, path: str) -> service.InboundChannel | None:
        return self._entries.get(path)

    def put(self, channel: service.InboundChannel) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[channel.path] = channel

    def drop(self, channel: service.InboundChannel) -> None:
        """Forget `channel` (unless a fresher read of its path replaced it meanwhile)."""
        if self._entries.get(channel.path) is channel:
            del self._entries[channel.path]

    def clear(self) -> None:
        self._entries.clear()


def _app_state(request: Request, name: str, make: Callable[[], T]) -> T:
    """The app's `name` object (made on first use)."""
    state = request.app.state
    found: T | None = getattr(state, name, None)
    if found is None:
        with _state_lock:
            found = getattr(state, name, None)
            if found is None:
                found = make()
                setattr(state, name, found)
    return found


def committer(request: Request) -> GroupCommitter:
    """The app's group committer: every inbound write of this process goes through it."""
    state = request.app.state
    return _app_state(
        request,
        "channel_committer",
        lambda: GroupCommitter(state.sessions, group_wait_ms=state.settings.channels_group_wait_ms),
    )


def channel_cache(request: Request) -> ChannelCache:
    return _app_state(request, "channel_cache", ChannelCache)


async def _read_body(request: Request) -> bytes:
    """The body. Its size is the request hygiene's business (hygiene.py: VISITORHUB_MAX_BODY_BYTES, a 413
    from the Content-Length before anything is read, or as soon as the bytes streamed in pass it)."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(f"Content-Encoding '{encoding}' is not supported; send the JSON as is.")
    return await request.body()


def _find(request: Request, path: str) -> service.InboundChannel:
    with unit_of_work(request.app.state.read_sessions) as session:
        return service.find_inbound(session, path, request.app.state.settings)


async def _receive(request: Request, path: str, used: list[service.InboundChannel]) -> receiving.Outcome:
    """Check and store the payload (raises the refusal); `used` gets each channel it is checked against."""
    cache = channel_cache(request)
    cached = cache.get(path)
    body: bytes | None = None
    attempt = 1
    while True:
        channel = cached
        if channel is None:
            channel = await run_in_threadpool(_find, request, path)
            cache.put(channel)
        used.append(channel)
        try:
            check_headers(channel.auth, request.headers)
            if body is None:
                body = await _read_body(request)
            check_signature(channel.auth, request.headers, body)
            records = receiving.parse_payload(body, channel)
            return await committer(request).submit_async(channel, records)
        except receiving.StaleChannel:
            cache.drop(channel)
            if attempt == ATTEMPTS:
                raise
            attempt += 1
        except (AppError, SQLAlchemyError):
            if cached is None:
                raise
            # Refused, or not stored (a channel deleted meanwhile is a foreign-key error), on what this
            # process read before: decided again on a fresh read.
            cache.drop(channel)
        cached = None


def _refusal(exc: AppError, channel: str | None) -> JSONResponse:
    log.info("channels.refused channel=%s status=%d code=%s", channel or "-", exc.status, exc.code)
    headers = None
    if isinstance(exc, BadCredentials) and exc.challenge:
        headers = {"WWW-Authenticate": exc.challenge}
    return error_response(exc.status, exc.items(), headers)


def _unavailable(message: str) -> JSONResponse:
    item = {"code": "unavailable", "type": "server_error", "field": None, "message": message}
    return error_response(503, [item], {"Retry-After": str(RETRY_AFTER_SECONDS)})


@router.post(
    INBOUND_PREFIX + "{path:path}",
    summary="Receive a pushed batch (inbound channel)",
    tags=["inbound"],
    response_model=DataEnvelope[ReceiveResult],
    responses={
        status: {"model": ErrorEnvelope, "description": text}
        for status, text in {
            400: "The body is not valid JSON",
            401: "Missing or wrong credentials for the channel's auth",
            404: "No enabled channel at this path",
            413: "The body or the number of records is over the limit",
            422: "Not a JSON array of objects, or a record without its idField (names the record)",
            503: "Not stored (database unavailable): send the same payload again",
        }.items()
    },
    description="A JSON array of objects, authenticated as the channel says (none, Basic, an API-key header "
    "or Standard Webhooks HMAC; no API key). 200 only once every record is committed; anything else means "
    "nothing of the payload was stored, and the same payload may be sent again. A record already stored "
    "with the same content is counted as a duplicate and neither stored nor applied again.",
)
async def receive_payload(request: Request, path: Annotated[str, Path(max_length=500)]) -> Response:
    used: list[service.InboundChannel] = []
    try:
        outcome = await _receive(request, path, used)
    except AppError as exc:
        name = used[-1].name if used else None
        return _refusal(exc, name)
    except receiving.StaleChannel:
        return _unavailable("The channel was changed while the payload was received; nothing of it was kept.")
    except SecretUnavailable as exc:
        log.error("channels.secret_unavailable path=%s: %s", path, exc)
        return _unavailable("The channel's credentials cannot be read on this server; try again later.")
    except SQLAlchemyError as exc:
        name = used[-1].name if used else None
        log.warning("channels.not_stored channel=%s: %s", name, type(exc).__name__, exc_info=exc)
        return _unavailable("The payload could not be stored; nothing of it was kept. Send it again.")
    name = used[-1].name
    if outcome.errors:
        for record_id, source_id, error in outcome.errors[: receiving.SHOWN_ERRORS]:
            log.info(
                "channels.quarantined channel=%s record=%d source_id=%s: %s",
                name,
                record_id,
                source_id,
                error,
            )
    log.debug(
        "channels.received channel=%s accepted=%d duplicates=%d applied=%d quarantined=%d",
        name,
        outcome.accepted,
        outcome.duplicates,
        outcome.applied,
        outcome.quarantined,
    )
    result = ReceiveResult(
        accepted=outcome.accepted,
        duplicates=outcome.duplicates,
        applied=outcome.applied,
        quarantined=outcome.quarantined,
    )
    return one(result.as_json())
