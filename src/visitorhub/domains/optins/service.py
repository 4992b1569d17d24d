"""Opt-in rules: optinDate / optoutDate follow isActive; disabling keeps the record (its history)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from visitorhub.core.db import utcnow
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.models import Optin


class OptinService(CrudService[Optin]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        now = utcnow()
        values["optin_date"] = now if values["is_active"] else None
        values["optout_date"] = None if values["is_active"] else now
        return values

    def disable(self, session: Session, optin: Optin, ctx: WriteContext) -> None:
        """isActive false and optoutDate now; an opt-in already disabled is left as it is."""
        if optin.is_active:
            self.update(session, optin, {"is_active": False, "optout_date": utcnow()}, ctx)
