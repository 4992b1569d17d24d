"""Loyalty rewards of visitors at a centre."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId
from visitorhub.models._owned import OwnedByVisitor


class Reward(OwnedByVisitor, Base):
    __tablename__ = "reward"
    __table_args__ = (
        Index("ix_reward_visitor_created", "visitor_id", "creation_date"),
        Index("ix_reward_visitor_pc", "visitor_id", "pc_code"),
    )

    reward_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    is_converted: Mapped[bool] = mapped_column(default=False)
    pc_code: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    balance: Mapped[float]
    is_scan: Mapped[bool | None]
    is_bank: Mapped[bool | None]
    is_restaurant: Mapped[bool | None]
    outside_optin: Mapped[bool]
    threshold: Mapped[int]
    last_purchase_date: Mapped[datetime | None]
    external_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    upgraded_from: Mapped[str | None] = mapped_column(String(16))
