"""Inbound channels: URLs that receive pushed JSON arrays (the S-360 "DatX" side), and the records they
received, stored raw and deduplicated by source id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId, utcnow


class Channel(Base):
    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # The URL tail after /inbound/: "s360/contacts/myvenue".
    path: Mapped[str] = mapped_column(String(200), unique=True)
    # {"type": "none|basic|apiKey|hmac", ...}: secrets sealed (core/secrets.py), never returned nor logged.
    auth: Mapped[dict[str, Any]] = mapped_column(JSON)
    id_field: Mapped[str] = mapped_column(String(200))
    template: Mapped[str | None] = mapped_column(String(100))
    max_records: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool]
    # Running totals for /metrics and the API, kept in the transactions that store the payloads.
    payloads_received: Mapped[int] = mapped_column(BigInteger, default=0)
    records_received: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    records_applied: Mapped[int] = mapped_column(BigInteger, default=0)
    records_quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    last_received_at: Mapped[datetime | None]
    creation_date: Mapped[datetime] = mapped_column(default=utcnow)
    update_date: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelRecord(Base):
    """One source record of a channel, as last received: stored once per (channel, source id)."""

    __tablename__ = "channel_record"
    __table_args__ = (
        # The deduplication key: a retried record is a conflict on it, resolved by INSERT ... ON CONFLICT.
        UniqueConstraint("channel_id", "source_id"),
        # Lists in arrival order (and `since`), and the records of one status (reapply, quarantine counts).
        Index("ix_channel_record_channel_id_last_received_at", "channel_id", "last_received_at", "id"),
        Index("ix_channel_record_channel_id_status", "channel_id", "status", "source_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("channel.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the record's canonical JSON (keys sorted): equal hashes, same content.
    content_hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the record as received (JSON text)
    status: Mapped[str] = mapped_column(String(16))  # stored | applied | quarantined
    error: Mapped[str | None] = mapped_column(String(1000))  # why it is quarantined
    first_received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(default=utcnow)
    times_received: Mapped[int] = mapped_column(Integer, default=1)
    applied_at: Mapped[datetime | None]
