"""Connectors, sync requests and sync reports as the API reads and writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.integration.connectors.selection import VisitorFilter

Schedule = Literal["event", "batch"]


class ConnectorCreate(ApiModel):
    name: str = Field(min_length=1, max_length=100, description="A unique name (also for the CLI)")
    kind: str = Field(min_length=1, max_length=32, description="The remote system: entervo")
    enabled: bool = Field(True, description="Sync on schedule")
    schedule: Schedule = Field(
        "event",
        description="event: sync changes as they land (the worker polls every few seconds); batch: collect "
        "them and sync every intervalMinutes",
    )
    interval_minutes: int = Field(15, ge=1, le=1440, description="batch: sync every M minutes")
    full_sync_hours: int | None = Field(
        24,
        ge=1,
        le=8760,
        description="Make a scheduled sync a full one once the last full sync is this many hours old, so "
        "that changes made on the remote side are repaired (null: only when needed)",
    )
    settings: dict[str, Any] = Field(description="The kind's settings (see the README); secrets never shown")
    filter: VisitorFilter = Field(
        default_factory=VisitorFilter, description="Which visitors to sync; the others are deleted remotely"
    )


class ConnectorUpdate(ApiModel):
    name: str = not_null(min_length=1, max_length=100)
    kind: str = not_null(description="Cannot change; accepted when it is the current one")
    enabled: bool = not_null()
    schedule: Schedule = not_null()
    interval_minutes: int = not_null(ge=1, le=1440)
    full_sync_hours: int | None = Field(None, ge=1, le=8760)
    settings: dict[str, Any] = not_null(
        description="Merged into the current settings: the given keys change (null: back to the default), "
        "the others (the secret included) stay"
    )
    filter: VisitorFilter = not_null(description="Replaces the whole filter")


class ConnectorRead(ApiModel):
    """Read from a connector row; `lag`, `records` and `failedRecords` come from the log and the mirror."""

    connector_id: int = Field(validation_alias="id")
    id: int = Field(description="The same as connectorId")
    name: str
    kind: str
    enabled: bool
    schedule: str
    interval_minutes: int
    full_sync_hours: int | None
    settings: dict[str, Any] = Field(description="Without the secrets")
    filter: dict[str, Any]
    cursor: int = Field(
        validation_alias="cursor_seq", description="The last change-log seq whose visitors are synced"
    )
    lag: int = Field(0, description="Changes after the cursor that may concern the connector")
    full_sync_pending: bool = Field(
        description="The next sync is a full one (new connector, filter or mapping changed, or the last "
        "full sync was cut short)"
    )
    records: int = Field(0, description="Visitors in the mirror (known to be on the remote side)")
    failed_records: int = Field(0, description="Visitors whose last sync failed: retried at the next sync")
    last_run_at: datetime | None
    next_run_at: datetime | None = Field(description="When the worker syncs it next (null when disabled)")
    last_full_sync_at: datetime | None
    creation_date: datetime
    update_date: datetime

    @model_validator(mode="after")
    def _scheduled_only_when_enabled(self) -> ConnectorRead:
        if not self.enabled:
            self.next_run_at = None
        return self


class SyncRequest(ApiModel):
    full: bool = Field(
        False,
        description="Reconcile every visitor with every remote record (else: the changes since the "
        "last sync, plus the records that failed)",
    )
    dry_run: bool = Field(False, description="Plan only: list the operations, call no write endpoint")


class RecordError(ApiModel):
    visitor_id: str | None = Field(description="The visitor (the record's externalReference)")
    message: str = Field(description="What failed, with the remote system's own message")


class PlannedOperation(ApiModel):
    operation: str = Field(description="create, update or delete")
    visitor_id: str | None = Field(description="Null for a remote record that carries no visitor of ours")
    external_reference: str | None
    business_id: str | None = Field(description="The remote record's id, when known")


class SyncReport(ApiModel):
    """One sync: what it did to the remote records, the calls it made, what failed."""

    run_id: int
    connector_id: int
    trigger: str = Field(description="api, cli or schedule")
    full: bool
    dry_run: bool
    status: str = Field(
        description="running, ok, failed (a record failed or the sync stopped early) or interrupted (the "
        "process stopped, e.g. killed: the next sync takes over)"
    )
    stopped_because: str | None = Field(
        description="Why the sync stopped before the end: remote_unavailable (too many transient failures "
        "in a row), fatal (credentials or address refused), lease_lost, shutdown, or error (it could not "
        "start: `error` says why)"
    )
    error: str | None
    created: int
    updated: int
    deleted: int
    unchanged: int
    failed: int
    calls: dict[str, int] = Field(description="Requests sent per kind, retries included")
    errors: list[RecordError]
    operations: list[PlannedOperation] | None = Field(
        description="A dry run's plan (at most 10,000 lines); null otherwise"
    )
    cursor_from: int
    cursor_to: int | None
    started_at: datetime
    finished_at: datetime | None
