"""Reward rules: a reward does not end before it starts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from visitorhub.core.db import as_utc
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.errors import InvalidInput
from visitorhub.models import Reward


class RewardService(CrudService[Reward]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        _check_period(values["start_date"], values.get("end_date"))
        return values

    def prepare_update(
        self, session: Session, obj: Reward, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        if "start_date" in changes or "end_date" in changes:
            _check_period(changes.get("start_date", obj.start_date), changes.get("end_date", obj.end_date))
        return changes


def _check_period(start: Any, end: Any) -> None:
    if end is not None and as_utc(end) < as_utc(start):
        raise InvalidInput("endDate is before startDate.", field="endDate", code="before_start")
