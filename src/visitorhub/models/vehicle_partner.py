"""A visitor's vehicle as a parking partner knows it (the partner's own id for it)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId
from visitorhub.models._owned import OwnedByVisitor


class VehiclePartner(OwnedByVisitor, Base):
    __tablename__ = "vehicle_partner"
    __table_args__ = (
        Index(
            "uq_vehicle_partner_partner_id",
            "parking_partner",
            "partner_id",
            func.coalesce("pc_code", ""),
            unique=True,
        ),
        Index("ix_vehicle_partner_visitor_created", "visitor_id", "creation_date"),
    )

    vehicle_partner_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # The visitor's vehicle (no foreign key: a visitor's records are deleted one by one, each logged).
    vehicle_id: Mapped[int] = mapped_column(BigInteger)
    partner_id: Mapped[str] = mapped_column(String(200))
    parking_partner: Mapped[str] = mapped_column(String(32))
    visitor_center_id: Mapped[int | None] = mapped_column(BigInteger)
    pc_code: Mapped[str | None] = mapped_column(String(64))
