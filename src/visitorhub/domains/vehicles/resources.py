"""Declaration of the vehicles resource: plates are normalised for matching."""

from __future__ import annotations

import re

from visitorhub.core.resource import Filter, Imports, Resource
from visitorhub.domains.vehicles.schemas import VehicleCreate, VehicleRead
from visitorhub.models import Vehicle

_PLATE_SEPARATORS = re.compile(r"[\s\-.·_]+")


def normalize_plate(plate: str) -> str:
    """ "ab-123 cd" -> "AB123CD": how plates are compared (search, smart-parking matching)."""
    return _PLATE_SEPARATORS.sub("", plate).upper()


vehicles = Resource(
    name="vehicles",
    entity="Vehicle",
    model=Vehicle,
    read=VehicleRead,
    create=VehicleCreate,
    parent="visitors",
    key="vehicleId",
    immutable=("vehicleId",),
    soft_delete="deletionDate",
    derived={"license_plate_normalized": ("license_plate", normalize_plate)},
    sortable=("creationDate", "updateDate", "licensePlate", "lastParkingSession"),
    filters=(
        Filter(
            "licensePlate",
            str,
            lambda stmt, plate: stmt.where(Vehicle.license_plate_normalized == normalize_plate(plate)),
            "Licence plate (case, spaces and dashes ignored)",
        ),
    ),
    operations={"create": 66, "list": 67, "update": 68, "delete": 69, "get": 70},
    descriptions={"delete": "Soft delete: sets deletionDate; listed again with includeDeleted=true."},
    imports=Imports(),
    example={"licensePlate": "AB-123-CD", "maker": "Renault", "model": "Clio", "licensePlateCountry": "FR"},
    example_update={"color": "blue"},
)
