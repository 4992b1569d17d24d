"""Center and VisitorCenter request/response bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.enums import CountryCode, ParkingPartner, UrwAppId

PcCode = str


class CenterCreate(ApiModel):
    pc_code: PcCode = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    label: str = Field(min_length=1, max_length=200)
    country: CountryCode
    is_westfield: bool
    center_id: str = not_null(max_length=100)
    center_code: int = not_null()
    has_worker: bool = False
    has_multi_step: bool = False
    is_active: bool = False
    has_email_validation: bool = True
    loyalty_start_date: datetime | None = None
    has_basic_loyalty: bool = False
    parking_partner: ParkingPartner | None = None
    wallet_context_id: int | None = None
    urw_app_id: UrwAppId | None = None
    has_registration: bool = True
    has_loyalty: bool | None = None


class CenterRead(ApiModel):
    has_loyalty: bool | None
    label: str
    country: str
    is_westfield: bool
    center_id: str | None
    center_code: int | None
    has_worker: bool
    has_multi_step: bool
    is_active: bool
    has_email_validation: bool
    loyalty_start_date: datetime | None
    has_basic_loyalty: bool
    parking_partner: str | None
    wallet_context_id: int | None
    urw_app_id: str | None
    has_registration: bool
    pc_code: str
    creation_date: datetime
    update_date: datetime


class VisitorCenterUpsert(ApiModel):
    pc_code: PcCode = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    is_tlp: bool = not_null()
    is_favorite: bool = not_null()
    is_smartparker: bool = not_null()
    center_company_id: int | None = None


class VisitorCenterCreate(VisitorCenterUpsert):
    is_favorite: bool


class VisitorCenterRead(ApiModel):
    visitor_center_id: int
    visitor_id: uuid.UUID
    pc_code: str
    favorite_date: datetime | None
    is_tlp: bool | None
    is_favorite: bool
    is_smartparker: bool | None
    center_company_id: int | None
    creation_date: datetime
    update_date: datetime
