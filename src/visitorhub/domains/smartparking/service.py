"""Smart-parking rules: which visitor the given ids designate, exactly as the seed states it.

- A licensePlate designates the visitor of the vehicle that matches it (compared like plate search:
  case, spaces and dashes aside), is not deleted, and was updated last.
- A visitorId or a barcode designates the visitor that has it.
- At least one of the three is given (422 otherwise); each one designates a visitor (404 naming the first
  that designates none); all designate the same visitor (409 naming the ids otherwise).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.service import CrudService, WriteContext
from visitorhub.domains.vehicles.resources import normalize_plate
from visitorhub.errors import Conflict, InvalidInput, NotFound, ValidationErrors
from visitorhub.models import SmartParkingVisit, Vehicle, Visitor

ID_FIELDS = ("visitorId", "barcode", "licensePlate")


def plate_owner(session: Session, plate: str) -> uuid.UUID | None:
    """The visitor of the non-deleted vehicle with this plate updated last (one index seek)."""
    stmt = (
        select(Vehicle.visitor_id)
        .where(Vehicle.license_plate_normalized == normalize_plate(plate), Vehicle.deletion_date.is_(None))
        .order_by(Vehicle.update_date.desc(), Vehicle.vehicle_id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def _visitor_by_id(session: Session, raw: str) -> uuid.UUID | None:
    try:
        visitor_id = uuid.UUID(raw)
    except ValueError:
        raise InvalidInput(
            f"visitorId '{raw}' is not a UUID.", field="visitorId", code="invalid_uuid"
        ) from None
    return session.scalar(select(Visitor.visitor_id).where(Visitor.visitor_id == visitor_id))


def resolve_visitor(
    session: Session, visitor_id: str | None, barcode: str | None, license_plate: str | None
) -> uuid.UUID:
    """The visitor the ids designate (blank ids count as not given)."""
    given = {
        name: value.strip()
        for name, value in zip(ID_FIELDS, (visitor_id, barcode, license_plate), strict=True)
        if value is not None and value.strip()
    }
    if not given:
        message = "At least one of visitorId, barcode and licensePlate is required."
        raise ValidationErrors([(name, "missing_id", message) for name in ID_FIELDS])
    owners: dict[str, uuid.UUID] = {}
    for name, value in given.items():
        if name == "visitorId":
            owner = _visitor_by_id(session, value)
        elif name == "barcode":
            owner = session.scalar(select(Visitor.visitor_id).where(Visitor.barcode == value))
        else:
            owner = plate_owner(session, value)
        if owner is None:
            what = {
                "visitorId": "No visitor has id",
                "barcode": "No visitor has barcode",
                "licensePlate": "No vehicle that is not deleted has licence plate",
            }[name]
            raise NotFound(f"{what} {value}.", field=name)
        owners[name] = owner
    first = next(iter(owners.values()))
    if any(owner != first for owner in owners.values()):
        shown = ", ".join(f"{name} {given[name]} is visitor {owner}" for name, owner in owners.items())
        clash = next(name for name, owner in owners.items() if owner != first)
        raise Conflict(
            f"The ids designate different visitors: {shown}.", field=clash, code="visitor_mismatch"
        )
    return first


class SmartParkingVisitService(CrudService[SmartParkingVisit]):
    def record(
        self,
        session: Session,
        ids: dict[str, Any],
        pc_code: str,
        visit_type: str,
        when: datetime,
        ctx: WriteContext,
    ) -> SmartParkingVisit:
        visitor_id = resolve_visitor(
            session, ids.get("visitor_id"), ids.get("barcode"), ids.get("license_plate")
        )
        plate = (ids.get("license_plate") or "").strip() or None
        values = {
            "visitor_id": visitor_id,
            "pc_code": pc_code,
            "visit_date": when,
            "visit_type": visit_type,
            "license_plate": plate,
        }
        return self.create(session, values, ctx)
