"""Rules of centres and visitor-centres: unique pcCode, favoriteDate follows isFavorite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.db import utcnow
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.domains.centers.schemas import CenterRead, VisitorCenterRead
from visitorhub.errors import Conflict
from visitorhub.models import Center, VisitorCenter


class CenterService(CrudService[Center]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        if session.get(Center, values["pc_code"]) is not None:
            raise Conflict(
                f"A center with pcCode {values['pc_code']} already exists.", field="pcCode", code="duplicate"
            )
        return values


class VisitorCenterService(CrudService[VisitorCenter]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        if self.find(session, values["visitor_id"], values["pc_code"]) is not None:
            raise Conflict(
                f"Visitor {values['visitor_id']} already has center {values['pc_code']}.",
                field="pcCode",
                code="duplicate",
            )
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

    def find(self, session: Session, visitor_id: Any, pc_code: str) -> VisitorCenter | None:
        return session.scalars(
            select(VisitorCenter).where(
                VisitorCenter.visitor_id == visitor_id, VisitorCenter.pc_code == pc_code
            )
        ).first()

    def upsert(
        self, session: Session, visitor_id: Any, values: dict[str, Any], ctx: WriteContext
    ) -> tuple[VisitorCenter, bool]:
        """Update the visitor's link to values["pc_code"], or create it; returns (record, created)."""
        existing = self.find(session, visitor_id, values["pc_code"])
        if existing is None:
            return self.create(session, {**values, "visitor_id": visitor_id}, ctx), True
        changes = {k: v for k, v in values.items() if k != "pc_code"}
        self.update(session, existing, changes, ctx)
        return existing, False


center_service = CenterService(Center, "Center", CenterRead)
visitor_center_service = VisitorCenterService(VisitorCenter, "VisitorCenter", VisitorCenterRead)
