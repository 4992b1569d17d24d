"""Visitor, partial visitor and external-id bodies, field for field as the seed shows them."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any

from email_validator.rfc_constants import ATEXT, CASE_INSENSITIVE_MAILBOX_NAMES, EMAIL_MAX_LENGTH
from pydantic import AfterValidator, Field, WithJsonSchema, validate_email

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.centers.schemas import VisitorCenterRead
from visitorhub.domains.credit_cards.schemas import CreditCardRead
from visitorhub.domains.enums import CountryCode, ExternalType, Gender
from visitorhub.domains.optins.schemas import OptinCreate, OptinRead
from visitorhub.domains.rewards.schemas import RewardRead
from visitorhub.domains.vehicles.schemas import VehicleRead

Name = Field(min_length=1, max_length=200)

# E-mail addresses ------------------------------------------------------------------------------------------

# An address with nothing unusual: an ASCII dot-atom before the @-sign (email_validator's own definition) and
# ASCII hostname characters after it; no display name, quotes, brackets or surrounding spaces.
_PLAIN_ADDRESS = re.compile(rf"([{ATEXT}]+(?:\.[{ATEXT}]+)*)@([A-Za-z0-9.\-]+)")


@lru_cache(maxsize=4096)
def _plain_domain(domain: str) -> str | None:
    """The normalised form email_validator gives an ASCII domain (checked through a probe address with the
    simplest local part), or None when the domain is invalid or normalises to non-ASCII (IDNA)."""
    try:
        _name, normalized = validate_email(f"a@{domain}")
    except ValueError:  # PydanticCustomError
        return None
    result = normalized.partition("@")[2]
    return result if result.isascii() else None


def normalize_email(value: str) -> str:
    """What pydantic's EmailStr makes of `value`: the same normalised address, the same errors.

    EmailStr runs email_validator on every address, and most of that time goes to the domain's IDNA
    checks; in real data domains repeat heavily, so a plain address checks its domain once per process
    (a plain ASCII dot-atom local part is already normalised, and only a few mailbox names are lower-cased).
    Anything else takes the full validation."""
    match = _PLAIN_ADDRESS.fullmatch(value)
    if match is not None and len(value) <= EMAIL_MAX_LENGTH:
        local, domain = match.groups()
        normalized = _plain_domain(domain)
        if normalized is not None and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES:
            address = f"{local}@{normalized}"
            if len(address) <= EMAIL_MAX_LENGTH:
                return address
    return validate_email(value)[1]


# pydantic's EmailStr: the same schema, result and errors, faster on repeated domains.
Email = Annotated[str, AfterValidator(normalize_email), WithJsonSchema({"format": "email", "type": "string"})]


# A birth year from 1900 to this year (the bound moves with the calendar; the schema says it).
BirthYear: Any = Field(None, ge=1900, le=date.today().year, description="From 1900 to this year")


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
    email: Email
    gender: Gender
    acquisition_pc_code: str = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    email_verified: bool = False
    email_invalid: bool = False
    phone_verified: bool = False
    phone_invalid: bool = False
    country_code: CountryCode
    birth_day: int | None = Field(None, ge=1, le=31)
    birth_month: int | None = Field(None, ge=1, le=12)
    birth_year: int | None = BirthYear


class VisitorCreate(VisitorFields):
    optins: list[OptinCreate]


class PartialVisitorCreate(_Contact):
    last_name: str | None = Field(None, min_length=1, max_length=200)
    first_name: str = Name
    email: Email
    gender: Gender | None = None
    country_code: CountryCode
    preferred_center: str = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    optins: list[OptinCreate]


class VisitorUpdate(_Contact, _Address):
    last_visit_date: datetime = not_null()
    last_name: str = not_null(min_length=1, max_length=200)
    first_name: str = not_null(min_length=1, max_length=200)
    email: Email = not_null()
    gender: Gender = not_null()
    birth_day: int | None = Field(None, ge=1, le=31)
    birth_month: int | None = Field(None, ge=1, le=12)
    birth_year: int | None = BirthYear


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
    rewards: list[RewardRead]
    visitor_centers: list[VisitorCenterRead]
    vehicles: list[VehicleRead]
    credit_cards: list[CreditCardRead]
