"""Vehicle-partner bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.enums import ParkingPartner


class VehiclePartnerCreate(ApiModel):
    # The seed repeats the path's visitorId as an optional body field; the path's wins.
    visitor_id: uuid.UUID = not_null(description="Ignored: the path's visitorId is the visitor")
    vehicle_id: int = Field(description="A vehicle of the visitor")
    partner_id: str = Field(min_length=1, max_length=200, examples=["123-ABC-123"])
    parking_partner: ParkingPartner
    visitor_center_id: int | None = Field(None, description="A visitor-centre of the visitor")
    pc_code: str | None = Field(None, max_length=64, examples=["FR-SC-75"])


class VehiclePartnerRead(ApiModel):
    vehicle_partner_id: int
    visitor_id: uuid.UUID
    vehicle_id: int
    partner_id: str
    parking_partner: str
    visitor_center_id: int | None
    pc_code: str | None
    creation_date: datetime
    update_date: datetime
