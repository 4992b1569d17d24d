"""Companies of a centre (the employers of the visitors who work there)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId, TimestampMixin


class CenterCompany(TimestampMixin, Base):
    __tablename__ = "center_company"
    __table_args__ = (
        Index(
            "uq_center_company_pc_name_lower", func.lower("pc_code"), func.lower("company_name"), unique=True
        ),
    )

    center_company_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    pc_code: Mapped[str] = mapped_column(ForeignKey("center.pc_code", ondelete="CASCADE"), index=True)
    company_name: Mapped[str] = mapped_column(String(200))
