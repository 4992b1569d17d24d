"""Run templates: import rows through the services (simulate, verbose, stopOnError), export rows since a date.

Imports work in chunks: rows are extracted and validated in Python, existing records are fetched with one
query per entity and chunk, each row is planned (service checks, may fail) then applied (cannot fail), and
the chunk is flushed and logged once. A database error on flush replays that chunk row by row, each in its
own savepoint, so a row is still applied entirely or not at all.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, CompoundSelect, Dialect, Select, Uuid, cast, func, select, tuple_, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from visitorhub.core import changelog
from visitorhub.core.service import WriteContext
from visitorhub.errors import AppError
from visitorhub.integration.templates.entities import (
    ENTITIES,
    TemplateEntity,
    parent_id_type,
    partial_model,
    split_defaults,
)
from visitorhub.integration.templates.spec import Template
from visitorhub.integration.templates.transforms import Pipeline, TransformFailed, get_path
from visitorhub.models import ChangeLogEntry


@dataclass
class ImportOptions:
    simulate: bool = False
    verbose: bool = False
    stop_on_error: bool = False
    chunk_size: int = 500


@dataclass
class ImportReport:
    simulate: bool
    stop_on_error: bool
    stopped: bool = False
    processed: int = 0
    failed: int = 0
    summary: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    operations: list[dict[str, Any]] | None = None

    def count(self, entity: str, operation: str) -> None:
        counts = self.summary.setdefault(entity, {"inserted": 0, "updated": 0, "unchanged": 0})
        counts[{"insert": "inserted", "update": "updated", "unchanged": "unchanged"}[operation]] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "simulate": self.simulate,
            "stopOnError": self.stop_on_error,
            "stopped": self.stopped,
            "processed": self.processed,
            "failed": self.failed,
            "summary": self.summary,
            "errors": self.errors,
            "operations": self.operations or [],
        }


class RowError(Exception):
    def __init__(self, entity: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.entity = entity
        self.field = field
        self.message = message


@dataclass
class _FieldPlan:
    source: str
    api_field: str
    attr: str
    pipeline: Pipeline | None


@dataclass
class _EntityPlan:
    """A template's entity map, compiled once."""

    entity: TemplateEntity
    insert: bool
    update: bool
    key: list[str]
    key_attrs: list[str]
    fields: list[_FieldPlan]
    defaults: dict[str, Any]
    parent_index: int | None
    parent_attr: str | None
    required: set[str]
    create_defaults: dict[str, Any]
    # Attributes whose key values match case-insensitively (TemplateEntity.match_lower).
    folded: frozenset[str] = frozenset()

    def fold(self, attr: str, value: Any) -> Any:
        return value.lower() if attr in self.folded and isinstance(value, str) else value

    def column(self, attr: str) -> Any:
        column = getattr(self.entity.service.model, attr)
        return func.lower(column) if attr in self.folded else column

    def source_of(self, attr: str) -> str:
        for f in self.fields:
            if f.attr == attr:
                return f.source
        return next(
            (info.alias or name for name, info in self.entity.create.model_fields.items() if name == attr),
            attr,
        )


def compile_template(template: Template) -> list[_EntityPlan]:
    plans: list[_EntityPlan] = []
    for emap in template.entities:
        entity = ENTITIES[emap.type]
        fields = [
            _FieldPlan(
                f.source,
                f.field,
                entity.attribute(f.field),
                Pipeline([(t.name, t.args) for t in f.transforms]) if f.transforms else None,
            )
            for f in emap.fields
        ]
        parent_index = next(
            (i for i, p in enumerate(plans) if entity.parent and p.entity.name == entity.parent), None
        )
        defaults = {}
        own_defaults, parent_default = split_defaults(entity, emap.defaults)
        if own_defaults:
            validated = partial_model(entity).model_validate(own_defaults)
            defaults = validated.model_dump(exclude_unset=True)
        if parent_default is not None and entity.parent_field:
            defaults[entity.attribute(entity.parent_field)] = parent_id_type(entity).validate_python(
                parent_default
            )
        create_fields = entity.create.model_fields
        plans.append(
            _EntityPlan(
                entity=entity,
                insert=emap.insert,
                update=emap.update,
                key=list(emap.key),
                key_attrs=[entity.attribute(k) for k in emap.key],
                fields=fields,
                defaults=defaults,
                parent_index=parent_index,
                parent_attr=entity.attribute(entity.parent_field) if entity.parent_field else None,
                required={name for name, info in create_fields.items() if info.is_required()},
                create_defaults={
                    name: info.get_default(call_default_factory=True)
                    for name, info in create_fields.items()
                    if not info.is_required()
                },
                folded=frozenset(entity.attribute(name) for name in entity.match_lower),
            )
        )
    return plans


def _extract(plan: _EntityPlan, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The row's values for one entity (attribute names, validated types); absent and empty cells skipped.

    None when the entity hangs from another entity of the row and none of its mapped cells has a value:
    a visitor row without a vehicle touches no vehicle (defaults alone do not make one).
    """
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for f in plan.fields:
        value = get_path(row, f.source)
        if f.pipeline is not None:
            try:
                value = f.pipeline(value, row)
            except TransformFailed as exc:
                raise RowError(plan.entity.name, f.source, f"{f.source}: {exc}") from None
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        raw[f.api_field] = value
        sources[f.api_field] = f.source
    if not raw and plan.fields and plan.parent_index is not None:
        return None
    parent_field = plan.entity.parent_field
    parent_value = raw.pop(parent_field) if parent_field and parent_field in raw else None
    try:
        values = partial_model(plan.entity).model_validate(raw).model_dump(exclude_unset=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        api_field = str(err["loc"][0]) if err["loc"] else None
        where = sources.get(api_field or "", api_field)
        raise RowError(
            plan.entity.name, where, f"{where}: {err['msg']} (got {raw.get(api_field or '')!r})"
        ) from None
    # Defaults fill a new record's gaps; on an existing record only key defaults count (for matching),
    # so a default never overwrites stored data.
    for attr in [*plan.key_attrs, plan.parent_attr]:
        if attr in plan.defaults:
            values.setdefault(attr, plan.defaults[attr])
    if parent_value is not None and plan.parent_attr:
        try:
            values[plan.parent_attr] = parent_id_type(plan.entity).validate_python(parent_value)
        except ValidationError:
            where = sources[plan.entity.parent_field or ""]
            raise RowError(
                plan.entity.name, where, f"{where}: {parent_value!r} is not a valid {plan.entity.parent} id"
            ) from None
    return values


class _Importer:
    def __init__(
        self, session: Session, template: Template, options: ImportOptions, ctx: WriteContext
    ) -> None:
        self.session = session
        self.template = template
        self.plans = compile_template(template)
        self.options = options
        self.ctx = ctx
        self.report = ImportReport(simulate=options.simulate, stop_on_error=options.stop_on_error)
        if options.verbose:
            self.report.operations = []

    # Matching ----------------------------------------------------------------------------------------

    def _key(self, plan: _EntityPlan, values: Mapping[str, Any], parent_id: Any) -> tuple[Any, ...] | None:
        if not plan.key_attrs:
            return None
        parts = [values.get(attr) for attr in plan.key_attrs]
        if None in parts:
            missing = [plan.source_of(a) for a, v in zip(plan.key_attrs, parts, strict=True) if v is None]
            raise RowError(plan.entity.name, missing[0], f"{', '.join(missing)}: key value missing")
        if plan.folded:
            parts = [plan.fold(attr, value) for attr, value in zip(plan.key_attrs, parts, strict=True)]
        return (parent_id, *parts) if plan.parent_attr else tuple(parts)

    def _prefetch(self, plan: _EntityPlan, keys: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], Any]:
        """Existing records by key, in one query (chunked to stay under parameter limits)."""
        found: dict[tuple[Any, ...], Any] = {}
        if not keys:
            return found
        model = plan.entity.service.model
        attrs = ([plan.parent_attr] if plan.parent_attr else []) + plan.key_attrs
        columns = [plan.column(a) for a in attrs]
        key_list = list(keys)
        for start in range(0, len(key_list), 500):
            part = key_list[start : start + 500]
            stmt: Select[Any]
            if len(columns) == 1:
                stmt = select(model).where(columns[0].in_([k[0] for k in part]))
            else:
                stmt = select(model).where(tuple_(*columns).in_(part))
            for obj in self.session.scalars(stmt):
                found.setdefault(tuple(plan.fold(a, getattr(obj, a)) for a in attrs), obj)
        return found

    def _existing(
        self, extracted: list[tuple[int, list[dict[str, Any] | None] | RowError]]
    ) -> dict[int, dict[tuple[Any, ...], Any]]:
        """Existing records a chunk may match: one query per entity, whatever the chunk size.

        Entities keyed on their own are looked up by the rows' keys; children of a row's parent entity are
        all the children of the parents found, keyed by (parent id, key).
        """
        existing: dict[int, dict[tuple[Any, ...], Any]] = {}
        for i, plan in enumerate(self.plans):
            if not plan.key_attrs:
                existing[i] = {}
                continue
            if plan.parent_index is None:
                keys = set()
                for _index, values in extracted:
                    own = values[i] if isinstance(values, list) else None
                    if own is not None:
                        parent_id = own.get(plan.parent_attr) if plan.parent_attr else None
                        try:
                            key = self._key(plan, own, parent_id)
                        except RowError:
                            continue
                        if key is not None:
                            keys.add(key)
                existing[i] = self._prefetch(plan, keys)
                continue
            parent_service = self.plans[plan.parent_index].entity.service
            parent_ids = [parent_service.entity_id(obj) for obj in existing[plan.parent_index].values()]
            existing[i] = self._children_of(plan, parent_ids)
        return existing

    def _children_of(self, plan: _EntityPlan, parent_ids: list[Any]) -> dict[tuple[Any, ...], Any]:
        found: dict[tuple[Any, ...], Any] = {}
        model = plan.entity.service.model
        assert plan.parent_attr
        attrs = [plan.parent_attr, *plan.key_attrs]
        parent_col = getattr(model, plan.parent_attr)
        for start in range(0, len(parent_ids), 500):
            stmt = select(model).where(parent_col.in_(parent_ids[start : start + 500]))
            for obj in self.session.scalars(stmt):
                found.setdefault(tuple(plan.fold(a, getattr(obj, a)) for a in attrs), obj)
        return found

    # One chunk ---------------------------------------------------------------------------------------

    def run(
        self,
        rows: Iterable[Mapping[str, Any]],
        progress: Callable[[int], None] | None,
        checkpoint: Callable[[], None] | None,
    ) -> ImportReport:
        outer = self.session.begin_nested() if self.options.simulate else None
        try:
            for chunk in _chunks(enumerate(rows), self.options.chunk_size):
                stop = self._chunk(chunk)
                if progress:
                    progress(len(chunk))
                if stop:
                    self.report.stopped = True
                    break
                self.session.expunge_all()
                if checkpoint and not self.options.simulate:
                    checkpoint()
        finally:
            if outer is not None:
                outer.rollback()
        return self.report

    def _chunk(self, chunk: list[tuple[int, Mapping[str, Any]]]) -> bool:
        savepoint = self.session.begin_nested()
        outcome = _ChunkOutcome()
        try:
            stop = self._rows(chunk, outcome, per_row=False)
            self._flush_and_log(outcome)
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            self.session.expunge_all()
            outcome = _ChunkOutcome()
            stop = self._rows(chunk, outcome, per_row=True)
        self._merge(outcome)
        return stop

    def _rows(
        self, chunk: list[tuple[int, Mapping[str, Any]]], outcome: _ChunkOutcome, per_row: bool
    ) -> bool:
        extracted: list[tuple[int, list[dict[str, Any] | None] | RowError]] = []
        for index, row in chunk:
            try:
                extracted.append((index, [_extract(plan, row) for plan in self.plans]))
            except RowError as exc:
                extracted.append((index, exc))
        existing = self._existing(extracted)
        pending: dict[int, dict[tuple[Any, ...], _Operation]] = {i: {} for i in range(len(self.plans))}
        with contextlib.ExitStack() as batches:
            if not per_row:  # per row, each row is flushed before the next one is planned
                self._enter_batches(batches, extracted, existing)
            for index, values in extracted:
                savepoint = self.session.begin_nested() if per_row else None
                try:
                    if isinstance(values, RowError):
                        raise values
                    ops = self._plan_row(values, existing, pending)
                    for op in ops:
                        op.apply(self.session, batch=not per_row)
                    if savepoint is not None:
                        row_outcome = _ChunkOutcome()
                        row_outcome.rows.append((index, ops))
                        self._flush_and_log(row_outcome)
                        savepoint.commit()
                        outcome.rows.extend(row_outcome.rows)
                        outcome.logged = True
                    else:
                        outcome.rows.append((index, ops))
                except (RowError, IntegrityError) as exc:
                    if savepoint is not None:
                        savepoint.rollback()
                    outcome.failures.append((index, _as_row_error(exc, self.plans)))
                    if self.options.stop_on_error:
                        return True
        return False

    def _enter_batches(
        self,
        stack: contextlib.ExitStack,
        extracted: list[tuple[int, list[dict[str, Any] | None] | RowError]],
        existing: dict[int, dict[tuple[Any, ...], Any]],
    ) -> None:
        """Let each service look up, once for the chunk, what its create checks would look up per record
        (CrudService.batch), for the rows that may create one (those whose key matched nothing)."""
        for i, plan in enumerate(self.plans):
            if not plan.insert:
                continue
            candidates: list[dict[str, Any]] = []
            for _index, values in extracted:
                own = values[i] if isinstance(values, list) else None
                if own is None:
                    continue
                if plan.parent_index is None and plan.key_attrs:
                    try:
                        key = self._key(plan, own, own.get(plan.parent_attr) if plan.parent_attr else None)
                    except RowError:
                        continue
                    if key in existing[i]:
                        continue
                candidates.append(own)
            if candidates:
                stack.enter_context(plan.entity.service.batch(self.session, candidates))

    def _plan_row(
        self,
        row_values: list[dict[str, Any] | None],
        existing: dict[int, dict[tuple[Any, ...], Any]],
        pending: dict[int, dict[tuple[Any, ...], _Operation]],
    ) -> list[_Operation]:
        ops: list[_Operation] = []
        resolved: list[Any] = []
        registrations: list[tuple[int, tuple[Any, ...], Any]] = []
        for i, plan in enumerate(self.plans):
            given = row_values[i]
            if given is None:
                resolved.append(None)  # the row has no values for this entity: nothing to do
                continue
            values = dict(given)
            service = plan.entity.service
            parent_id = None
            if plan.parent_attr:
                if plan.parent_index is not None:
                    parent = resolved[plan.parent_index]
                    if parent is None:
                        parent_name = self.plans[plan.parent_index].entity.name
                        raise RowError(
                            plan.entity.name,
                            None,
                            f"the row has {plan.entity.name} values but no {parent_name}",
                        )
                    parent_id = parent.obj_id if isinstance(parent, _Operation) else None
                    values[plan.parent_attr] = parent_id
                else:
                    parent_id = values.get(plan.parent_attr)
                    if parent_id is None:
                        raise RowError(plan.entity.name, plan.entity.parent_field, "parent id missing")
            key = self._key(plan, values, parent_id)
            match = None
            if key is not None:
                earlier = pending[i].get(key)
                match = earlier.target if earlier is not None else existing[i].get(key)
            try:
                if match is not None:
                    if plan.update:
                        changes = {k: v for k, v in values.items() if k != plan.parent_attr}
                        diff = service.plan_update(self.session, match, changes, self.ctx)
                    else:
                        diff = {}
                    op = _Operation(plan, "update" if diff else "unchanged", match, diff, key)
                elif plan.insert:
                    values = {**{k: v for k, v in plan.defaults.items() if k not in values}, **values}
                    missing = [a for a in plan.required if a not in values]
                    if missing:
                        source = plan.source_of(missing[0])
                        raise RowError(
                            plan.entity.name,
                            source,
                            f"{source}: required to create a "
                            f"{plan.entity.name}, but the row has no value and no default",
                        )
                    full = {**{k: v for k, v in plan.create_defaults.items() if k not in values}, **values}
                    op = _Operation(
                        plan, "insert", None, service.plan_create(self.session, full, self.ctx), key
                    )
                else:
                    shown = dict(zip(plan.key, key[-len(plan.key) :] if key else (), strict=False))
                    raise RowError(
                        plan.entity.name,
                        plan.source_of(plan.key_attrs[0]) if plan.key_attrs else None,
                        f"no {plan.entity.name} matches {shown}, and the template does not insert "
                        f"{plan.entity.name} records",
                    )
            except AppError as exc:
                attr = _attr_of(plan, exc.field)
                where = plan.source_of(attr) if attr else None
                raise RowError(
                    plan.entity.name, where, f"{where + ': ' if where else ''}{exc.message}"
                ) from None
            ops.append(op)
            resolved.append(op)
            if key is not None:
                registrations.append((i, key, op))
        for i, key, op in registrations:
            pending[i][key] = op  # its target exists once the row is applied, before the next row
        return ops

    def _flush_and_log(self, outcome: _ChunkOutcome) -> None:
        if outcome.logged:
            return
        # Updates first (the flush), then each entity's new records in the template's order, parents
        # before their children: one executemany per entity (new records were made by new_record).
        new: dict[int, list[Any]] = {id(plan): [] for plan in self.plans}
        for _index, ops in outcome.rows:
            for op in ops:
                if op.operation == "insert" and not op.added:
                    new[id(op.plan)].append(op.target)
        self.session.flush()
        for plan in self.plans:
            plan.entity.service.insert_many(self.session, new[id(plan)])
        entries = []
        for _index, ops in outcome.rows:
            for op in ops:
                if op.operation in ("insert", "update"):
                    service = op.plan.entity.service
                    obj = op.target
                    entries.append(
                        {
                            "entity": service.entity,
                            "entity_id": service.entity_id(obj),
                            "operation": "create" if op.operation == "insert" else "update",
                            "data": service.represent(obj),
                        }
                    )
        changelog.append_many(self.session, entries)

    def _merge(self, outcome: _ChunkOutcome) -> None:
        report = self.report
        failures = dict(outcome.failures)
        results = dict(outcome.rows)
        for index in sorted({*failures, *results}):
            report.processed += 1
            if index in failures:
                error = failures[index]
                report.failed += 1
                report.errors.append({"index": index, "field": error.field, "message": error.message})
                if report.operations is not None:
                    report.operations.append(
                        {
                            "index": index,
                            "entity": error.entity,
                            "operation": "failed",
                            "key": None,
                            "id": None,
                        }
                    )
                continue
            for op in results[index]:
                report.count(op.plan.entity.name, op.operation)
                if report.operations is not None:
                    report.operations.append(op.describe(index))


@dataclass
class _Operation:
    plan: _EntityPlan
    operation: str
    target: Any
    values: dict[str, Any]
    key: tuple[Any, ...] | None
    added: bool = False  # an insert's new record is in the session (flushed with it)

    @property
    def obj_id(self) -> Any:
        if self.target is not None:
            return self.plan.entity.service.entity_id(self.target)
        # A new root's id is chosen before insert (visitorId); children reference it.
        pk = self.plan.entity.service.pk_attr
        return self.values.get(pk)

    def apply(self, session: Session, batch: bool) -> None:
        """Change the session (an update), or make the new record: added to the session, or, in `batch`,
        left for the batch's insert_many."""
        service = self.plan.entity.service
        if self.operation == "insert":
            if batch:
                self.target = service.new_record(self.values)
            else:
                self.target = service.apply_create(session, self.values)
                self.added = True
        elif self.operation == "update":
            service.apply_update(self.target, self.values)

    def describe(self, index: int) -> dict[str, Any]:
        key = None
        if self.key is not None:
            key = dict(zip(self.plan.key, [_plain(v) for v in self.key[-len(self.plan.key) :]], strict=True))
        return {
            "index": index,
            "entity": self.plan.entity.name,
            "operation": self.operation,
            "key": key,
            "id": _plain(self.obj_id),
        }


@dataclass
class _ChunkOutcome:
    rows: list[tuple[int, list[_Operation]]] = field(default_factory=list)
    failures: list[tuple[int, RowError]] = field(default_factory=list)
    logged: bool = False


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _attr_of(plan: _EntityPlan, api_field: str | None) -> str | None:
    if api_field is None:
        return None
    try:
        return plan.entity.attribute(api_field)
    except KeyError:
        return None


def _as_row_error(exc: Exception, plans: list[_EntityPlan]) -> RowError:
    if isinstance(exc, RowError):
        return exc
    return RowError(
        plans[0].entity.name,
        None,
        "the row conflicts with existing data (a value that must be unique is already used, "
        "or a referenced record does not exist)",
    )


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def run_import(
    session: Session,
    template: Template,
    rows: Iterable[Mapping[str, Any]],
    options: ImportOptions | None = None,
    ctx: WriteContext | None = None,
    progress: Callable[[int], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> ImportReport:
    """Import `rows` (streamed) through an `in` template. `checkpoint` is called after each applied chunk
    (the CLI commits there, so a file of millions of rows does not live in one transaction)."""
    if template.direction != "in":
        raise ValueError(f"template {template.name} is an export template")
    importer = _Importer(session, template, options or ImportOptions(), ctx or WriteContext())
    with _batch_collections():
        return importer.run(rows, progress, checkpoint)


class _CollectionThreshold:
    """While imports run, the cyclic garbage collector looks at new objects every `first` allocations.

    An import allocates a few dozen containers per row (rows, values, records, parameters), nearly all freed
    by reference counting within its chunk. At Python's default (a young-generation pass every 700
    allocations) the collector runs every few rows and promotes each chunk's live objects to the older
    generations, whose passes then rescan them and the whole process heap: over a tenth of an import's
    time. A rarer young pass lets most of them die before it. The threshold is process-wide: the first
    import to start raises it, the last to end restores it.
    """

    def __init__(self, first: int) -> None:
        self.first = first
        self._lock = threading.Lock()
        self._users = 0
        self._saved: tuple[int, int, int] | None = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._saved = gc.get_threshold()
                first, second, third = self._saved
                gc.set_threshold(max(first, self.first), second, third)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._saved is not None:
                    gc.set_threshold(*self._saved)
                    self._saved = None


_batch_collections = _CollectionThreshold(10_000)


# Export -------------------------------------------------------------------------------------------------


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


class InvalidCursor(ValueError):
    """A cursor this engine did not hand out (or one of another template's root entity)."""


def decode_cursor(cursor: str) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise InvalidCursor(f"'{cursor}' is not a cursor returned by a previous page") from None


def _set_path(out: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    current = out
    for part in parts[:-1]:
        current = current.setdefault(part, {})
    current[parts[-1]] = value


def export_fields(plan: _EntityPlan, representation: dict[str, Any] | None, row: dict[str, Any]) -> None:
    """Write one entity's mapped fields into an outside row: each outside name (dotted paths nest) gets
    the API field through the export transforms; no representation (a missing child) gives nulls."""
    for f in plan.fields:
        value = representation.get(f.api_field) if representation else None
        if f.pipeline is not None and representation is not None:
            value = f.pipeline(value, representation, export=True)
        _set_path(row, f.source, value)


def _changed_since(session: Session, plans: list[_EntityPlan], since: datetime) -> CompoundSelect[Any]:
    """The ids of the root records whose row changed after `since`: the root or one of its children was
    created or updated after it (update dates), or one of its children was deleted after it (a deleted
    record is gone, but its delete record in the change log holds its last API representation, parent id
    included). One id list the database builds once per page: a page costs the changes since `since`,
    not a scan of the root table."""
    root = plans[0].entity.service.model
    pk = getattr(root, plans[0].entity.service.pk_attr)
    parts: list[Select[Any]] = [select(pk).where(root.update_date > since)]
    # Every change record after `since` has a seq >= the smallest of theirs: with it, the (entity, seq)
    # index bounds each entity's search to the records since then (None: no change at all since then).
    first_seq = session.scalar(select(func.min(ChangeLogEntry.seq)).where(ChangeLogEntry.occurred_at > since))
    dialect = session.get_bind().dialect
    for plan in plans[1:]:
        child = plan.entity.service.model
        assert plan.parent_attr
        assert plan.entity.parent_field
        parts.append(select(getattr(child, plan.parent_attr)).where(child.update_date > since))
        if first_seq is not None:
            parent_id = ChangeLogEntry.data[plan.entity.parent_field]
            parts.append(
                select(_as_stored(parent_id, pk, dialect)).where(
                    ChangeLogEntry.entity == plan.entity.service.entity,
                    ChangeLogEntry.seq >= first_seq,
                    ChangeLogEntry.occurred_at > since,
                    ChangeLogEntry.operation == "delete",
                )
            )
    return union(*parts)


def _as_stored(value: Any, column: Any, dialect: Dialect) -> ColumnElement[Any]:
    """A value of a JSON column (an id, as the API represents it) as `column` stores it, so that the
    database compares the two itself."""
    text = value.as_string()
    column_type = column.type
    if isinstance(column_type, Uuid) and not (column_type.native_uuid and dialect.supports_native_uuid):
        # Without a native type, SQLAlchemy stores a UUID as its 32 hex digits, without dashes.
        return func.replace(text, "-", "")
    return cast(text, column_type)


def export_page(
    session: Session, template: Template, since: datetime | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows shaped by an `out` template, and the cursor of the next page (None at the end).

    Rows follow the root entity (the template's first); each child entity adds one row per child record
    (like a left join). A row counts as changed since `since` when the root or any of its children was
    created, updated or deleted after it.
    """
    plans = compile_template(template)
    root = plans[0].entity
    model = root.service.model
    pk_name = root.service.pk_attr
    pk = getattr(model, pk_name)
    stmt = select(model)
    if since is not None:
        stmt = stmt.where(pk.in_(_changed_since(session, plans, since)))
    if cursor:
        after = decode_cursor(cursor)
        python_type = pk.type.python_type
        try:
            stmt = stmt.where(pk > python_type(after))
        except (ValueError, TypeError):
            raise InvalidCursor(f"'{cursor}' is not a cursor returned by a previous page") from None
    roots = list(session.scalars(stmt.order_by(pk).limit(limit)))
    ids = [getattr(r, pk_name) for r in roots]
    children: list[dict[Any, list[dict[str, Any]]]] = []
    for plan in plans[1:]:
        child_model = plan.entity.service.model
        assert plan.parent_attr
        grouped: dict[Any, list[dict[str, Any]]] = {}
        if ids:
            parent_col = getattr(child_model, plan.parent_attr)
            child_pk = getattr(child_model, plan.entity.service.pk_attr)
            for obj in session.scalars(select(child_model).where(parent_col.in_(ids)).order_by(child_pk)):
                grouped.setdefault(getattr(obj, plan.parent_attr), []).append(
                    plan.entity.service.represent(obj)
                )
        children.append(grouped)
    rows: list[dict[str, Any]] = []
    for obj in roots:
        root_rep = root.service.represent(obj)
        options: list[list[dict[str, Any] | None]] = [
            list(group.get(getattr(obj, pk_name), [])) or [None] for group in children
        ]
        combos = itertools.product(*options)
        for combo in combos:
            row: dict[str, Any] = {}
            for plan, rep in zip(plans, (root_rep, *combo), strict=True):
                export_fields(plan, rep, row)
            rows.append(row)
    next_cursor = encode_cursor(ids[-1]) if len(roots) == limit and ids else None
    return rows, next_cursor
