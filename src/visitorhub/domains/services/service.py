"""Service rules: a service's dates in order, its check-in count; no deprecated theme given to a service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from visitorhub.core.db import as_utc
from visitorhub.core.resource import REGISTRY
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.errors import InvalidInput
from visitorhub.models import Service, ServiceServiceTheme, ServiceTheme


def _check_dates(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and as_utc(end) < as_utc(start):
        raise InvalidInput(
            f"endDate {end.isoformat()} is before startDate {start.isoformat()}.",
            field="endDate",
            code="date_order",
        )


def checkin_count(session: Session, service_id: int) -> int:
    """Check-ins of the service, once the check-ins resource (with a serviceId) is declared; else 0."""
    checkins = REGISTRY.get("checkins")
    column = getattr(checkins.model, "service_id", None) if checkins is not None else None
    if checkins is None or column is None:
        return 0
    stmt = select(func.count()).where(column == service_id)
    if checkins.soft_delete_attr:
        stmt = stmt.where(getattr(checkins.model, checkins.soft_delete_attr).is_(None))
    return session.scalar(stmt) or 0


class ServiceService(CrudService[Service]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        _check_dates(values.get("start_date"), values.get("end_date"))
        return values

    def prepare_update(
        self, session: Session, obj: Service, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        _check_dates(changes.get("start_date", obj.start_date), changes.get("end_date", obj.end_date))
        return changes

    def represent(self, obj: Service) -> dict[str, Any]:
        data = super().represent(obj)
        session = object_session(obj)
        data["checkinCount"] = checkin_count(session, obj.service_id) if session is not None else 0
        return data


class ServiceThemeLinkService(CrudService[ServiceServiceTheme]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        theme = session.get(ServiceTheme, values["service_theme_id"])  # unknown: the reference check's 422
        if theme is not None and theme.deprecated:
            raise InvalidInput(
                f"Service theme {theme.service_theme_id} is deprecated: it can no longer be given to a "
                "service.",
                field="serviceThemeId",
                code="deprecated",
            )
        return values
