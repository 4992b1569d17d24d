"""Service, store, segment, theme and target bodies, field for field as the seed shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from visitorhub.core.schemas import ApiModel
from visitorhub.domains.enums import ThemeCategory

PcCode = Annotated[str, Field(min_length=1, max_length=64, examples=["FR-SC-123"])]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Day = Annotated[int, Field(ge=0, le=6)]


def _distinct_days(days: list[int]) -> list[int]:
    if len(set(days)) != len(days):
        raise ValueError("a day appears twice; list each day of use once")
    return sorted(days)


DaysOfUse = Annotated[
    list[Day],
    AfterValidator(_distinct_days),
    Field(
        max_length=7,
        examples=[[0, 6]],
        description="Days of the week the service can be used: 0 (Sunday) to 6 (Saturday), each once; "
        "stored in ascending order.",
    ),
]
ColorCode = Annotated[
    str,
    Field(pattern=r"^#[0-9A-Fa-f]{6}$", examples=["#FFFFFF"], description="#RRGGBB"),
]


class ServiceCreate(ApiModel):
    pc_code: PcCode
    name: Text
    category: Text
    use_rate: Text
    days_of_use: DaysOfUse
    color_code: ColorCode
    is_premium: bool = False
    undeletable: bool = False
    start_date: datetime | None = None
    end_date: datetime | None = Field(None, description="Not before startDate.")


class ServiceStoreCreate(ApiModel):
    store_id: int = Field(ge=0, le=2**63 - 1)
    store_name: Text


class ServiceStoreRead(ApiModel):
    service_store_id: int
    service_id: int
    store_id: int
    store_name: str
    creation_date: datetime
    update_date: datetime


class ServiceSegmentCreate(ApiModel):
    segment_id: int = Field(ge=0, le=2**63 - 1)
    segment_name: Text


class ServiceSegmentRead(ApiModel):
    service_segment_id: int
    service_id: int
    segment_id: int
    segment_name: str
    creation_date: datetime
    update_date: datetime


class ServiceThemeCreate(ApiModel):
    value: Text
    category: ThemeCategory
    deprecated: bool = Field(False, description="A deprecated theme can no longer be given to a service.")


class ServiceThemeRead(ApiModel):
    service_theme_id: int
    category: ThemeCategory
    value: str
    deprecated: bool
    creation_date: datetime
    update_date: datetime


class ServiceTargetCreate(ApiModel):
    value: Text


class ServiceTargetRead(ApiModel):
    service_target_id: int
    value: str
    creation_date: datetime
    update_date: datetime


class ServiceServiceThemeCreate(ApiModel):
    service_theme_id: int = Field(examples=[117], description="A theme of GET /service-themes.")


class ServiceServiceThemeRead(ApiModel):
    service_service_theme_id: int
    service_id: int
    service_theme_id: int
    creation_date: datetime
    update_date: datetime
    service_theme: ServiceThemeRead


class ServiceServiceTargetCreate(ApiModel):
    service_target_id: int = Field(examples=[117], description="A target of GET /service-targets.")


class ServiceServiceTargetRead(ApiModel):
    service_service_target_id: int
    service_target_id: int
    service_id: int
    creation_date: datetime
    update_date: datetime
    service_target: ServiceTargetRead


class ServiceRead(ApiModel):
    service_id: int
    is_premium: bool
    name: str
    category: str
    color_code: str
    use_rate: str
    days_of_use: list[int]
    start_date: datetime | None
    end_date: datetime | None
    undeletable: bool
    pc_code: str
    creation_date: datetime
    update_date: datetime
    stores: list[ServiceStoreRead]
    targets: list[ServiceTargetRead]
    themes: list[ServiceThemeRead]
    segments: list[ServiceSegmentRead]
    checkin_count: int = Field(0, description="Check-ins recorded for the service.")
