"""Checkins of visitors at a centre's service."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId
from visitorhub.models._owned import OwnedByVisitor


class Checkin(OwnedByVisitor, Base):
    __tablename__ = "checkin"
    __table_args__ = (
        Index("ix_checkin_visitor_created", "visitor_id", "creation_date"),
        Index("ix_checkin_visitor_pc_created", "visitor_id", "pc_code", "creation_date"),
        # GET /checkins by centre or by service, in creation order (checkedInSince/Until).
        Index("ix_checkin_pc_created", "pc_code", "creation_date"),
        Index("ix_checkin_service_created", "service_id", "creation_date"),
    )

    checkin_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    pc_code: Mapped[str] = mapped_column(String(64))
    service_id: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[str] = mapped_column(String(16))
