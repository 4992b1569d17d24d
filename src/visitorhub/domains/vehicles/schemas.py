"""Vehicle request/response bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.enums import CountryCode


class VehicleCreate(ApiModel):
    name: str | None = Field(None, max_length=200)
    maker: str = not_null(max_length=200)
    color: str = not_null(max_length=100)
    model: str = not_null(max_length=200)
    license_plate: str = Field(min_length=1, max_length=32)
    license_plate_country: CountryCode = not_null()
    year_of_manufacture: int = not_null(ge=1800, le=2500)
    last_parking_session: datetime = not_null()


class VehicleRead(ApiModel):
    vehicle_id: int
    visitor_id: uuid.UUID
    deletion_date: datetime | None
    name: str | None
    maker: str | None
    color: str | None
    model: str | None
    license_plate: str
    license_plate_country: str | None
    year_of_manufacture: int | None
    last_parking_session: datetime | None
    creation_date: datetime
    update_date: datetime
