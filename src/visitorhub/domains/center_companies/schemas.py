"""Center company bodies, field for field as the seed shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel


class CenterCompanyCreate(ApiModel):
    company_name: str = Field(min_length=1, max_length=200, examples=["adidas"])


class CenterCompanyRead(ApiModel):
    company_name: str
    creation_date: datetime
    update_date: datetime
    center_company_id: int
    pc_code: str
