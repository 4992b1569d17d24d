"""Vehicle-partner rules: the vehicle (not deleted) and the visitor-centre are the visitor's own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.service import CrudService, WriteContext
from visitorhub.errors import InvalidInput
from visitorhub.models import Vehicle, VehiclePartner, VisitorCenter


class VehiclePartnerService(CrudService[VehiclePartner]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        visitor_id = values["visitor_id"]
        vehicle = session.scalar(
            select(Vehicle.vehicle_id).where(
                Vehicle.vehicle_id == values["vehicle_id"],
                Vehicle.visitor_id == visitor_id,
                Vehicle.deletion_date.is_(None),
            )
        )
        if vehicle is None:
            raise InvalidInput(
                f"vehicleId {values['vehicle_id']} is not a vehicle of visitor {visitor_id} (or it is deleted).",
                field="vehicleId",
                code="unknown_reference",
            )
        center = values.get("visitor_center_id")
        if center is not None:
            found = session.scalar(
                select(VisitorCenter.visitor_center_id).where(
                    VisitorCenter.visitor_center_id == center, VisitorCenter.visitor_id == visitor_id
                )
            )
            if found is None:
                raise InvalidInput(
                    f"visitorCenterId {center} is not a visitor-centre of visitor {visitor_id}.",
                    field="visitorCenterId",
                    code="unknown_reference",
                )
        return values
