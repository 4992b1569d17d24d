"""Vehicle rules: plates normalised for matching, soft deletion through deletionDate."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from visitorhub.core import changelog
from visitorhub.core.db import utcnow
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.domains.vehicles.schemas import VehicleRead
from visitorhub.errors import InvalidInput
from visitorhub.models import Vehicle

_PLATE_SEPARATORS = re.compile(r"[\s\-.·_]+")


def normalize_plate(plate: str) -> str:
    """ "ab-123 cd" -> "AB123CD": how plates are compared (search, smart-parking matching)."""
    return _PLATE_SEPARATORS.sub("", plate).upper()


class VehicleService(CrudService[Vehicle]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        values["license_plate_normalized"] = normalize_plate(values["license_plate"])
        return values

    def prepare_update(
        self, session: Session, obj: Vehicle, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        vehicle_id = changes.pop("vehicle_id", None)
        if vehicle_id is not None and vehicle_id != obj.vehicle_id:
            raise InvalidInput("vehicleId cannot be changed.", field="vehicleId", code="immutable")
        if changes.get("license_plate") is not None:
            changes["license_plate_normalized"] = normalize_plate(changes["license_plate"])
        return changes

    def delete(self, session: Session, obj: Vehicle, ctx: WriteContext | None = None) -> None:
        """Soft delete: the vehicle stays readable (includeDeleted) but no longer matches a plate."""
        if obj.deletion_date is not None:
            return
        obj.deletion_date = utcnow()
        obj.update_date = obj.deletion_date
        session.flush()
        changelog.append(session, self.entity, obj.vehicle_id, "delete", self.represent(obj))

    def purge(self, session: Session, obj: Vehicle, ctx: WriteContext | None = None) -> None:
        """Hard delete, when the owning visitor itself is deleted."""
        super().delete(session, obj, ctx)


vehicle_service = VehicleService(Vehicle, "Vehicle", VehicleRead)
