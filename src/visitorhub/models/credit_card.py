"""A visitor's tokenized payment cards (never a card number), soft-deleted through deletionDate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from visitorhub.core.db import Base, BigIntId
from visitorhub.models._owned import OwnedByVisitor


class SealedString(TypeDecorator[str]):
    """Text sealed at rest with VISITORHUB_SECRETS_KEY (core.secrets) when it is set: the column holds
    "enc:" + a Fernet token, Python sees the plain value. Values stored before a key was set stay readable.

    CORE-CANDIDATE: the key comes from the process settings (get_settings), as the write path cannot
    reach the app's own Settings; a sealed column type in core.db with the box carried by the session
    would honour create_app(settings) too."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return _box().seal(value) if value is not None else None

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return _box().open(value) if value is not None else None


def _box() -> Any:
    from visitorhub.config import get_settings
    from visitorhub.core.secrets import secret_box

    return secret_box(get_settings().secrets_key)


class CreditCard(OwnedByVisitor, Base):
    __tablename__ = "credit_card"
    __table_args__ = (
        Index("ix_credit_card_visitor_deleted_created", "visitor_id", "deletion_date", "creation_date"),
    )

    card_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    # A Fernet token of a 500-character value is about 800 characters.
    payment_method_token: Mapped[str] = mapped_column(SealedString(1000))
    good_thru: Mapped[str] = mapped_column(String(7))
    card_type: Mapped[str] = mapped_column(String(32))
    first_six_digits: Mapped[str] = mapped_column(String(6))
    last_four_digits: Mapped[str] = mapped_column(String(4))
    deletion_date: Mapped[datetime | None]
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(32))
    service_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    year: Mapped[int]
    month: Mapped[int]
