"""Vehicles of visitors, soft-deleted through deletionDate."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visitorhub.core.db import Base, BigIntId, ContentHashMixin, TimestampMixin, content_hash_index, utcnow
from visitorhub.models.visitor import Visitor


class Vehicle(ContentHashMixin, TimestampMixin, Base):
    __tablename__ = "vehicle"
    __table_args__ = (
        # Plate search and smart-parking matching: the non-deleted vehicles with a plate, latest updated first.
        Index("ix_vehicle_plate_deleted_updated", "license_plate_normalized", "deletion_date", "update_date"),
        content_hash_index("vehicle"),
    )

    # Listed under their visitor only (the visitor_id index serves every page): no creationDate index.
    creation_date: Mapped[datetime] = mapped_column(default=utcnow)
    vehicle_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("visitor.visitor_id", ondelete="CASCADE"), index=True
    )
    # Declared so the unit of work inserts a new visitor before records that point to it (bulk imports
    # flush both at once); never loaded.
    visitor: Mapped[Visitor] = relationship(lazy="raise", viewonly=False)
    name: Mapped[str | None] = mapped_column(String(200))
    maker: Mapped[str | None] = mapped_column(String(200))
    color: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    license_plate: Mapped[str] = mapped_column(String(32))
    # Upper-case, separators removed: "ab-123 cd" and "AB123CD" are the same plate for matching.
    license_plate_normalized: Mapped[str] = mapped_column(String(32))
    license_plate_country: Mapped[str | None] = mapped_column(String(2))
    year_of_manufacture: Mapped[int | None]
    last_parking_session: Mapped[datetime | None]
    deletion_date: Mapped[datetime | None]
