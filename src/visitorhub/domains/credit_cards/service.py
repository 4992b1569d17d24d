"""Credit-card rules: goodThru follows month and year; the payment method token stays out of the change
log (change records carry it as null), as it stays sealed in its column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from visitorhub.core import changelog
from visitorhub.core.service import CrudService, WriteContext, written
from visitorhub.models import CreditCard

SECRET_FIELDS = ("paymentMethodToken",)


def good_thru(month: int, year: int) -> str:
    return f"{month:02d}/{year}"


class CreditCardService(CrudService[CreditCard]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        values["good_thru"] = good_thru(values["month"], values["year"])
        return values

    def prepare_update(
        self, session: Session, obj: CreditCard, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        if "month" in changes or "year" in changes:
            changes["good_thru"] = good_thru(changes.get("month", obj.month), changes.get("year", obj.year))
        return changes

    # CORE-CANDIDATE: a Resource option `secret_fields` (redacted from change records, sealed at rest)
    # would make the two overrides below declarations.

    def logged(self, obj: CreditCard) -> dict[str, Any]:
        """The representation change records keep: the API's, without the payment method token."""
        data = self.represent(obj)
        for name in SECRET_FIELDS:
            data[name] = None
        return data

    def log(self, session: Session, entries: Sequence[tuple[str, CreditCard]]) -> None:
        changelog.append_many(
            session,
            [
                {
                    "entity": self.entity,
                    "entity_id": self.entity_id(obj),
                    "operation": op,
                    "data": self.logged(obj),
                }
                for op, obj in entries
            ],
        )

    def purge(self, session: Session, obj: CreditCard, ctx: WriteContext | None = None) -> None:
        data = self.logged(obj)
        entity_id = self.entity_id(obj)
        session.delete(obj)
        written(session, obj)
        session.flush()
        changelog.append(session, self.entity, entity_id, "delete", data)
