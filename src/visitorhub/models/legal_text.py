"""Legal texts (one row per released version of a type) and their texts per locale."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, synonym

from visitorhub.core.db import Base, BigIntId, TimestampMixin


class LegalText(TimestampMixin, Base):
    __tablename__ = "legal_text"
    __table_args__ = (
        UniqueConstraint("type", "version"),
        # The latest released version of a type: the greatest releaseDate up to now.
        Index("ix_legal_text_type_release", "type", "release_date"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    release_date: Mapped[datetime]
    require_consent: Mapped[bool] = mapped_column(default=True)

    # Its paths (and the locales' link) name the id legalTextId.
    legal_text_id: Mapped[int] = synonym("id")


class LegalTextLocale(TimestampMixin, Base):
    __tablename__ = "legal_text_locale"
    __table_args__ = (UniqueConstraint("legal_text_id", "locale_code"),)

    legal_text_locale_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    legal_text_id: Mapped[int] = mapped_column(ForeignKey("legal_text.id", ondelete="CASCADE"))
    locale_code: Mapped[str] = mapped_column(String(16))
    optin_display_text: Mapped[str | None] = mapped_column(Text)
    optin_header_text: Mapped[str | None] = mapped_column(Text)
    document_text: Mapped[str | None] = mapped_column(Text)
