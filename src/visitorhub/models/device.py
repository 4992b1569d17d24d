"""A visitor's mobile devices and the centre apps installed on each."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visitorhub.core.db import Base, BigIntId, TimestampMixin
from visitorhub.models._owned import OwnedByVisitor


class Device(OwnedByVisitor, Base):
    """One device of a visitor, known by its `token` (the app's device identifier)."""

    __tablename__ = "device"
    __table_args__ = (
        Index("uq_device_visitor_token", "visitor_id", "token", unique=True),
        Index("ix_device_visitor_created", "visitor_id", "creation_date"),
    )

    device_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    maker: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    os_version: Mapped[str | None] = mapped_column(String(50))
    token: Mapped[str] = mapped_column(String(500))
    locale: Mapped[str | None] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    mobile_carrier: Mapped[str | None] = mapped_column(String(100))
    notification_token: Mapped[str] = mapped_column(String(1000))


class App(TimestampMixin, Base):
    """A centre app (urwAppId) on a device, with the push token it registered last."""

    __tablename__ = "app"
    __table_args__ = (Index("uq_app_device_urw_app", "device_id", "urw_app_id", unique=True),)

    app_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.device_id", ondelete="CASCADE"))
    # Orders inserts after the device's (see OwnedByVisitor.visitor); never loaded.
    device: Mapped[Device] = relationship(lazy="raise", viewonly=False)
    urw_app_id: Mapped[str] = mapped_column(String(32))
    notification_token: Mapped[str] = mapped_column(String(1000))
