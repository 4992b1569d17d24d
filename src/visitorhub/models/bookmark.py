"""A visitor's bookmarks: stores, restaurants, deals, events and news of a centre."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId
from visitorhub.models._owned import OwnedByVisitor


class Bookmark(OwnedByVisitor, Base):
    __tablename__ = "bookmark"
    __table_args__ = (
        Index(
            "uq_bookmark_visitor_item", "visitor_id", "pc_code", "bookmark_type", "external_id", unique=True
        ),
        Index("ix_bookmark_visitor_type_created", "visitor_id", "bookmark_type", "creation_date"),
        Index("ix_bookmark_visitor_created", "visitor_id", "creation_date"),
    )

    bookmark_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    pc_code: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200))
    bookmark_type: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
