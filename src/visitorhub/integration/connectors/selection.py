"""Which visitors a connector syncs (its filter, as one SQL condition), and loading them with their vehicles."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import ColumnElement, and_, exists, func, select, true
from sqlalchemy.orm import Session

from visitorhub.core.schemas import ApiModel
from visitorhub.core.service import IN_LIST
from visitorhub.domains.enums import OptinType
from visitorhub.domains.vehicles.resources import vehicles as vehicle_resource
from visitorhub.domains.visitors.resources import visitors as visitor_resource
from visitorhub.models import Optin, Vehicle, Visitor, VisitorCenter

Loaded = tuple[dict[str, Any], list[dict[str, Any]]]  # a visitor's representation, its vehicles'


class VisitorFilter(ApiModel):
    """The visitors a connector keeps on the remote side; the others are deleted there."""

    require_vehicle: bool = Field(
        True, description="Only visitors with at least one vehicle that is not deleted (a licence plate)"
    )
    centers: list[str] | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="Only visitors linked to one of these centres (visitor-centres, by pcCode)",
    )
    optin_type: OptinType | None = Field(
        None, description="Only visitors holding an active opt-in of this type"
    )

    @field_validator("centers")
    @classmethod
    def _pc_codes(cls, centers: list[str] | None) -> list[str] | None:
        if centers is None:
            return None
        cleaned = []
        for pc_code in centers:
            if not pc_code.strip() or len(pc_code) > 64:
                raise ValueError(f"'{pc_code}' is not a pcCode (1 to 64 characters)")
            cleaned.append(pc_code)
        return sorted(set(cleaned))

    def entities(self) -> tuple[str, ...]:
        """The change-log entities whose changes can change a visitor's remote record or membership."""
        names = ["Visitor", "Vehicle"]
        if self.centers:
            names.append("VisitorCenter")
        if self.optin_type is not None:
            names.append("Optin")
        return tuple(names)

    def condition(self) -> ColumnElement[bool]:
        """True for the visitors (rows of `visitor`) that this filter keeps."""
        parts: list[ColumnElement[bool]] = []
        if self.require_vehicle:
            parts.append(
                exists().where(Vehicle.visitor_id == Visitor.visitor_id, Vehicle.deletion_date.is_(None))
            )
        if self.centers:
            parts.append(
                exists().where(
                    VisitorCenter.visitor_id == Visitor.visitor_id, VisitorCenter.pc_code.in_(self.centers)
                )
            )
        if self.optin_type is not None:
            parts.append(
                exists().where(
                    Optin.visitor_id == Visitor.visitor_id,
                    Optin.optin_type == self.optin_type.value,
                    Optin.is_active.is_(True),
                )
            )
        return and_(*parts) if parts else true()


def visitor_id_of(entity: str, entity_id: str, data: Any) -> uuid.UUID | None:
    """The visitor a change record concerns: the visitor itself, or the one its record hangs from."""
    raw = entity_id if entity == "Visitor" else (data or {}).get("visitorId")
    try:
        return uuid.UUID(str(raw)) if raw is not None else None
    except ValueError:
        return None


def _vehicles(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = {}
    represent = vehicle_resource.service.represent
    stmt = select(Vehicle).where(Vehicle.visitor_id.in_(ids), Vehicle.deletion_date.is_(None))
    for vehicle in session.scalars(stmt.order_by(Vehicle.vehicle_id)):
        found.setdefault(vehicle.visitor_id, []).append(represent(vehicle))
    return found


def load(session: Session, ids: Sequence[uuid.UUID], keep: VisitorFilter) -> dict[uuid.UUID, Loaded]:
    """The visitors among `ids` that the filter keeps, with their vehicles that are not deleted."""
    result: dict[uuid.UUID, Loaded] = {}
    represent = visitor_resource.service.represent
    for start in range(0, len(ids), IN_LIST):
        part = list(ids[start : start + IN_LIST])
        stmt = select(Visitor).where(Visitor.visitor_id.in_(part), keep.condition())
        rows = list(session.scalars(stmt))
        owned = _vehicles(session, [row.visitor_id for row in rows])
        for row in rows:
            result[row.visitor_id] = (represent(row), owned.get(row.visitor_id, []))
    return result


def page(
    session: Session, keep: VisitorFilter, after: uuid.UUID | None, limit: int
) -> list[tuple[uuid.UUID, Loaded]]:
    """The next `limit` visitors the filter keeps, in id order after `after`, with their vehicles."""
    stmt = select(Visitor).where(keep.condition())
    if after is not None:
        stmt = stmt.where(Visitor.visitor_id > after)
    rows = list(session.scalars(stmt.order_by(Visitor.visitor_id).limit(limit)))
    owned = _vehicles(session, [row.visitor_id for row in rows])
    represent = visitor_resource.service.represent
    return [(row.visitor_id, (represent(row), owned.get(row.visitor_id, []))) for row in rows]


def count(session: Session, keep: VisitorFilter) -> int:
    return session.scalar(select(func.count()).select_from(Visitor).where(keep.condition())) or 0
