"""Rules of visitor-centres: favoriteDate follows isFavorite; a PUT updates or creates the link."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.db import utcnow
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.models import VisitorCenter


class VisitorCenterService(CrudService[VisitorCenter]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        if values.get("is_favorite") is None:
            values["is_favorite"] = False
        values["favorite_date"] = utcnow() if values["is_favorite"] else None
        return values

    def prepare_update(
        self, session: Session, obj: VisitorCenter, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        # favoriteDate is when the centre became a favourite: set on the change to true, cleared on false.
        if "is_favorite" in changes and changes["is_favorite"] != obj.is_favorite:
            changes["favorite_date"] = utcnow() if changes["is_favorite"] else None
        return changes

    def upsert(
        self, session: Session, visitor_id: Any, values: dict[str, Any], ctx: WriteContext
    ) -> tuple[VisitorCenter, bool]:
        """Update the visitor's link to values["pc_code"], or create it; returns (record, created)."""
        existing = session.scalars(
            select(VisitorCenter).where(
                VisitorCenter.visitor_id == visitor_id, VisitorCenter.pc_code == values["pc_code"]
            )
        ).first()
        if existing is None:
            return self.create(session, {**values, "visitor_id": visitor_id}, ctx), True
        self.update(session, existing, {k: v for k, v in values.items() if k != "pc_code"}, ctx)
        return existing, False
