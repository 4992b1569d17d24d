"""Device, app and event-token bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel
from visitorhub.domains.enums import DevicePlatform, UrwAppId


class DeviceRegister(ApiModel):
    """PUT /visitors/{visitorId}/devices: the device is the visitor's one with this `token`."""

    maker: str | None = Field(None, max_length=100, examples=["apple"])
    model: str | None = Field(None, max_length=100, examples=["iPhone 13"])
    # A string; the seed's sample sends a number (16), accepted and stored as text.
    os_version: str | None = Field(None, max_length=50, coerce_numbers_to_str=True, examples=["16"])
    token: str = Field(min_length=1, max_length=500, description="The app's identifier of the device.")
    locale: str | None = Field(None, max_length=32)
    platform: DevicePlatform
    timezone: str | None = Field(None, max_length=64)
    mobile_carrier: str | None = Field(None, max_length=100)
    notification_token: str = Field(min_length=1, max_length=1000)
    urw_app_id: UrwAppId


class DeviceRead(ApiModel):
    maker: str | None
    model: str | None
    os_version: str | None
    token: str
    locale: str | None
    platform: str
    timezone: str | None
    mobile_carrier: str | None
    notification_token: str
    creation_date: datetime
    update_date: datetime
    device_id: int
    visitor_id: uuid.UUID


class AppRead(ApiModel):
    app_id: int
    device_id: int
    urw_app_id: str
    notification_token: str
    creation_date: datetime
    update_date: datetime


class EventTokenRead(ApiModel):
    token: str
    expires_at: datetime
