"""Outbound streams: subscriptions (where and how to push an entity's changes) and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId, utcnow


class StreamSubscription(Base):
    __tablename__ = "stream_subscription"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    stream: Mapped[str] = mapped_column(String(64))  # plural API name: visitors, vehicles, ...
    entity: Mapped[str] = mapped_column(String(64))  # the change log's entity name: Visitor, Vehicle, ...
    url: Mapped[str] = mapped_column(String(2000))
    # {"type": "none|basic|apiKey|hmac", ...}: secrets included, so never returned nor logged.
    auth: Mapped[dict[str, Any]] = mapped_column(JSON)
    interval_minutes: Mapped[int] = mapped_column(Integer)
    max_per_run: Mapped[int] = mapped_column(Integer)
    max_per_payload: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[datetime | None]
    enabled: Mapped[bool]
    template: Mapped[str | None] = mapped_column(String(100))
    # The last change-log seq acknowledged (or dead-lettered): the next payload starts after it.
    cursor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    # Who runs it now: "host/pid-namespace/pid/token" until lease_expires_at (renewed per payload).
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    # Running totals for /metrics, kept in the transactions that record attempts (cheap to scrape).
    attempts_delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts_failed: Mapped[int] = mapped_column(BigInteger, default=0)
    payloads_dead: Mapped[int] = mapped_column(BigInteger, default=0)
    records_delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    creation_date: Mapped[datetime] = mapped_column(default=utcnow)
    update_date: Mapped[datetime] = mapped_column(default=utcnow)


class StreamDelivery(Base):
    """One payload: a frozen JSON array of records, sent until a receiver accepts it or it is dead-lettered."""

    __tablename__ = "stream_delivery"
    # A subscription's deliveries are made in seq order: first_seq orders its log and finds its open one.
    __table_args__ = (
        Index("ix_stream_delivery_subscription_id_first_seq", "subscription_id", "first_seq"),
        Index("ix_stream_delivery_subscription_id_status", "subscription_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the webhook-id header
    subscription_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("stream_subscription.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    record_count: Mapped[int] = mapped_column(Integer)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    # The start date its records were read with: with the seq range, what rebuilds its records.
    since: Mapped[datetime | None]
    http_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))
    creation_date: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]


class StreamPayload(Base):
    """The body of a template-shaped delivery, kept as sent (its template may change); other bodies are
    rebuilt from the change log. A table of its own: SQLite rewrites a whole row on UPDATE, and a
    delivery's row changes at every attempt."""

    __tablename__ = "stream_payload"

    delivery_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("stream_delivery.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[str] = mapped_column(Text)


class StreamDeliveryAttempt(Base):
    """One POST of a delivery: what the receiver answered (or why nothing came back)."""

    __tablename__ = "stream_delivery_attempt"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("stream_delivery.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(16))  # run | replay
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | failed
    http_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
