"""Visitor, partial visitor, opt-in and external-id bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.centers.schemas import VisitorCenterRead
from visitorhub.domains.enums import CountryCode, ExternalType, Gender, OptinChannel, OptinType
from visitorhub.domains.vehicles.schemas import VehicleRead

Name = Field(min_length=1, max_length=200)


class OptinCreate(ApiModel):
    client_id: str | None = Field(None, max_length=200)
    send_id: str | None = Field(None, max_length=200)
    optin_channel: OptinChannel
    optin_type: OptinType
    legal_text_id: int | None = None
    is_active: bool
    last_opened_date: datetime | None = None
    context_id: int | None = None


class OptinRead(ApiModel):
    client_id: str | None
    send_id: str | None
    optin_channel: str
    optin_type: str
    legal_text_id: int | None
    is_active: bool
    last_opened_date: datetime | None
    context_id: int | None
    optin_id: int
    visitor_id: uuid.UUID
    optout_date: datetime | None
    optin_date: datetime | None
    creation_date: datetime
    update_date: datetime


class _Contact(ApiModel):
    phone: str | None = Field(None, max_length=64)
    mobile_locale: str | None = Field(None, max_length=32)
    timezone: str | None = Field(None, max_length=64)


class _Address(ApiModel):
    address_city: str | None = Field(None, max_length=200)
    address_street: str | None = Field(None, max_length=400)
    address_state: str | None = Field(None, max_length=200)
    address_zip_code: str | None = Field(None, max_length=32)
    billing_address: str | None = Field(None, max_length=400)
    billing_address2: str | None = Field(None, max_length=400)
    billing_zip_code: str | None = Field(None, max_length=32)
    billing_city: str | None = Field(None, max_length=200)
    billing_country_code: CountryCode | None = None


class VisitorFields(_Contact, _Address):
    """A full visitor's own fields: what a registration or an import sets."""

    last_visit_date: datetime | None = None
    last_name: str = Name
    first_name: str = Name
    email: EmailStr
    gender: Gender
    acquisition_pc_code: str = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    email_verified: bool = False
    email_invalid: bool = False
    phone_verified: bool = False
    phone_invalid: bool = False
    country_code: CountryCode
    birth_day: int | None = Field(None, ge=1, le=31)
    birth_month: int | None = Field(None, ge=1, le=12)
    birth_year: int | None = None


class VisitorCreate(VisitorFields):
    optins: list[OptinCreate]


class PartialVisitorCreate(_Contact):
    last_name: str | None = Field(None, min_length=1, max_length=200)
    first_name: str = Name
    email: EmailStr
    gender: Gender | None = None
    country_code: CountryCode
    preferred_center: str = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    optins: list[OptinCreate]


class VisitorUpdate(_Contact, _Address):
    last_visit_date: datetime = not_null()
    last_name: str = not_null(min_length=1, max_length=200)
    first_name: str = not_null(min_length=1, max_length=200)
    email: EmailStr = not_null()
    gender: Gender = not_null()
    birth_day: int | None = Field(None, ge=1, le=31)
    birth_month: int | None = Field(None, ge=1, le=12)
    birth_year: int | None = None


class VisitorRead(ApiModel):
    last_visit_date: datetime | None
    address_city: str | None
    address_street: str | None
    address_state: str | None
    last_name: str | None
    first_name: str
    email: str
    gender: str | None
    phone: str | None
    mobile_locale: str | None
    address_zip_code: str | None
    timezone: str | None
    billing_address: str | None
    billing_address2: str | None
    billing_zip_code: str | None
    billing_city: str | None
    billing_country_code: str | None
    acquisition_pc_code: str | None
    email_verified: bool
    email_invalid: bool
    phone_verified: bool
    phone_invalid: bool
    country_code: str
    birth_day: int | None
    birth_month: int | None
    birth_year: int | None
    creation_date: datetime
    update_date: datetime
    account_type: str
    visitor_id: uuid.UUID
    registration_date: datetime | None
    barcode: str
    origin_type: str | None
    origin: str | None
    upgrade_pc_code: str | None


class VisitorFlagsItem(ApiModel):
    visitor_id: uuid.UUID
    email_invalid: bool = not_null()
    phone_invalid: bool = not_null()


class VisitorFlagsRead(ApiModel):
    visitor_id: uuid.UUID
    email_invalid: bool
    phone_invalid: bool


class BatchDeleteItem(ApiModel):
    analytics_id: str = Field(min_length=1, max_length=200)
    pc_code: str | None = Field(None, max_length=64)


class BatchDeleteResult(ApiModel):
    success: list[str]
    failed: list[str]


class CountRead(ApiModel):
    count: int


class ExternalIdCreate(ApiModel):
    external_id: str = Field(min_length=1, max_length=200)
    pc_code: str | None = Field(None, max_length=64)
    external_type: ExternalType


class ExternalIdRead(ApiModel):
    external_id: str
    visitor_id: uuid.UUID
    external_type: str
    pc_code: str | None
    creation_date: datetime
    update_date: datetime


class VisitorDetailsRead(VisitorRead):
    external_ids: list[ExternalIdRead]
    optins: list[OptinRead]
    rewards: list[dict[str, Any]] = Field(description="Always empty until the rewards family exists.")
    visitor_centers: list[VisitorCenterRead]
    vehicles: list[VehicleRead]
    credit_cards: list[dict[str, Any]] = Field(
        description="Always empty until the credit-cards family exists."
    )
