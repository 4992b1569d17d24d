"""Declaration of the vehicles resource and its router."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Select

from visitorhub.core.resource import Filter, Resource
from visitorhub.core.router import crud_routes
from visitorhub.domains.centers.resources import VISITOR_PARENT
from visitorhub.domains.vehicles.schemas import VehicleCreate, VehicleUpdate
from visitorhub.domains.vehicles.service import normalize_plate, vehicle_service
from visitorhub.models import Vehicle


def _hide_deleted(stmt: Select[Any], query: Any) -> Select[Any]:
    return stmt if query.includeDeleted else stmt.where(Vehicle.deletion_date.is_(None))


vehicles = Resource(
    name="vehicles",
    service=vehicle_service,
    path="/visitors/{visitorId}/vehicles",
    tag="vehicles",
    key="vehicleId",
    key_annotation=int,
    parent=VISITOR_PARENT,
    create=VehicleCreate,
    update=VehicleUpdate,
    sortable=("creationDate", "updateDate", "licensePlate", "lastParkingSession"),
    filters=(
        Filter(
            "includeDeleted", bool, lambda stmt, _value: stmt, "Include soft-deleted vehicles", default=False
        ),
        Filter(
            "licensePlate",
            str,
            lambda stmt, plate: stmt.where(Vehicle.license_plate_normalized == normalize_plate(plate)),
            "Licence plate (case, spaces and dashes ignored)",
        ),
    ),
    base_filter=_hide_deleted,
    summaries={
        "create": "Create new vehicle",
        "list": "Retrieve list of vehicles",
        "update": "Update visitor's vehicle",
        "delete": "Delete visitor's vehicle",
        "get": "Retrieve visitor's vehicle",
    },
    descriptions={
        "delete": "Soft delete: sets deletionDate; the vehicle is listed again with includeDeleted=true."
    },
)

router = crud_routes(vehicles, APIRouter())
