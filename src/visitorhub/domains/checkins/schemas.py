"""Checkin bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel
from visitorhub.domains.enums import CheckinOrigin


class CheckinCreate(ApiModel):
    pc_code: str = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    service_id: int = Field(ge=0)
    origin: CheckinOrigin


class BarcodeCheckinCreate(CheckinCreate):
    barcode: str = Field(min_length=1, max_length=64, description="The visitor's barcode")


class CheckinRead(ApiModel):
    creation_date: datetime
    update_date: datetime
    pc_code: str
    service_id: int
    origin: str
    checkin_id: int
    visitor_id: uuid.UUID
