"""Parking rules: one active subscription per partner, unsubscribing on DELETE; a parking session does not
end before it starts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.db import as_utc, utcnow
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.domains.vehicles.resources import normalize_plate
from visitorhub.errors import Conflict, InvalidInput
from visitorhub.models import Parking, ParkingHistory


def normalize_access_device(value: str | None) -> str | None:
    """A licence plate or a barcode as the accessDevice filter compares it (case and separators aside)."""
    return normalize_plate(value) if value is not None else None


class ParkingService(CrudService[Parking]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        active = session.scalar(
            select(Parking.parking_id).where(
                Parking.visitor_id == values["visitor_id"],
                Parking.parking_partner == values["parking_partner"],
                Parking.unsubscribed_at.is_(None),
            )
        )
        if active is not None:
            raise Conflict(
                f"Visitor {values['visitor_id']} already has an active {values['parking_partner']} parking "
                f"(parkingId {active}); delete it first to register a new one.",
                field="parkingPartner",
                code="duplicate",
            )
        values.update(is_active=True, subscription_date=utcnow(), unsubscribed_at=None)
        return values

    def delete(self, session: Session, obj: Parking, ctx: WriteContext | None = None) -> None:
        """Unsubscribe: isActive false and unsubscribedAt now (the declared soft delete); kept for the
        parking histories that refer to it."""
        if obj.unsubscribed_at is None:
            obj.is_active = False
        super().delete(session, obj, ctx)


class ParkingHistoryService(CrudService[ParkingHistory]):
    """parkingId, cardId and pcCode name existing records (the declaration's references)."""

    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        _check_session_dates(values.get("parking_session_start"), values.get("parking_session_end"))
        return values

    def prepare_update(
        self, session: Session, obj: ParkingHistory, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        if "parking_session_start" in changes or "parking_session_end" in changes:
            _check_session_dates(
                changes.get("parking_session_start", obj.parking_session_start),
                changes.get("parking_session_end", obj.parking_session_end),
            )
        if "exit_access_device" in changes and changes["exit_access_device"] is None:
            changes["exit_access_device_normalized"] = None  # `derived` computes only from a value
        return changes


def _check_session_dates(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and as_utc(end) < as_utc(start):
        raise InvalidInput(
            "parkingSessionEnd is before parkingSessionStart.", field="parkingSessionEnd", code="before_start"
        )
