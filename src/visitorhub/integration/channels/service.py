"""Channels: validate and store them, find the one a request is for, and read them back without secrets.

Channels are configuration, not visitor data: they are not written to the change log (the entities their
templates write are, through the one write path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from visitorhub.config import Settings
from visitorhub.core.db import get_or_404, utcnow
from visitorhub.core.secrets import secret_box
from visitorhub.errors import AppError, Conflict, InvalidInput, NotFound
from visitorhub.integration.channels.schemas import (
    INBOUND_PREFIX,
    ChannelCreate,
    ChannelCreated,
    ChannelUpdate,
)
from visitorhub.integration.streams.auth import (
    AnyAuth,
    BasicAuth,
    HmacAuth,
    dump_auth,
    load_auth,
    new_secret,
)
from visitorhub.integration.templates import service as templates
from visitorhub.models.channel import Channel, ChannelRecord

STORED, APPLIED, QUARANTINED = "stored", "applied", "quarantined"

# A channel's version: its update_date exactly as stored (no type processing, hence no format to round-trip:
# SQLite's text, PostgreSQL's timestamptz), read with the channel and compared when a payload is stored.
channel_version = type_coerce(Channel.update_date, NullType())


@dataclass(frozen=True)
class InboundChannel:
    """What receiving a payload needs of a channel (secrets opened), as read at `version`: the row's
    update_date as stored, which every change of the channel (PATCH, disable) moves. A process keeps it
    between requests (endpoints.ChannelCache); the transaction that stores a payload checks that the row
    is still at this version (receiving.StaleChannel otherwise), so a change made by any process takes
    effect at its commit."""

    id: int
    name: str
    path: str
    auth: AnyAuth
    id_field: str
    template: str | None
    max_records: int
    version: Any


def check_template(session: Session, name: str) -> None:
    """An `in` template that exists and still matches the entities."""
    try:
        template = templates.resolve(session, name)
    except AppError as exc:
        raise InvalidInput(f"template: {exc.message}", field="template", code="invalid_template") from None
    if template.direction != "in":
        raise InvalidInput(
            f"template: '{name}' is an export (out) template; a channel maps records in through an 'in' one.",
            field="template",
            code="invalid_template",
        )


def _check_free(session: Session, column: Any, value: str, field: str, own_id: int | None) -> None:
    other = session.scalar(select(Channel.id).where(column == value))
    if other is not None and other != own_id:
        raise Conflict(f"A channel with {field} '{value}' already exists.", field=field, code="duplicate")


# CORE-CANDIDATE: the same few lines as streams.service._prepare_auth (seal the secrets, generate an HMAC
# secret when none was given); a shared "auth settings" helper would serve subscriptions and channels.
def _prepare_auth(auth: AnyAuth, settings: Settings) -> tuple[dict[str, Any], str | None]:
    if isinstance(auth, BasicAuth) and ":" in auth.username:
        # RFC 7617: the user-id ends at the first colon, so a sender could never present this one.
        raise InvalidInput(
            "auth.basic.username: a Basic username may not contain ':'.", field="auth.basic.username"
        )
    box = secret_box(settings.secrets_key)
    if isinstance(auth, HmacAuth) and auth.secret is None:
        secret = new_secret()
        return dump_auth(auth.model_copy(update={"secret": secret}), box), secret
    return dump_auth(auth, box), None


def create_channel(session: Session, body: ChannelCreate, settings: Settings) -> tuple[Channel, str | None]:
    if body.template is not None:
        check_template(session, body.template)
    _check_free(session, Channel.name, body.name, "name", None)
    _check_free(session, Channel.path, body.path, "path", None)
    auth, secret = _prepare_auth(body.auth, settings)
    now = utcnow()
    channel = Channel(
        name=body.name,
        path=body.path,
        auth=auth,
        id_field=body.id_field,
        template=body.template,
        max_records=body.max_records,
        enabled=body.enabled,
        payloads_received=0,
        records_received=0,
        duplicates=0,
        records_applied=0,
        records_quarantined=0,
        creation_date=now,
        update_date=now,
    )
    session.add(channel)
    session.flush()
    return channel, secret


def get_channel(session: Session, channel_id: int) -> Channel:
    channel = get_or_404(session, Channel, channel_id, what=f"Channel {channel_id}", field="channelId")
    return channel


def get_by_name(session: Session, name: str) -> Channel:
    channel = session.scalar(select(Channel).where(Channel.name == name))
    if channel is None:
        raise NotFound(f"Channel '{name}' does not exist.", field="name")
    return channel


def list_channels(session: Session, offset: int = 0, limit: int | None = None) -> list[Channel]:
    stmt = select(Channel).order_by(Channel.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def update_channel(session: Session, channel: Channel, body: ChannelUpdate, settings: Settings) -> str | None:
    """Apply a PATCH; the secret to show once when a new HMAC secret was generated."""
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes:
        _check_free(session, Channel.name, changes["name"], "name", channel.id)
    if "path" in changes:
        _check_free(session, Channel.path, changes["path"], "path", channel.id)
    if changes.get("template") is not None:
        check_template(session, changes["template"])
    secret = None
    if "auth" in changes:
        channel.auth, secret = _prepare_auth(body.auth, settings)
        del changes["auth"]
    for key, value in changes.items():
        setattr(channel, key, value)
    channel.update_date = utcnow()
    session.flush()
    return secret


def delete_channel(session: Session, channel: Channel) -> None:
    """The channel and every record it received."""
    session.delete(channel)
    session.flush()


def quarantined_count(session: Session, channel_id: int) -> int:
    stmt = select(func.count()).where(
        ChannelRecord.channel_id == channel_id, ChannelRecord.status == QUARANTINED
    )
    return session.scalar(stmt) or 0


def represent(session: Session, channel: Channel, secret: str | None = None) -> dict[str, Any]:
    """The channel as the API shows it; `secret`: a generated HMAC secret, shown this once."""
    read = ChannelCreated.model_validate(
        {
            **{column.key: getattr(channel, column.key) for column in Channel.__table__.columns},
            "inbound_path": INBOUND_PREFIX + channel.path,
            "quarantined": quarantined_count(session, channel.id),
        }
    )
    data = read.as_json()
    if secret is None:
        del data["secret"]
    else:
        data["secret"] = secret
    return data


def find_inbound(session: Session, path: str, settings: Settings) -> InboundChannel:
    """The enabled channel at `path`; an unknown and a disabled one are the same 404 (nothing is told about
    channels to a sender that is not configured). Raises SecretUnavailable when its secret cannot be
    opened with the configured keys."""
    row = session.execute(
        select(
            Channel.id,
            Channel.name,
            Channel.auth,
            Channel.id_field,
            Channel.template,
            Channel.max_records,
            Channel.enabled,
            channel_version.label("version"),
        ).where(Channel.path == path)
    ).first()
    if row is None or not row.enabled:
        raise NotFound(f"No channel receives at {INBOUND_PREFIX}{path}.", field="path")
    auth = load_auth(row.auth, secret_box(settings.secrets_key))
    return InboundChannel(
        row.id, row.name, path, auth, row.id_field, row.template, row.max_records, row.version
    )
