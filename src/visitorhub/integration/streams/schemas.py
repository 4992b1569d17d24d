"""Subscriptions, deliveries and run reports as the API reads and writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, computed_field, field_validator, model_validator
from pydantic.config import JsonDict

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.integration.streams.auth import NoAuth, ReceiverAuth, redact

# What check_url (core.http.parse_target) enforces, said in the schema: http(s), a host without
# credentials, no #fragment. The check itself (and its message naming what is wrong) stays in the service.
URL_PATTERN = r"^[hH][tT][tT][pP][sS]?://[^\s/?#@]+(?:[/?][^\s#]*)?$"
URL_SCHEMA: JsonDict = {"pattern": URL_PATTERN, "format": "uri"}


def _stream_names(schema: JsonDict) -> None:
    """The stream names as an enum, read when the OpenAPI document is built (every family declared)."""
    from visitorhub.integration.streams.service import streams

    schema["enum"] = list(streams())


MAX_PER_RUN = 100_000
MAX_PER_PAYLOAD = 1000
DEFAULT_PER_PAYLOAD = 50


class SubscriptionCreate(ApiModel):
    name: str = Field(min_length=1, max_length=100, description="A unique name (also for the CLI)")
    stream: str = Field(
        description="What to push: an entity in its plural API form (visitors, vehicles, ...)",
        json_schema_extra=_stream_names,
    )
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="The receiver: an http(s) URL",
        json_schema_extra=URL_SCHEMA,
    )
    auth: ReceiverAuth = Field(
        default_factory=NoAuth,
        description="none | basic (username, password) | apiKey (header, value) | hmac (secret, optional)",
    )
    interval_minutes: int = Field(15, ge=1, le=1440, description="Run every M minutes")
    max_per_run: int = Field(500, ge=1, le=MAX_PER_RUN, description="At most S records a run")
    max_per_payload: int | None = Field(
        None,
        ge=1,
        le=MAX_PER_PAYLOAD,
        description=f"At most bs records per POSTed JSON array (default: {DEFAULT_PER_PAYLOAD}, or maxPerRun "
        "when smaller); at most maxPerRun",
    )
    max_attempts: int = Field(
        12, ge=1, le=1000, description="Failed attempts of one payload before it is dead-lettered"
    )
    start_date: datetime | None = Field(
        None, description="First run: send every change since this instant (none: changes from now on)"
    )
    enabled: bool = Field(True, description="Run on schedule")
    template: str | None = Field(
        None, max_length=100, description="An `out` template that shapes each record's data"
    )


class SubscriptionUpdate(ApiModel):
    name: str = not_null(min_length=1, max_length=100)
    stream: str = not_null(
        description="Cannot change; accepted when it is the current one", json_schema_extra=_stream_names
    )
    url: str = not_null(min_length=1, max_length=2000, json_schema_extra=URL_SCHEMA)
    auth: ReceiverAuth = not_null()
    interval_minutes: int = not_null(ge=1, le=1440)
    max_per_run: int = not_null(ge=1, le=MAX_PER_RUN)
    max_per_payload: int = not_null(
        ge=1,
        le=MAX_PER_PAYLOAD,
        description="At most maxPerRun; when only maxPerRun is lowered below it, it is lowered with it",
    )
    max_attempts: int = not_null(ge=1, le=1000)
    start_date: datetime | None = Field(
        None, description="Rewind (or move) the cursor: the next run sends every change since this instant"
    )
    enabled: bool = not_null()
    template: str | None = None


class SubscriptionRead(ApiModel):
    """Read from a subscription row; `lag` and `pendingDeliveryId` come from its deliveries and the log."""

    subscription_id: int = Field(validation_alias="id")
    id: int = Field(description="The same as subscriptionId, under the name webhook services use")
    name: str
    stream: str
    url: str
    auth: dict[str, Any] = Field(description="The mode and its non-secret settings; secrets are never shown")
    interval_minutes: int
    max_per_run: int
    max_per_payload: int
    max_attempts: int
    start_date: datetime | None
    enabled: bool
    template: str | None
    cursor: int = Field(
        validation_alias="cursor_seq",
        description="The last change-log seq accepted by the receiver (or dead-lettered)",
    )
    lag: int = Field(0, description="Records of this stream waiting after the cursor: 0 = up to date")
    pending_delivery_id: str | None = Field(
        None, description="The oldest payload waiting to be accepted, if any"
    )
    last_run_at: datetime | None
    next_run_at: datetime | None = Field(description="When the worker runs it next (null when disabled)")
    creation_date: datetime
    update_date: datetime

    @field_validator("auth")
    @classmethod
    def _without_secrets(cls, auth: dict[str, Any]) -> dict[str, Any]:
        return redact(auth)

    @model_validator(mode="after")
    def _scheduled_only_when_enabled(self) -> SubscriptionRead:
        if not self.enabled:
            self.next_run_at = None
        return self


class SubscriptionCreated(SubscriptionRead):
    secret: str | None = Field(
        None, description="HMAC only, when visitorhub generated it: shown once, never again"
    )


class AttemptRead(ApiModel):
    number: int
    trigger: str = Field(description="run or replay")
    outcome: str = Field(description="delivered or failed")
    http_status: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str | None
    attempted_at: datetime


class DeliveryRead(ApiModel):
    delivery_id: str = Field(
        validation_alias="id", description="Sent as the webhook-id header, the same at every attempt"
    )
    id: str = Field(description="The same as deliveryId, under the name webhook services use")
    subscription_id: int
    status: str = Field(description="pending (not accepted yet), delivered, or dead (dead-lettered)")
    attempt_count: int = Field(validation_alias="attempts", description="Attempts so far, replays included")
    http_status: int | None = Field(description="Of the last attempt")
    duration_ms: int | None = Field(description="Of the last attempt")
    record_count: int
    first_seq: int
    last_seq: int
    error: str | None = Field(description="Why the last attempt failed (timeout, connection, blocked...)")
    response_excerpt: str | None = Field(description="The start of the receiver's last answer")
    creation_date: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    dead_at: datetime | None


class DeliveryDetail(DeliveryRead):
    attempt_log: list[AttemptRead] = Field(default_factory=list)
    records: list[dict[str, Any]] = Field(default_factory=list, description="The payload, exactly as sent")


class PayloadOutcome(ApiModel):
    """What one attempt at a payload came to: a line of a run report, or a replay's answer."""

    delivery_id: str
    attempt: int
    outcome: str = Field(description="delivered, failed or dead (failed and dead-lettered)")
    http_status: int | None
    duration_ms: int
    record_count: int
    first_seq: int
    last_seq: int
    error: str | None


class RunReport(ApiModel):
    """One run of a subscription, filled in as it goes."""

    subscription_id: int
    name: str
    stopped_because: str = Field(
        "caught_up",
        description="caught_up, max_per_run, failure, dead_letter, busy, lease_lost, deleted, shutdown or "
        "error (the run could not start: `error` says why)",
    )
    error: str | None = None
    payloads: list[PayloadOutcome] = Field(default_factory=list)
    records_delivered: int = 0
    cursor: int = 0
    lag: int = Field(0, description="Records of the stream still waiting after the run")

    @computed_field(  # type: ignore[prop-decorator]
        description="ok (nothing failed), failed, or busy (another run holds the subscription)"
    )
    @property
    def outcome(self) -> str:
        if self.stopped_because == "busy":
            return "busy"
        failed = self.error is not None or any(p.outcome != "delivered" for p in self.payloads)
        return "failed" if failed else "ok"
