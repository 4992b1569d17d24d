"""The locales a visitor speaks (codes from the reference list served by GET /locales)."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId
from visitorhub.models._owned import OwnedByVisitor


class VisitorLocale(OwnedByVisitor, Base):
    __tablename__ = "visitor_locale"
    __table_args__ = (
        Index("uq_visitor_locale_visitor_code", "visitor_id", "locale_code", unique=True),
        Index("ix_visitor_locale_visitor_created", "visitor_id", "creation_date"),
    )

    visitor_locale_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    locale_code: Mapped[str] = mapped_column(String(16))
    # The reference list's label, copied when the locale is added (derived, never written by a client).
    locale_label: Mapped[str] = mapped_column(String(100))
