"""CrudService: the one write path. Validate, write, append to the change log; never commit.

Every create, update and delete of a declared resource, from the API, a template import, a channel or a
connector, goes through a service: its rules (the declaration's unique, immutable and soft-delete fields,
plus a family's own prepare_* hooks), then the write, then the change record, in the caller's transaction.
A guard (before_flush) refuses to flush a change to a declared entity that did not come this way.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, PlainValidator, WrapValidator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticSerializationError
from sqlalchemy import ColumnElement, String, Table, and_, event, func, insert, select, text, tuple_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from visitorhub.core import changelog
from visitorhub.core.db import Base, JsonText, as_utc, insert_rows, one_of, utcnow
from visitorhub.core.resource import REGISTRY, Unique, declared
from visitorhub.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    from visitorhub.core.resource import Resource

M = TypeVar("M", bound=Base)

_WRITTEN = "visitorhub.written"  # session.info: ids of the records the write path changed since the flush
_UNIQUE = "visitorhub.unique"  # session.info: unique keys looked up for a batch (see CrudService.batch)
_REFERENCED = "visitorhub.referenced"  # session.info: referenced keys looked up for a batch
CONTENT_HASH = "content_hash"  # core.db.ContentHashMixin
IN_LIST = 500  # values per IN (...) list: well under every backend's parameter limit


@dataclass(frozen=True)
class WriteContext:
    """Who is writing: the API key name, a template import, a channel..."""

    actor: str | None = None


class UnloggedWrite(RuntimeError):
    """A declared entity was changed outside the write path: its change would miss the change log."""


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

    @property
    def columns(self) -> list[str]:
        return [col for _attr, col in self.names]

    def tuples(self, records: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The INSERT values of records whose every column attribute is set, in the order of `columns`."""
        values = itemgetter(*[attr for attr, _col in self.names])
        return [values(obj.__dict__) for obj in records]

    def rows(self, records: Sequence[Any], without: str | None = None) -> list[dict[str, Any]]:
        """The INSERT parameters of records whose every column attribute is set (column -> value)."""
        names = [(attr, col) for attr, col in self.names if attr != without]
        columns = [col for _attr, col in names]
        values = itemgetter(*[attr for attr, _col in names])  # a tuple: a record has a key and dates at least
        return [dict(zip(columns, values(obj.__dict__), strict=True)) for obj in records]


def _validation_transforms(model: type[BaseModel]) -> bool:
    """Whether validating `model` may change a value (validators of its own), rather than only check it."""
    decorators = model.__pydantic_decorators__
    if decorators.field_validators or decorators.model_validators or decorators.validators:
        return True
    functional = (AfterValidator, BeforeValidator, PlainValidator, WrapValidator)
    return any(isinstance(mark, functional) for info in model.model_fields.values() for mark in info.metadata)


def _admits_none(annotation: Any) -> bool:
    return annotation is None or annotation is type(None) or type(None) in get_args(annotation)


def _unvalidated(
    model: type[BaseModel], data: dict[str, Any], fields_set: Collection[str] | None = None
) -> BaseModel:
    """An instance of `model` holding `data` as its field values, unvalidated, for its serializer (what
    model_construct makes, without its per-field work)."""
    shell = model.__new__(model)
    object.__setattr__(shell, "__dict__", data)
    object.__setattr__(shell, "__pydantic_fields_set__", set(data) if fields_set is None else fields_set)
    object.__setattr__(shell, "__pydantic_extra__", None)
    object.__setattr__(shell, "__pydantic_private__", None)
    return shell


@dataclass
class _UniqueLookups:
    """Unique keys looked up at once for a batch: valid until the next flush or insert."""

    checked: set[tuple[Any, ...]]
    taken: set[tuple[Any, ...]]


class CrudService(Generic[M]):
    """Writes one resource's records. A family with rules of its own subclasses it (prepare_* hooks)."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.model: type[M] = resource.model  # type: ignore[assignment]
        self.entity = resource.entity
        self.read = resource.read
        mapper = sa_inspect(self.model)
        self.pk_attr: str = mapper.primary_key[0].key or ""
        self._non_nullable = {attr.key for attr in mapper.column_attrs if not attr.columns[0].nullable}
        # The integer primary key the database numbers (None for client-chosen keys such as UUIDs).
        autoinc = mapper.primary_key[0].table.autoincrement_column
        self._autoinc_pk: str | None = (
            self.pk_attr if autoinc is not None and autoinc.key == self.pk_attr else None
        )
        self._manager = mapper.class_manager
        self._plain: frozenset[str] | None = None  # see _plain_columns
        self._columns: _InsertColumns | None = None  # see _insert_columns
        # The read schema's fields, when all of them are plain columns (see represent).
        columns = {attr.key for attr in mapper.column_attrs}
        fields = tuple(self.read.model_fields)
        self._read_columns: tuple[str, ...] | None = fields if columns.issuperset(fields) else None
        self._read_names = frozenset(fields)
        # Whether represent may serialise the column values without validating them first (see represent).
        self.serialises_directly = self._read_columns is not None and not _validation_transforms(self.read)
        # Fields that may not be null (validating a record without them fails: a pending one's defaults).
        self._never_null = tuple(
            name for name, info in self.read.model_fields.items() if not _admits_none(info.annotation)
        )
        getter = itemgetter(*self._never_null) if self._never_null else None
        # Their values in a dict of the fields, as a tuple (itemgetter of one name gives a value alone).
        self._never_null_values: Callable[[dict[str, Any]], tuple[Any, ...]] = (
            (lambda _data: ())
            if getter is None
            else (lambda data: (getter(data),))
            if len(self._never_null) == 1
            else getter
        )
        # core.db.ContentHashMixin: what a template import last wrote (cleared by every other write).
        self.hash_attr: str | None = CONTENT_HASH if CONTENT_HASH in columns else None

    def represent(self, obj: M) -> dict[str, Any]:
        """The API representation, as sent in responses and stored in the change log."""
        if self._read_columns is None:
            return self.read.model_validate(obj).model_dump(mode="json", by_alias=True)
        data = self._field_values(obj)
        shell = self._serialisable(data)
        if shell is not None:
            with contextlib.suppress(PydanticSerializationError):
                return self.read.__pydantic_serializer__.to_python(  # type: ignore[no-any-return]
                    shell, mode="json", by_alias=True, warnings="error"
                )
        return self.read.model_validate(data).model_dump(mode="json", by_alias=True)

    def represent_stored(self, obj: M) -> JsonText:
        """The representation as the change log stores it (changelog.encode_data: compact JSON, null fields
        left out). Where represent may serialise without validating, the read model's serializer writes
        that text itself: no representation dict, no second encoding."""
        if self._read_columns is not None:
            shell = self._serialisable(self._field_values(obj))
            if shell is not None:
                with contextlib.suppress(PydanticSerializationError):
                    text = self.read.__pydantic_serializer__.to_json(
                        shell, by_alias=True, exclude_none=True, warnings="error"
                    )
                    return JsonText(text.decode())
        return changelog.encode_data(self.represent(obj))

    def _field_values(self, obj: M) -> dict[str, Any]:
        """The read schema's fields (all columns: _read_columns) from the record, in the schema's order (a
        serializer writes a dict's keys in its order). The same validation as from the attributes, about
        three times faster: loaded values are read straight from the instance (getattr, which loads
        expired attributes and gives None for never-set ones, is only needed for the others)."""
        loaded = obj.__dict__
        names = self._read_columns or ()
        return {name: loaded[name] if name in loaded else getattr(obj, name) for name in names}

    def _serialisable(self, data: dict[str, Any]) -> BaseModel | None:
        """An unvalidated instance of the read model holding `data`, when its serializer may take the stored
        values as they are (no validator of the model's own, every never-null field present): twice as fast
        as validating first. A value of another type than its field's (which validation would convert)
        makes the serializer raise, and the caller takes the validating way."""
        if self.serialises_directly and None not in self._never_null_values(data):
            return _unvalidated(self.read, data, self._read_names)
        return None

    def entity_id(self, obj: M) -> Any:
        return getattr(obj, self.pk_attr)

    # Hooks: a family's own rules -------------------------------------------------------------------

    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        return values

    def prepare_update(
        self, session: Session, obj: M, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        return changes

    @contextmanager
    def batch(self, session: Session, candidates: Sequence[dict[str, Any]]) -> Iterator[None]:
        """For batch writers: inside the block, plan_create is called for records like `candidates` (the
        values a writer may create) with no flush in between, so the checks may answer their per-record
        lookups from a few queries made here, with the same answers: the declared unique fields are
        looked up once per rule and chunk, the referenced records once per reference. Skipped when the
        session autoflushes."""
        if session.autoflush or not candidates or not (self.resource.unique or self.resource.references):
            yield
            return
        self._look_up_references(session, candidates)
        lookups: dict[tuple[str, int], _UniqueLookups] = session.info.setdefault(_UNIQUE, {})
        for index, rule in enumerate(self.resource.unique):
            keys = {key for values in candidates if (key := self._unique_key(rule, values)) is not None}
            taken: set[tuple[Any, ...]] = set()
            columns = self._unique_columns(rule)
            key_list = list(keys)
            for start in range(0, len(key_list), IN_LIST):
                part = key_list[start : start + IN_LIST]
                if len(columns) == 1:
                    stmt = select(columns[0]).where(one_of(columns[0], [key[0] for key in part], session))
                else:
                    stmt = select(*columns).where(tuple_(*columns).in_(part))
                taken.update(tuple(row) for row in session.execute(stmt))
            lookups[(self.entity, index)] = _UniqueLookups(keys, taken)
        try:
            yield
        finally:
            for index in range(len(self.resource.unique)):
                lookups.pop((self.entity, index), None)
            session.info.pop(_REFERENCED, None)

    # Generic rules from the declaration --------------------------------------------------------------

    def _look_up_references(self, session: Session, candidates: Sequence[dict[str, Any]]) -> None:
        """The records a batch's values refer to, one query per referenced resource and 500 values."""
        found: dict[str, set[Any]] = session.info.setdefault(_REFERENCED, {})
        for api_field, target_name in self.resource.references.items():
            attr = self.resource.attributes[api_field]
            values = list({v for c in candidates if (v := c.get(attr)) is not None})
            target = declared()[target_name]
            column = getattr(target.model, target.key_attr)
            known = found.setdefault(target_name, set())
            for start in range(0, len(values), IN_LIST):
                known.update(
                    session.scalars(
                        select(column).where(one_of(column, values[start : start + IN_LIST], session))
                    )
                )

    def check_references(self, session: Session, values: dict[str, Any]) -> None:
        """422 naming the field when a value names no record of the resource it refers to."""
        for api_field, target_name in self.resource.references.items():
            value = values.get(self.resource.attributes[api_field])
            if value is None:
                continue
            known = session.info.get(_REFERENCED, {}).get(target_name)
            if known is not None and value in known:
                continue
            target = declared()[target_name]
            column = getattr(target.model, target.key_attr)
            if session.scalar(select(column).where(column == value)) is None:
                raise InvalidInput(
                    f"No {target.entity.lower()} has {target.key} '{value}'.",
                    field=api_field,
                    code="unknown_reference",
                )

    def _unique_key(self, rule: Unique, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """The values of a unique rule's fields as the lookup compares them (None: not all known)."""
        parts = []
        for name in rule.fields:
            value = values.get(self.resource.attributes[name])
            if isinstance(value, str) and rule.lower:
                value = value.lower()
            elif value is None:
                if not self._coalesced(name):
                    return None  # NULL equals nothing: no clash possible
                value = ""
            parts.append(value)
        return tuple(parts)

    def _coalesced(self, name: str) -> bool:
        """A nullable text field of a unique rule: null counts as '' (the index is on coalesce(col, ''))."""
        column = getattr(self.model, self.resource.attributes[name])
        return bool(column.nullable) and isinstance(column.type, String)

    def _unique_columns(self, rule: Unique) -> list[ColumnElement[Any]]:
        columns: list[ColumnElement[Any]] = []
        for name in rule.fields:
            column = getattr(self.model, self.resource.attributes[name])
            if rule.lower:
                columns.append(func.lower(column, type_=column.type))
            elif self._coalesced(name):
                columns.append(func.coalesce(column, ""))
            else:
                columns.append(column)
        return columns

    def check_unique(self, session: Session, values: dict[str, Any], own: M | None = None) -> None:
        """409 naming the field when another record holds the same values of a unique rule."""
        for index, rule in enumerate(self.resource.unique):
            if own is not None and not any(self.resource.attributes[f] in values for f in rule.fields):
                continue
            merged = values if own is None else {**self._values_of(own, rule), **values}
            key = self._unique_key(rule, merged)
            if key is None:
                continue
            lookups: _UniqueLookups | None = session.info.get(_UNIQUE, {}).get((self.entity, index))
            if own is None and lookups is not None and key in lookups.checked:
                taken = key in lookups.taken
            else:
                stmt = select(getattr(self.model, self.pk_attr)).where(
                    and_(*[col == part for col, part in zip(self._unique_columns(rule), key, strict=True)])
                )
                if own is not None:
                    stmt = stmt.where(getattr(self.model, self.pk_attr) != self.entity_id(own))
                taken = session.scalar(stmt.limit(1)) is not None
            if taken:
                raise self._clash(rule, merged)

    def _values_of(self, obj: M, rule: Unique) -> dict[str, Any]:
        return {self.resource.attributes[f]: getattr(obj, self.resource.attributes[f]) for f in rule.fields}

    def _clash(self, rule: Unique, values: dict[str, Any]) -> Conflict:
        shown = {name: values.get(self.resource.attributes[name]) for name in rule.fields}
        if rule.message:
            message = rule.message.format(**{k: "" if v is None else v for k, v in shown.items()})
        else:
            pairs = " and ".join(f"{name} {value}" for name, value in shown.items())
            message = f"A {self.entity} with {pairs} already exists."
        return Conflict(message, field=rule.field or rule.fields[-1], code="duplicate")

    def _derive(self, values: dict[str, Any]) -> dict[str, Any]:
        for attr, (source, compute) in self.resource.derived.items():
            if source in values:
                values[attr] = None if values[source] is None else compute(values[source])
        return values

    def _check_immutable(self, obj: M, changes: dict[str, Any]) -> None:
        for api_field in self.resource.immutable:
            attr = self.resource.attributes[api_field]
            if attr in changes:
                value = changes.pop(attr)
                if value is not None and not same_value(getattr(obj, attr), value):
                    raise InvalidInput(f"{api_field} cannot be changed.", field=api_field, code="immutable")

    # Write path ------------------------------------------------------------------------------------
    # create/update = plan (checks and derived values, may raise, changes nothing) + apply (changes the
    # session, cannot fail) + flush + change log. Batch writers (core.batch.WriteBatch) plan each record,
    # make new ones with new_record, apply updates, then write with one flush (updates) and one
    # insert_many per entity, and log it once, so a million rows do not cost a million flushes.

    def plan_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        values = self._derive(self.prepare_create(session, dict(values), ctx))
        self.check_references(session, values)
        self.check_unique(session, values)
        return values

    def apply_create(self, session: Session, values: dict[str, Any]) -> M:
        obj = self.new_record(values)
        session.add(obj)
        written(session, obj)
        return obj

    def new_record(self, values: dict[str, Any], now: datetime | None = None) -> M:
        """The new record for planned `values`, not yet in any session (apply_create adds it), created
        `now` (default: this instant)."""
        now = now or utcnow()
        plain = self._plain_columns()
        if plain.issuperset(values):
            # A new record's column values go straight into the instance: the INSERT reads them from there.
            # Same object as the constructor makes (a transient instance with its state), as the ORM makes
            # the instances it loads: without the constructor's init event and per-attribute work (events,
            # history; nothing here listens to them). Anything else (relationships, unknown names) takes the
            # constructor.
            obj = cast(M, self._manager.new_instance())
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
        changes = dict(changes)
        self._check_immutable(obj, changes)
        for key, value in changes.items():
            if value is None and key in self._non_nullable:
                raise InvalidInput(f"{to_camel(key)} cannot be null.", field=to_camel(key), code="null")
        changes = self._derive(self.prepare_update(session, obj, changes, ctx))
        diff = {k: v for k, v in changes.items() if not same_value(getattr(obj, k), v)}
        if diff:
            self.check_references(session, diff)
            self.check_unique(session, diff, own=obj)
        return diff

    def apply_update(self, session: Session, obj: M, diff: dict[str, Any]) -> None:
        for key, value in diff.items():
            setattr(obj, key, value)
        if self.hash_attr is not None and self.hash_attr not in diff:
            setattr(obj, self.hash_attr, None)  # the record no longer holds what an import last wrote
        obj.update_date = utcnow()  # type: ignore[attr-defined]
        written(session, obj)

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
                written(session, obj)
        session.flush()  # what the session holds (updates, records added above) goes first
        session.info.pop(_UNIQUE, None)  # as after a flush: new records make looked-up answers stale
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
        elif pk is not None and connection.dialect.name == "postgresql":
            self._number_from_sequence(connection, fast, pk)
        numbered = [obj for obj in fast if pk is None or obj.__dict__.get(pk) is not None]
        if numbered:
            table: Table = self.model.__table__  # type: ignore[assignment]
            insert_rows(connection, table, columns.columns, columns.tuples(numbered))
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
        lock (BEGIN IMMEDIATE), so it may number them itself as SQLite would (the largest key ever handed
        out + 1, + 2, ... in insertion order, as for an AUTOINCREMENT table), and the insert is one
        executemany (SQLite moves the table's sequence past explicit keys itself)."""
        unnumbered = [obj for obj in records if obj.__dict__.get(pk) is None]
        if not unnumbered:
            return
        chosen = [obj.__dict__[pk] for obj in records if obj.__dict__.get(pk) is not None]
        # AUTOINCREMENT (core.db.never_reuse_ids): the largest key ever handed out, even if deleted since.
        table = self.model.__table__.name  # type: ignore[attr-defined]
        ever = (
            select(text("seq"))
            .select_from(text("sqlite_sequence"))
            .where(text("name = :t"))
            .scalar_subquery()
        )
        largest = select(
            func.max(func.coalesce(ever, 0), func.coalesce(func.max(getattr(self.model, pk)), 0))
        )
        top = max([session.scalar(largest, {"t": table}) or 0, *chosen])
        for offset, obj in enumerate(unnumbered, start=1):
            obj.__dict__[pk] = top + offset

    def _number_from_sequence(self, connection: Connection, records: list[M], pk: str) -> None:
        """PostgreSQL: give new records keys from their table's sequence, one query for them all, so that
        they are written with COPY like the others (insertmanyvalues with RETURNING, which the database
        numbering needs, costs about twice the time and three times the client's CPU). The keys are the
        database's own: the sequence hands each out once, whoever asks."""
        unnumbered = [obj for obj in records if obj.__dict__.get(pk) is None]
        if not unnumbered:
            return
        table: Table = self.model.__table__  # type: ignore[assignment]
        preparer = connection.dialect.identifier_preparer
        keys = connection.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%(table)s, %(column)s)) FROM generate_series(1, %(n)s)",
            {"table": preparer.format_table(table), "column": table.c[pk].name, "n": len(unnumbered)},
        ).scalars()
        for obj, key in zip(unnumbered, keys, strict=True):
            obj.__dict__[pk] = key

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

    def log(self, session: Session, entries: Sequence[tuple[str, M]]) -> None:
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
        self.log(session, [("create", obj)])
        return obj

    def update(
        self, session: Session, obj: M, changes: dict[str, Any], ctx: WriteContext | None = None
    ) -> bool:
        """Apply `changes`; returns False, and writes nothing, when no value differs."""
        diff = self.plan_update(session, obj, changes, ctx or WriteContext())
        if not diff:
            return False
        self.apply_update(session, obj, diff)
        session.flush()
        self.log(session, [("update", obj)])
        return True

    def delete(self, session: Session, obj: M, ctx: WriteContext | None = None) -> None:
        """Soft-delete (a declared deletion date is set; a second delete changes nothing) or delete."""
        attr = self.resource.soft_delete_attr
        if attr is None:
            self.purge(session, obj, ctx)
            return
        if getattr(obj, attr) is not None:
            return
        now = utcnow()
        setattr(obj, attr, now)
        if self.hash_attr is not None:
            setattr(obj, self.hash_attr, None)
        obj.update_date = now  # type: ignore[attr-defined]
        written(session, obj)
        session.flush()
        self.log(session, [("delete", obj)])

    def purge(self, session: Session, obj: M, ctx: WriteContext | None = None) -> None:
        """Delete the record for good, with the records that hang from it (each through its own service,
        so every deletion reaches the change log)."""
        ctx = ctx or WriteContext()
        key = getattr(obj, self.resource.key_attr) if self.resource.key else self.entity_id(obj)
        for child in self.resource.children:
            link = getattr(child.model, child.parent_attr or "")
            for record in session.scalars(select(child.model).where(link == key)):
                child.service.purge(session, record, ctx)
        data = self.represent(obj)
        entity_id = self.entity_id(obj)
        session.delete(obj)
        written(session, obj)
        session.flush()
        changelog.append(session, self.entity, entity_id, "delete", data)


def written(session: Session, obj: Any) -> None:
    """Note that the write path changed `obj` (the guard lets it through the next flush)."""
    session.info.setdefault(_WRITTEN, set()).add(id(obj))


@event.listens_for(Session, "before_flush")
def _refuse_unlogged_writes(session: Session, _context: Any, _instances: Any) -> None:
    """Nothing that changes a declared entity may skip the change log: a record added, changed or deleted
    other than through a service stops the flush (and so the transaction)."""
    models = {resource.model for resource in REGISTRY.values()}
    seen: set[int] = session.info.get(_WRITTEN, set())
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        if (
            type(obj) in models
            and id(obj) not in seen
            and (obj not in session.dirty or session.is_modified(obj))
        ):
            raise UnloggedWrite(
                f"{type(obj).__name__} changed outside its service: the change would miss the change log"
            )


@event.listens_for(Session, "after_flush")
def _forget_writes(session: Session, _context: Any) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_UNIQUE, None)  # a flush may add records: looked-up unique keys no longer hold
