"""A visitor's interests, each identified by the external id of what it names."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId
from visitorhub.models._owned import OwnedByVisitor


class Interest(OwnedByVisitor, Base):
    __tablename__ = "interest"
    __table_args__ = (
        Index("uq_interest_visitor_external_id", "visitor_id", "external_id", unique=True),
        Index("ix_interest_visitor_created", "visitor_id", "creation_date"),
    )

    interest_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200))
