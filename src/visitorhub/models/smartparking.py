"""Smart-parking visits: a visitor's car park entries and exits at a centre."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId
from visitorhub.models._owned import OwnedByVisitor


class SmartParkingVisit(OwnedByVisitor, Base):
    __tablename__ = "smartparking_visit"
    __table_args__ = (Index("ix_smartparking_visit_visitor_pc_date", "visitor_id", "pc_code", "visit_date"),)

    visit_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    pc_code: Mapped[str] = mapped_column(String(64))
    visit_date: Mapped[datetime]
    visit_type: Mapped[str] = mapped_column(String(8))
    # The plate as the car park read it (null when the visitor was identified otherwise).
    license_plate: Mapped[str | None] = mapped_column(String(32))
