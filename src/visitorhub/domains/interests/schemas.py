"""Interest bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel


class InterestCreate(ApiModel):
    external_id: str = Field(min_length=1, max_length=200)
    label: str = Field(min_length=1, max_length=200)


class InterestRead(ApiModel):
    external_id: str
    label: str
    interest_id: int
    visitor_id: uuid.UUID
    creation_date: datetime
    update_date: datetime
