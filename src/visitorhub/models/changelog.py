"""The change log: one row per create/update/delete, written in the writer's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId


class ChangeLogEntry(Base):
    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_entity_seq", "entity", "seq"),
        Index("ix_change_log_occurred_at", "occurred_at"),
    )

    seq: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(8))
    occurred_at: Mapped[datetime]
    # The record's API representation after the change (before it, for a delete), so that streams can
    # send what changed even once the row itself is gone.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
