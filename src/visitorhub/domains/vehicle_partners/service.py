"""Vehicle-partner rules: visitorCenterId names an existing visitor-centre (vehicleId and pcCode are the
declaration's references)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.service import CrudService, WriteContext
from visitorhub.errors import InvalidInput
from visitorhub.models import VehiclePartner, VisitorCenter


class VehiclePartnerService(CrudService[VehiclePartner]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        # Not a declared reference: visitor-centres are addressed by pcCode, this is their numeric id.
        center = values.get("visitor_center_id")
        if center is not None:
            found = session.scalar(
                select(VisitorCenter.visitor_center_id).where(VisitorCenter.visitor_center_id == center)
            )
            if found is None:
                raise InvalidInput(
                    f"No visitor-centre has visitorCenterId {center}.",
                    field="visitorCenterId",
                    code="unknown_reference",
                )
        return values
