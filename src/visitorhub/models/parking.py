"""Parking subscriptions of visitors (with a parking partner) and their parking sessions' history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId
from visitorhub.models._owned import OwnedByVisitor


class Parking(OwnedByVisitor, Base):
    """A subscription to a parking partner; unsubscribing (DELETE) sets unsubscribedAt and isActive false."""

    __tablename__ = "parking"
    __table_args__ = (
        Index("ix_parking_visitor_partner", "visitor_id", "parking_partner"),
        # At most one active subscription per partner: the service says so first (409), this is the backstop.
        Index(
            "uq_parking_visitor_partner_active",
            "visitor_id",
            "parking_partner",
            unique=True,
            sqlite_where=text("unsubscribed_at IS NULL"),
            postgresql_where=text("unsubscribed_at IS NULL"),
        ),
        Index("ix_parking_visitor_created", "visitor_id", "creation_date"),
    )

    parking_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    subscription_date: Mapped[datetime]
    unsubscribed_at: Mapped[datetime | None]
    parking_partner: Mapped[str] = mapped_column(String(32))


class ParkingHistory(OwnedByVisitor, Base):
    """One parking session and its payment. parking_id and card_id are the visitor's parking and card (no
    foreign key: a visitor's records are deleted one by one, each with its change record)."""

    __tablename__ = "parking_history"
    __table_args__ = (
        Index("ix_parking_history_visitor_created", "visitor_id", "creation_date"),
        Index("ix_parking_history_visitor_parking", "visitor_id", "parking_id"),
        Index("ix_parking_history_visitor_session_start", "visitor_id", "parking_session_start"),
        Index("ix_parking_history_visitor_session_id", "visitor_id", "parking_session_id"),
        Index("ix_parking_history_visitor_pc", "visitor_id", "pc_code"),
        Index("ix_parking_history_visitor_access", "visitor_id", "access_device_normalized"),
        Index("ix_parking_history_visitor_exit_access", "visitor_id", "exit_access_device_normalized"),
    )

    parking_history_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    card_id: Mapped[int] = mapped_column(BigInteger)
    parking_id: Mapped[int] = mapped_column(BigInteger)
    pc_code: Mapped[str] = mapped_column(String(64))
    parking_session_id: Mapped[int | None] = mapped_column(BigInteger)
    parking_session_start: Mapped[datetime | None]
    parking_session_end: Mapped[datetime | None]
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    access_device: Mapped[str] = mapped_column(String(200))
    # Upper-case, separators removed (vehicles.normalize_plate): the accessDevice filter compares these.
    access_device_normalized: Mapped[str] = mapped_column(String(200))
    exit_access_device: Mapped[str | None] = mapped_column(String(200))
    exit_access_device_normalized: Mapped[str | None] = mapped_column(String(200))
    formatted_total_time: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None]
    paid_at_kiosk: Mapped[bool | None]
    refunded_amount: Mapped[float | None]
    payment_status: Mapped[str | None] = mapped_column(String(32))
    total_time: Mapped[int | None] = mapped_column(BigInteger)
    transaction_full_amount: Mapped[float | None]
    transaction_id: Mapped[str | None] = mapped_column(String(200))
    transaction_pretax_amount: Mapped[float | None]
    transaction_tax_amount: Mapped[float | None]
    validation_amount: Mapped[float | None]
    vendor_id: Mapped[str | None] = mapped_column(String(200))
