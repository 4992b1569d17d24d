"""Centres (keyed by pcCode) and a visitor's relation to a centre."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visitorhub.core.db import Base, BigIntId, ContentHashMixin, TimestampMixin, content_hash_index
from visitorhub.models.visitor import Visitor


class Center(ContentHashMixin, TimestampMixin, Base):
    __tablename__ = "center"
    __table_args__ = (content_hash_index("center"),)

    pc_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    is_westfield: Mapped[bool]
    center_id: Mapped[str | None] = mapped_column(String(100))
    center_code: Mapped[int | None] = mapped_column(BigInteger)
    has_worker: Mapped[bool] = mapped_column(default=False)
    has_multi_step: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=False)
    has_email_validation: Mapped[bool] = mapped_column(default=True)
    loyalty_start_date: Mapped[datetime | None]
    has_basic_loyalty: Mapped[bool] = mapped_column(default=False)
    parking_partner: Mapped[str | None] = mapped_column(String(32))
    wallet_context_id: Mapped[int | None] = mapped_column(BigInteger)
    urw_app_id: Mapped[str | None] = mapped_column(String(32))
    has_registration: Mapped[bool] = mapped_column(default=True)
    has_loyalty: Mapped[bool | None]


class VisitorCenter(ContentHashMixin, TimestampMixin, Base):
    __tablename__ = "visitor_center"
    __table_args__ = (UniqueConstraint("visitor_id", "pc_code"), content_hash_index("visitor_center"))

    visitor_center_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visitor.visitor_id", ondelete="CASCADE"))
    # Declared so the unit of work inserts a new visitor before records that point to it (bulk imports
    # flush both at once); never loaded.
    visitor: Mapped[Visitor] = relationship(lazy="raise", viewonly=False)
    pc_code: Mapped[str] = mapped_column(String(64), index=True)
    favorite_date: Mapped[datetime | None]
    is_tlp: Mapped[bool | None]
    is_favorite: Mapped[bool] = mapped_column(default=False)
    is_smartparker: Mapped[bool | None] = mapped_column()
    center_company_id: Mapped[int | None] = mapped_column(BigInteger)
