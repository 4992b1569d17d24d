"""Connectors: a remote system kept in step with the hub, the mirror of what it holds, and its sync runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId, utcnow


class Connector(Base):
    __tablename__ = "connector"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # a key of visitorhub.integration.connectors.KINDS
    enabled: Mapped[bool]
    schedule: Mapped[str] = mapped_column(String(8))  # event | batch
    interval_minutes: Mapped[int] = mapped_column(Integer)
    # Scheduled syncs are full ones again once the last full sync is this old (null: only when needed).
    full_sync_hours: Mapped[int | None] = mapped_column(Integer)
    # The kind's settings in their camelCase API form; secret fields sealed (core/secrets.py), never returned.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The last change-log seq whose visitors were synced; the next incremental sync reads after it.
    cursor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # The next sync must be a full one (new connector, filter or mapping settings changed, a full sync cut
    # short): an incremental sync only sees visitors that changed.
    full_sync_pending: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    last_full_sync_at: Mapped[datetime | None]
    # Who syncs it now: "host/pid-namespace/pid/token" until lease_expires_at (renewed as the sync goes).
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    # Running totals for /metrics, added in the transactions that record results (cheap to scrape):
    # {"kind": {"outcome": n}} and {"created": n, "updated": n, ...}.
    call_totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    record_totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    creation_date: Mapped[datetime] = mapped_column(default=utcnow)
    update_date: Mapped[datetime] = mapped_column(default=utcnow)


class ConnectorRecord(Base):
    """The mirror: per connector and visitor, what the remote system holds as far as we know.

    No foreign key to the visitor: when a visitor is deleted, its row is what tells the next sync which
    remote record to delete."""

    __tablename__ = "connector_record"
    __table_args__ = (Index("ix_connector_record_connector_id_status", "connector_id", "status"),)

    connector_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("connector.id", ondelete="CASCADE"), primary_key=True
    )
    visitor_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # The remote record's id and revision (null: a create was sent and its answer not recorded, or failed).
    business_id: Mapped[str | None] = mapped_column(String(100))
    revision: Mapped[int | None] = mapped_column(BigInteger)
    # SHA-256 of the body last accepted by the remote (null: to be sent again).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # ok | pending (a create on its way: its outcome is not known) | failed (retried at the next sync)
    status: Mapped[str] = mapped_column(String(8))
    error: Mapped[str | None] = mapped_column(String(500))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed attempts
    # A failed record is retried by the scheduled syncs from then on (backing off); manual syncs retry it
    # at once.
    retry_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]


class ConnectorRun(Base):
    """One sync: what it did, the calls it made, the records that failed."""

    __tablename__ = "connector_run"
    __table_args__ = (Index("ix_connector_run_connector_id_id", "connector_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    connector_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("connector.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))  # api | cli | schedule
    full: Mapped[bool]
    dry_run: Mapped[bool]
    # running | ok | failed (a record failed, or the run stopped early: see stopped_because) | interrupted
    status: Mapped[str] = mapped_column(String(16))
    stopped_because: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(1000))
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    operations: Mapped[list[Any] | None] = mapped_column(JSON)  # a dry run's plan
    cursor_from: Mapped[int] = mapped_column(BigInteger)
    cursor_to: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
