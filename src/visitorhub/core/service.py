"""CrudService: the one write path. Validate, write, append to the change log; never commit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, Generic, TypeVar

from pydantic.alias_generators import to_camel
from sqlalchemy import func, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from visitorhub.core import changelog
from visitorhub.core.db import Base, as_utc, utcnow
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
        old, new = as_utc(old), as_utc(new)
    return bool(old == new)


@dataclass(frozen=True)
class _InsertColumns:
    """How insert_many writes one entity's records."""

    names: tuple[tuple[str, str], ...]  # (attribute, column) of every column
    defaults: dict[str, Any]  # attribute -> its scalar column default (None without one)
    computed: frozenset[str]  # attributes whose default a function, SQL or the server computes
    relationships: frozenset[str]

    def rows(self, records: Sequence[Any], without: str | None = None) -> list[dict[str, Any]]:
        """The INSERT parameters of records whose every column attribute is set (column -> value)."""
        names = [(attr, col) for attr, col in self.names if attr != without]
        columns = [col for _attr, col in names]
        values = itemgetter(*[attr for attr, _col in names])  # a tuple: a record has a key and dates at least
        return [dict(zip(columns, values(obj.__dict__), strict=True)) for obj in records]


class CrudService(Generic[M]):
    """Writes one entity type. Subclasses add rules through the prepare_* hooks."""

    def __init__(self, model: type[M], entity: str, read: type[ApiModel]) -> None:
        self.model = model
        self.entity = entity
        self.read = read
        mapper = sa_inspect(model)
        self.pk_attr: str = mapper.primary_key[0].key or ""
        self._non_nullable = {attr.key for attr in mapper.column_attrs if not attr.columns[0].nullable}
        # The integer primary key the database numbers (None for client-chosen keys such as UUIDs).
        autoinc = mapper.primary_key[0].table.autoincrement_column
        self._autoinc_pk: str | None = (
            self.pk_attr if autoinc is not None and autoinc.key == self.pk_attr else None
        )
        self._plain: frozenset[str] | None = None  # see _plain_columns
        self._columns: _InsertColumns | None = None  # see _insert_columns
        # The read schema's fields, when all of them are plain columns (see represent).
        columns = {attr.key for attr in mapper.column_attrs}
        fields = tuple(read.model_fields)
        self._read_columns: tuple[str, ...] | None = fields if columns.issuperset(fields) else None
        _SERVICES[entity] = self

    def represent(self, obj: M) -> dict[str, Any]:
        """The API representation, as sent in responses and stored in the change log."""
        names = self._read_columns
        if names is not None:
            # The same validation as from the attributes, on a dict of the column values: about three
            # times faster, as loaded values are read straight from the instance (getattr, which loads
            # expired attributes and gives None for never-set ones, is only needed for the others).
            loaded = obj.__dict__
            data = {name: loaded[name] if name in loaded else getattr(obj, name) for name in names}
            return self.read.model_validate(data).model_dump(mode="json", by_alias=True)
        return self.read.model_validate(obj).model_dump(mode="json", by_alias=True)

    def entity_id(self, obj: M) -> Any:
        return getattr(obj, self.pk_attr)

    # Hooks -----------------------------------------------------------------------------------------

    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        return values

    def prepare_update(
        self, session: Session, obj: M, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        return changes

    def before_delete(self, session: Session, obj: M, ctx: WriteContext) -> None:
        """Delete dependants through their own services, so each one reaches the change log."""

    @contextmanager
    def batch(self, session: Session, candidates: Sequence[dict[str, Any]]) -> Iterator[None]:
        """For batch writers: inside the block, plan_create is called for records like `candidates` (the
        values a writer may create) with no flush in between, so prepare_create may answer its per-record
        lookups from a few queries made here, with the same answers. The default preloads nothing."""
        yield

    # Write path ------------------------------------------------------------------------------------
    # create/update = plan (checks and derived values, may raise, changes nothing) + apply (changes the
    # session, cannot fail) + flush + change log. Batch writers (template imports) plan each record, make
    # new ones with new_record, apply updates, then write a batch with one flush (updates) and one
    # insert_many per entity, and log it once, so a million rows do not cost a million flushes.

    def plan_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        return self.prepare_create(session, dict(values), ctx)

    def apply_create(self, session: Session, values: dict[str, Any]) -> M:
        obj = self.new_record(values)
        session.add(obj)
        return obj

    def new_record(self, values: dict[str, Any]) -> M:
        """The new record for planned `values`, not yet in any session (apply_create adds it)."""
        now = utcnow()
        plain = self._plain_columns()
        if plain.issuperset(values):
            # A new record's column values go straight into the instance: the INSERT reads them from there.
            # Same object as the constructor makes, without its per-attribute work (events, history);
            # the init event still runs. Anything else (relationships, unknown names) takes the constructor.
            obj = self.model()
            obj.__dict__.update(values, creation_date=now, update_date=now)
        else:
            obj = self.model(**values)
            obj.creation_date = now  # type: ignore[attr-defined]
            obj.update_date = now  # type: ignore[attr-defined]
        return obj

    def _plain_columns(self) -> frozenset[str]:
        """Column attributes a new instance may receive without attribute events: those with no "set"
        listener and no @validates (looked up once, when all listeners are registered; empty if any)."""
        plain = self._plain
        if plain is None:
            mapper = sa_inspect(self.model)
            attrs = mapper.class_manager
            keys = [attr.key for attr in mapper.column_attrs]
            hooked = bool(mapper.validators) or any(attrs[key].dispatch.set for key in keys)
            plain = frozenset() if hooked else frozenset(keys)
            self._plain = plain
        return plain

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

    def insert_many(self, session: Session, records: Sequence[M]) -> None:
        """Batch writers: INSERT new records made by new_record, as a flush would, in one executemany.

        For a batch of plain new records the unit of work's per-object bookkeeping (cascades, history,
        identity map) costs more than the INSERT itself, so their column values go to one Core
        executemany instead: columns left unset get their scalar column default (or NULL), in the record
        too, as the flush would. A record that leaves unset a column whose default is computed (a
        callable, SQL or server default) or that holds a relationship is added and flushed instead. The
        session is flushed first. Inserted records stay out of the session: the writer reads them (ids,
        represent) and drops them; a change to them after this call is not written. Mapper insert events
        (before_insert, after_insert) do not fire for them; nothing in visitorhub listens to those.
        """
        columns = self._insert_columns()
        fast: list[M] = []
        for obj in records:
            state = obj.__dict__
            if columns.computed.issubset(state) and columns.relationships.isdisjoint(state):
                fast.append(obj)
            else:
                session.add(obj)
        session.flush()  # what the session holds (updates, records added above) goes first
        if not fast:
            return
        defaults = columns.defaults
        for obj in fast:
            state = obj.__dict__
            for attr in defaults.keys() - state.keys():
                state[attr] = defaults[attr]
        pk = self._autoinc_pk
        connection = session.connection(bind_arguments={"mapper": self.model})
        if pk is not None and connection.dialect.name == "sqlite":
            self._number(session, fast, pk)
        numbered = [obj for obj in fast if pk is None or obj.__dict__.get(pk) is not None]
        if numbered:
            connection.execute(insert(self.model), columns.rows(numbered))
        if pk is not None and len(numbered) < len(fast):
            # The database numbers these: RETURNING in the order of the parameters (one statement per
            # batch of rows on backends that can, such as PostgreSQL).
            unnumbered = [obj for obj in fast if obj.__dict__.get(pk) is None]
            stmt = insert(self.model).returning(getattr(self.model, pk), sort_by_parameter_order=True)
            result = connection.execute(stmt, columns.rows(unnumbered, without=pk))
            for obj, key in zip(unnumbered, result.scalars(), strict=True):
                obj.__dict__[pk] = key

    def _number(self, session: Session, records: list[M], pk: str) -> None:
        """SQLite: give new records the integer keys SQLite would give them.

        SQLite's RETURNING does not promise the order of a multi-row INSERT, so SQLAlchemy inserts
        records whose integer key the database numbers one statement each. A writer holds SQLite's write
        lock (BEGIN IMMEDIATE), so it may number them itself as SQLite would (largest key + 1, + 2, ... in
        insertion order, as for a rowid table without AUTOINCREMENT), and the insert is one executemany."""
        unnumbered = [obj for obj in records if obj.__dict__.get(pk) is None]
        if not unnumbered:
            return
        chosen = [obj.__dict__[pk] for obj in records if obj.__dict__.get(pk) is not None]
        top = max([session.scalar(select(func.max(getattr(self.model, pk)))) or 0, *chosen])
        for offset, obj in enumerate(unnumbered, start=1):
            obj.__dict__[pk] = top + offset

    def _insert_columns(self) -> _InsertColumns:
        columns = self._columns
        if columns is None:
            mapper = sa_inspect(self.model)
            names: list[tuple[str, str]] = []
            defaults: dict[str, Any] = {}
            computed: set[str] = set()
            for attr in mapper.column_attrs:
                column = attr.columns[0]
                names.append((attr.key, column.key))
                default = column.default
                if attr.key == self._autoinc_pk:
                    continue
                if column.server_default is not None or (default is not None and not default.is_scalar):
                    computed.add(attr.key)
                else:
                    defaults[attr.key] = default.arg if default is not None else None
            columns = _InsertColumns(
                tuple(names), defaults, frozenset(computed), frozenset(mapper.relationships.keys())
            )
            self._columns = columns
        return columns

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
