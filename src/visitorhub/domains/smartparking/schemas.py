"""Smart-parking bodies, field for field as the seed shows them (answers without the data envelope)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel

IDS = "One of the 3 ID fields (visitorId, barcode, licensePlate): at least one is mandatory; if several are "
IDS += "given they must match the same visitor."


class VisitIds(ApiModel):
    visitor_id: str | None = Field(None, max_length=64, description=IDS)
    barcode: str | None = Field(None, max_length=64, description=IDS)
    license_plate: str | None = Field(None, max_length=32, description=IDS)


class VisitCreate(VisitIds):
    pc_code: str = Field(
        min_length=1, max_length=64, description="The pcCode (ID) of the center (mall) that makes the request"
    )


class SmartParkingVisitRead(ApiModel):
    visitor_id: uuid.UUID
    pc_code: str
    visit_date: datetime
    visit_type: str
    license_plate: str | None
