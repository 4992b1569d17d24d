"""CrudService: the one write path. Validate, write, append to the change log; never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic.alias_generators import to_camel
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from visitorhub.core import changelog
from visitorhub.core.db import Base, utcnow
from visitorhub.core.schemas import ApiModel
from visitorhub.errors import InvalidInput

M = TypeVar("M", bound=Base)

# Every entity that has a write path, by entity name ("Visitor"); filled as services are created.
_SERVICES: dict[str, CrudService[Any]] = {}


def known_entities() -> list[str]:
    return sorted(_SERVICES)


@dataclass(frozen=True)
class WriteContext:
    """Who is writing: the API key name, a template import, a channel..."""

    actor: str | None = None


def same_value(old: Any, new: Any) -> bool:
    """Equality that treats naive and aware UTC datetimes (SQLite round-trips) as the same instant."""
    if isinstance(old, datetime) and isinstance(new, datetime):
        if old.tzinfo is None:
            old = old.replace(tzinfo=UTC)
        if new.tzinfo is None:
            new = new.replace(tzinfo=UTC)
    return bool(old == new)


class CrudService(Generic[M]):
    """Writes one entity type. Subclasses add rules through the prepare_* hooks."""

    def __init__(self, model: type[M], entity: str, read: type[ApiModel]) -> None:
        self.model = model
        self.entity = entity
        self.read = read
        mapper = sa_inspect(model)
        self._pk: str = mapper.primary_key[0].key or ""
        self._non_nullable = {attr.key for attr in mapper.column_attrs if not attr.columns[0].nullable}
        _SERVICES[entity] = self

    def represent(self, obj: M) -> dict[str, Any]:
        """The API representation, as sent in responses and stored in the change log."""
        return self.read.model_validate(obj).model_dump(mode="json", by_alias=True)

    def entity_id(self, obj: M) -> Any:
        return getattr(obj, self._pk)

    # Hooks -----------------------------------------------------------------------------------------

    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        return values

    def prepare_update(
        self, session: Session, obj: M, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        return changes

    def before_delete(self, session: Session, obj: M, ctx: WriteContext) -> None:
        """Delete dependants through their own services, so each one reaches the change log."""

    # Write path ------------------------------------------------------------------------------------
    # create/update = plan (checks and derived values, may raise, changes nothing) + apply (changes the
    # session, cannot fail) + flush + change log. Batch writers (template imports) call plan/apply per
    # record and `log` once per batch, so a million rows do not cost a million flushes.

    def plan_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        return self.prepare_create(session, dict(values), ctx)

    def apply_create(self, session: Session, values: dict[str, Any]) -> M:
        now = utcnow()
        obj = self.model(**values)
        obj.creation_date = now  # type: ignore[attr-defined]
        obj.update_date = now  # type: ignore[attr-defined]
        session.add(obj)
        return obj

    def plan_update(
        self, session: Session, obj: M, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        """The attributes that would change (empty: nothing to do)."""
        for key, value in changes.items():
            if value is None and key in self._non_nullable:
                raise InvalidInput(f"{to_camel(key)} cannot be null.", field=to_camel(key), code="null")
        changes = self.prepare_update(session, obj, dict(changes), ctx)
        return {k: v for k, v in changes.items() if not same_value(getattr(obj, k), v)}

    def apply_update(self, obj: M, diff: dict[str, Any]) -> None:
        for key, value in diff.items():
            setattr(obj, key, value)
        obj.update_date = utcnow()  # type: ignore[attr-defined]

    def log(self, session: Session, entries: list[tuple[str, M]]) -> None:
        """Append the change records of flushed (operation, record) pairs, in order."""
        changelog.append_many(
            session,
            [
                {
                    "entity": self.entity,
                    "entity_id": self.entity_id(obj),
                    "operation": op,
                    "data": self.represent(obj),
                }
                for op, obj in entries
            ],
        )

    def create(self, session: Session, values: dict[str, Any], ctx: WriteContext | None = None) -> M:
        obj = self.apply_create(session, self.plan_create(session, values, ctx or WriteContext()))
        session.flush()
        changelog.append(session, self.entity, self.entity_id(obj), "create", self.represent(obj))
        return obj

    def update(
        self, session: Session, obj: M, changes: dict[str, Any], ctx: WriteContext | None = None
    ) -> bool:
        """Apply `changes`; returns False, and writes nothing, when no value differs."""
        diff = self.plan_update(session, obj, changes, ctx or WriteContext())
        if not diff:
            return False
        self.apply_update(obj, diff)
        session.flush()
        changelog.append(session, self.entity, self.entity_id(obj), "update", self.represent(obj))
        return True

    def delete(self, session: Session, obj: M, ctx: WriteContext | None = None) -> None:
        ctx = ctx or WriteContext()
        self.before_delete(session, obj, ctx)
        data = self.represent(obj)
        entity_id = self.entity_id(obj)
        session.delete(obj)
        session.flush()
        changelog.append(session, self.entity, entity_id, "delete", data)
