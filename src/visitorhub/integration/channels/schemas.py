"""Channels, their records and what receiving or reapplying a batch came to, as the API shows them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import Field, field_validator

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.integration.streams.auth import NoAuth, ReceiverAuth, redact

MAX_RECORDS = 10_000
INBOUND_PREFIX = "/inbound/"
# URL-safe segments (RFC 3986 unreserved characters), each starting with a letter or a digit: no empty,
# "." or ".." segment, nothing to percent-encode.
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._~-]*"
PATH_PATTERN = re.compile(rf"^{_SEGMENT}(/{_SEGMENT})*$")
RecordStatus = Literal["stored", "applied", "quarantined"]


def check_path(path: str) -> str:
    """`s360/contacts/myvenue` (a leading slash is dropped); what follows /inbound/ in the channel's URL."""
    path = path.removeprefix("/")
    if path.startswith(INBOUND_PREFIX.strip("/") + "/"):
        raise ValueError("give the part after /inbound/ only, e.g. 's360/contacts/myvenue'")
    if not PATH_PATTERN.match(path):
        raise ValueError(
            "segments of letters, digits, '.', '_', '~' and '-', each starting with a letter or a digit, "
            "separated by '/', e.g. 's360/contacts/myvenue'"
        )
    return path


def check_id_field(id_field: str) -> str:
    if any(not part.strip() for part in id_field.split(".")):
        raise ValueError("a field name or a dotted path into nested objects, e.g. 'contact.id'")
    return id_field


class _Checked(ApiModel):
    @field_validator("path", check_fields=False)
    @classmethod
    def _path(cls, path: str) -> str:
        return check_path(path)

    @field_validator("id_field", check_fields=False)
    @classmethod
    def _id_field(cls, id_field: str) -> str:
        return check_id_field(id_field)


class ChannelCreate(_Checked):
    name: str = Field(min_length=1, max_length=100, description="A unique name (also for the CLI)")
    path: str = Field(
        min_length=1,
        max_length=200,
        description="The URL tail, unique: the channel receives at POST /inbound/{path}, e.g. "
        "s360/contacts/myvenue",
    )
    auth: ReceiverAuth = Field(
        default_factory=NoAuth,
        description="How senders authenticate: none | basic (username, password) | apiKey (header, value) | "
        "hmac (Standard Webhooks; secret generated and shown once if left out)",
    )
    id_field: str = Field(
        min_length=1,
        max_length=200,
        description="Each record's source id: a field name or dotted path (ticket_check_id, contact.id)",
    )
    template: str | None = Field(
        None, max_length=100, description="An `in` template that maps each record into entities"
    )
    max_records: int = Field(1000, ge=1, le=MAX_RECORDS, description="At most this many records a payload")
    enabled: bool = Field(True, description="A disabled channel answers 404, as an unknown path does")


class ChannelUpdate(_Checked):
    name: str = not_null(min_length=1, max_length=100)
    path: str = not_null(min_length=1, max_length=200)
    auth: ReceiverAuth = not_null(description="Replaces the whole auth setting")
    id_field: str = not_null(min_length=1, max_length=200)
    template: str | None = Field(None, max_length=100, description="null: store records without applying")
    max_records: int = not_null(ge=1, le=MAX_RECORDS)
    enabled: bool = not_null()


class ChannelRead(ApiModel):
    """Read from a channel row; `quarantined` is counted from its records."""

    channel_id: int = Field(validation_alias="id")
    id: int = Field(description="The same as channelId")
    name: str
    path: str
    inbound_path: str = Field(description="Where senders POST: /inbound/ + path, on this server")
    auth: dict[str, Any] = Field(description="The mode and its non-secret settings; secrets are never shown")
    id_field: str
    template: str | None
    max_records: int
    enabled: bool
    payloads_received: int = Field(description="Payloads accepted (answered 200)")
    records_received: int = Field(description="Records in the payloads accepted, duplicates included")
    duplicates: int = Field(description="Records received again with the same source id and content")
    records_applied: int = Field(description="Records mapped into entities by the template (reapplies too)")
    records_quarantined: int = Field(description="Times a record could not be mapped (reapplies too)")
    quarantined: int = Field(0, description="Records in quarantine now")
    last_received_at: datetime | None
    creation_date: datetime
    update_date: datetime

    @field_validator("auth")
    @classmethod
    def _without_secrets(cls, auth: dict[str, Any]) -> dict[str, Any]:
        return redact(auth)


class ChannelCreated(ChannelRead):
    secret: str | None = Field(
        None, description="HMAC only, when visitorhub generated it: shown once, never again"
    )


class ChannelRecordRead(ApiModel):
    record_id: int = Field(validation_alias="id")
    source_id: str = Field(description="The record's idField value, as text")
    status: str = Field(description="stored (no template), applied, or quarantined (see error)")
    error: str | None = Field(description="Why the template could not map it (quarantined only)")
    content_hash: str = Field(description="SHA-256 of the record's JSON with sorted keys")
    record: dict[str, Any] = Field(validation_alias="body", description="The record as last received")
    first_received_at: datetime
    last_received_at: datetime
    times_received: int = Field(description="Including duplicates and changed versions")
    applied_at: datetime | None = Field(description="When its current content was applied")

    @field_validator("record", mode="before")
    @classmethod
    def _parsed(cls, body: Any) -> Any:
        return orjson.loads(body) if isinstance(body, (str, bytes)) else body


class ReceiveResult(ApiModel):
    """The answer to an accepted payload."""

    accepted: int = Field(description="Records in the payload, all stored (or already stored)")
    duplicates: int = Field(
        description="Records whose source id was already stored with the same content (or came earlier in "
        "the payload with it): counted, not stored again, not applied again"
    )
    applied: int = Field(description="Records mapped into entities by the channel's template")
    quarantined: int = Field(
        description="Records the template could not map: stored with their error, for reapply"
    )


class ReapplyError(ApiModel):
    record_id: int
    source_id: str
    error: str


class ReapplyReport(ApiModel):
    status: str = Field(description="The records that were taken: quarantined or stored ones")
    reapplied: int = Field(description="Records put through the template")
    applied: int
    quarantined: int = Field(description="Records still (or again) quarantined")
    errors: list[ReapplyError] = Field(
        default_factory=list, description="The first 100 records still quarantined, with their error"
    )
