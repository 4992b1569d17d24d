"""Visitor (full or partial), the opt-ins given at registration, and external ids."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visitorhub.core.db import Base, BigIntId, ContentHashMixin, TimestampMixin, content_hash_index, new_uuid
from visitorhub.core.search import folded_text


class Visitor(ContentHashMixin, TimestampMixin, Base):
    __tablename__ = "visitor"
    __table_args__ = (
        Index("uq_visitor_email_lower", func.lower("email"), unique=True),
        # Searches by prefix, ignoring case and accents (core.search).
        Index("ix_visitor_email_folded", "email_folded"),
        content_hash_index("visitor"),
        Index("ix_visitor_first_name_folded", "first_name_folded"),
        Index("ix_visitor_last_name_folded", "last_name_folded"),
        # Serves countryCode, countryCode+acquisitionPcCode, and their default creationDate order.
        Index("ix_visitor_country_pc_created", "country_code", "acquisition_pc_code", "creation_date"),
    )

    visitor_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    account_type: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200), index=True)
    gender: Mapped[str | None] = mapped_column(String(1))
    phone: Mapped[str | None] = mapped_column(String(64))
    mobile_locale: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str | None] = mapped_column(String(64))
    country_code: Mapped[str] = mapped_column(String(2))
    address_city: Mapped[str | None] = mapped_column(String(200))
    address_street: Mapped[str | None] = mapped_column(String(400))
    address_state: Mapped[str | None] = mapped_column(String(200))
    address_zip_code: Mapped[str | None] = mapped_column(String(32))
    billing_address: Mapped[str | None] = mapped_column(String(400))
    billing_address2: Mapped[str | None] = mapped_column(String(400))
    billing_zip_code: Mapped[str | None] = mapped_column(String(32))
    billing_city: Mapped[str | None] = mapped_column(String(200))
    billing_country_code: Mapped[str | None] = mapped_column(String(2))
    acquisition_pc_code: Mapped[str | None] = mapped_column(String(64), index=True)
    upgrade_pc_code: Mapped[str | None] = mapped_column(String(64))
    email_verified: Mapped[bool] = mapped_column(default=False)
    email_invalid: Mapped[bool] = mapped_column(default=False)
    phone_verified: Mapped[bool] = mapped_column(default=False)
    phone_invalid: Mapped[bool] = mapped_column(default=False)
    birth_day: Mapped[int | None]
    birth_month: Mapped[int | None]
    birth_year: Mapped[int | None]
    last_visit_date: Mapped[datetime | None] = mapped_column(index=True)
    registration_date: Mapped[datetime | None] = mapped_column(index=True)
    barcode: Mapped[str] = mapped_column(String(32), unique=True)
    origin_type: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str | None] = mapped_column(String(200))
    # core.search.fold of email, first and last name: what searches compare with (derived on every write).
    email_folded: Mapped[str | None] = mapped_column(folded_text(320))
    first_name_folded: Mapped[str | None] = mapped_column(folded_text(200))
    last_name_folded: Mapped[str | None] = mapped_column(folded_text(200))


class Optin(TimestampMixin, Base):
    __tablename__ = "optin"
    __table_args__ = (
        # The optin list's filters (type, channel) and `latest` (the newest per type and channel).
        Index(
            "ix_optin_visitor_type_channel_created",
            "visitor_id",
            "optin_type",
            "optin_channel",
            "creation_date",
        ),
    )

    optin_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("visitor.visitor_id", ondelete="CASCADE"), index=True
    )
    # Declared so the unit of work inserts a new visitor before records that point to it (bulk imports
    # flush both at once); never loaded.
    visitor: Mapped[Visitor] = relationship(lazy="raise", viewonly=False)
    client_id: Mapped[str | None] = mapped_column(String(200))
    send_id: Mapped[str | None] = mapped_column(String(200))
    optin_channel: Mapped[str] = mapped_column(String(16))
    optin_type: Mapped[str] = mapped_column(String(32))
    legal_text_id: Mapped[int | None] = mapped_column(BigInteger)
    is_active: Mapped[bool]
    last_opened_date: Mapped[datetime | None]
    context_id: Mapped[int | None] = mapped_column(BigInteger)
    optin_date: Mapped[datetime | None]
    optout_date: Mapped[datetime | None]


class ExternalId(ContentHashMixin, TimestampMixin, Base):
    """An identifier of the visitor in another system; one per (visitor, type, centre)."""

    __tablename__ = "external_id"
    __table_args__ = (
        Index(
            "uq_external_id_visitor_type_pc",
            "visitor_id",
            "external_type",
            func.coalesce("pc_code", ""),
            unique=True,
        ),
        Index(
            "uq_external_id_type_value_pc",
            "external_type",
            "external_id",
            func.coalesce("pc_code", ""),
            unique=True,
        ),
        Index("ix_external_id_external_id", "external_id"),
        content_hash_index("external_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visitor.visitor_id", ondelete="CASCADE"))
    # Declared so the unit of work inserts a new visitor before records that point to it (bulk imports
    # flush both at once); never loaded.
    visitor: Mapped[Visitor] = relationship(lazy="raise", viewonly=False)
    external_type: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    pc_code: Mapped[str | None] = mapped_column(String(64), index=True)
