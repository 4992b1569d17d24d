"""Services of a centre, the global theme and target catalogues, and the links between them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visitorhub.core.db import Base, BigIntId, TimestampMixin


class ServiceTheme(TimestampMixin, Base):
    """A theme of the global catalogue (an event or a service category)."""

    __tablename__ = "service_theme"
    __table_args__ = (
        Index(
            "uq_service_theme_category_value_lower", func.lower("category"), func.lower("value"), unique=True
        ),
    )

    service_theme_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    value: Mapped[str] = mapped_column(String(200))
    deprecated: Mapped[bool] = mapped_column(default=False)


class ServiceTarget(TimestampMixin, Base):
    """A target audience of the global catalogue."""

    __tablename__ = "service_target"
    __table_args__ = (Index("uq_service_target_value_lower", func.lower("value"), unique=True),)

    service_target_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    value: Mapped[str] = mapped_column(String(200))


class ServiceStore(TimestampMixin, Base):
    __tablename__ = "service_store"
    __table_args__ = (UniqueConstraint("service_id", "store_id"),)

    service_store_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.service_id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(BigInteger)
    store_name: Mapped[str] = mapped_column(String(200))


class ServiceSegment(TimestampMixin, Base):
    __tablename__ = "service_segment"
    __table_args__ = (UniqueConstraint("service_id", "segment_id"),)

    service_segment_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.service_id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(BigInteger)
    segment_name: Mapped[str] = mapped_column(String(200))


class ServiceServiceTheme(TimestampMixin, Base):
    """A theme of the catalogue given to a service."""

    __tablename__ = "service_service_theme"
    __table_args__ = (UniqueConstraint("service_id", "service_theme_id"),)

    service_service_theme_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.service_id", ondelete="CASCADE"))
    service_theme_id: Mapped[int] = mapped_column(ForeignKey("service_theme.service_theme_id"), index=True)
    service_theme: Mapped[ServiceTheme] = relationship(lazy="joined", viewonly=True)


class ServiceServiceTarget(TimestampMixin, Base):
    """A target of the catalogue given to a service."""

    __tablename__ = "service_service_target"
    __table_args__ = (UniqueConstraint("service_id", "service_target_id"),)

    service_service_target_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.service_id", ondelete="CASCADE"))
    service_target_id: Mapped[int] = mapped_column(ForeignKey("service_target.service_target_id"), index=True)
    service_target: Mapped[ServiceTarget] = relationship(lazy="joined", viewonly=True)


class Service(TimestampMixin, Base):
    """A service a centre offers (a lounge, a valet...), with its stores, segments, themes and targets:
    read-only collections, loaded for a whole page in one query each (selectin); each link is written
    through its own resource."""

    __tablename__ = "service"

    service_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    pc_code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(200))
    use_rate: Mapped[str] = mapped_column(String(200))
    days_of_use: Mapped[list[int]] = mapped_column(JSON)
    color_code: Mapped[str] = mapped_column(String(7))
    is_premium: Mapped[bool] = mapped_column(default=False)
    undeletable: Mapped[bool] = mapped_column(default=False)
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None] = mapped_column(index=True)

    stores: Mapped[list[ServiceStore]] = relationship(
        lazy="selectin", viewonly=True, order_by=ServiceStore.service_store_id
    )
    segments: Mapped[list[ServiceSegment]] = relationship(
        lazy="selectin", viewonly=True, order_by=ServiceSegment.service_segment_id
    )
    theme_links: Mapped[list[ServiceServiceTheme]] = relationship(
        lazy="selectin", viewonly=True, order_by=ServiceServiceTheme.service_service_theme_id
    )
    target_links: Mapped[list[ServiceServiceTarget]] = relationship(
        lazy="selectin", viewonly=True, order_by=ServiceServiceTarget.service_service_target_id
    )

    @property
    def themes(self) -> list[ServiceTheme]:
        return [link.service_theme for link in self.theme_links]

    @property
    def targets(self) -> list[ServiceTarget]:
        return [link.service_target for link in self.target_links]
