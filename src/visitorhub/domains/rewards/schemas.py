"""Reward bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.enums import UpgradedFrom


class _RewardFields(ApiModel):
    end_date: datetime | None = None
    is_scan: bool = not_null()
    is_bank: bool = not_null()
    is_restaurant: bool = not_null()
    last_purchase_date: datetime | None = None
    external_id: uuid.UUID = not_null()
    upgraded_from: UpgradedFrom = not_null(description="Set: the reward was converted (isConverted true)")


class RewardCreate(_RewardFields):
    pc_code: str = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    start_date: datetime
    balance: float = Field(ge=0, examples=[31.4])
    outside_optin: bool
    threshold: int = Field(ge=0, examples=[2])


class RewardUpdate(_RewardFields):
    """pcCode does not change; outsideOptin is required on every update, as the seed has it."""

    start_date: datetime = not_null()
    balance: float = not_null(ge=0)
    threshold: int = not_null(ge=0)
    outside_optin: bool


class RewardRead(ApiModel):
    reward_id: int
    visitor_id: uuid.UUID
    is_converted: bool
    pc_code: str
    start_date: datetime
    end_date: datetime | None
    balance: float
    is_scan: bool | None
    is_bank: bool | None
    is_restaurant: bool | None
    outside_optin: bool
    threshold: int
    last_purchase_date: datetime | None
    external_id: uuid.UUID | None
    upgraded_from: str | None
    creation_date: datetime
    update_date: datetime
