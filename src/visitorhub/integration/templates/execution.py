"""Run an import: rows through a template's plans into the one write path, chunk by chunk.

Rows are extracted and validated in Python, existing records are fetched with one query per entity and
chunk, each row is planned (service checks, may fail) then handed to the chunk's WriteBatch, which writes
the chunk at once. A database error while writing replays that chunk row by row, each in its own
savepoint, so a row is still applied entirely or not at all.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from visitorhub.core.batch import WriteBatch, bulk_collections
from visitorhub.core.service import WriteContext
from visitorhub.errors import AppError
from visitorhub.integration.templates.planning import (
    EntityPlan,
    RowError,
    compile_template,
    extract,
)
from visitorhub.integration.templates.report import ImportReport
from visitorhub.integration.templates.spec import Template


@dataclass
class ImportOptions:
    simulate: bool = False
    verbose: bool = False
    stop_on_error: bool = False
    chunk_size: int = 500


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

    # Matching ----------------------------------------------------------------------------------------

    def _key(self, plan: EntityPlan, values: Mapping[str, Any], parent_id: Any) -> tuple[Any, ...] | None:
        if not plan.key_attrs:
            return None
        parts = [values.get(attr) for attr in plan.key_attrs]
        if None in parts:
            missing = [plan.source_of(a) for a, v in zip(plan.key_attrs, parts, strict=True) if v is None]
            raise RowError(plan.entity.entity, missing[0], f"{', '.join(missing)}: key value missing")
        if plan.folded:
            parts = [plan.fold(attr, value) for attr, value in zip(plan.key_attrs, parts, strict=True)]
        return (parent_id, *parts) if plan.parent_attr else tuple(parts)

    def _prefetch(self, plan: EntityPlan, keys: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], Any]:
        """Existing records by key, in one query (chunked to stay under parameter limits)."""
        found: dict[tuple[Any, ...], Any] = {}
        if not keys:
            return found
        model = plan.entity.model
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

    def _children_of(self, plan: EntityPlan, parent_ids: list[Any]) -> dict[tuple[Any, ...], Any]:
        found: dict[tuple[Any, ...], Any] = {}
        model = plan.entity.model
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
            batch = WriteBatch(self.session, self.ctx)
            stop = self._rows(chunk, outcome, batch)
            batch.write()
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            self.session.expunge_all()
            outcome = _ChunkOutcome()
            stop = self._rows(chunk, outcome, None)
        self._merge(outcome)
        return stop

    def _rows(
        self, chunk: list[tuple[int, Mapping[str, Any]]], outcome: _ChunkOutcome, batch: WriteBatch | None
    ) -> bool:
        """Plan and apply each row: into `batch` (written by the caller for the whole chunk), or, without
        one, each row written on its own in a savepoint (so a database error fails that row only)."""
        extracted: list[tuple[int, list[dict[str, Any] | None] | RowError]] = []
        for index, row in chunk:
            try:
                extracted.append((index, [extract(plan, row) for plan in self.plans]))
            except RowError as exc:
                extracted.append((index, exc))
        existing = self._existing(extracted)
        pending: dict[int, dict[tuple[Any, ...], _Operation]] = {i: {} for i in range(len(self.plans))}
        with contextlib.ExitStack() as lookups:
            if batch is not None:  # row by row, each row is written before the next one is planned
                self._enter_batches(lookups, extracted, existing)
            for index, values in extracted:
                savepoint = self.session.begin_nested() if batch is None else None
                try:
                    if isinstance(values, RowError):
                        raise values
                    ops = self._plan_row(values, existing, pending)
                    row_batch = batch if batch is not None else WriteBatch(self.session, self.ctx)
                    for op in ops:
                        op.apply(row_batch)
                    if savepoint is not None:
                        row_batch.write()
                        savepoint.commit()
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
                        parent_name = self.plans[plan.parent_index].entity.entity
                        raise RowError(
                            plan.entity.entity,
                            None,
                            f"the row has {plan.entity.entity} values but no {parent_name}",
                        )
                    parent_id = parent.obj_id if isinstance(parent, _Operation) else None
                    values[plan.parent_attr] = parent_id
                else:
                    parent_id = values.get(plan.parent_attr)
                    if parent_id is None:
                        raise RowError(plan.entity.entity, plan.entity.parent_field, "parent id missing")
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
                            plan.entity.entity,
                            source,
                            f"{source}: required to create a "
                            f"{plan.entity.entity}, but the row has no value and no default",
                        )
                    full = {**{k: v for k, v in plan.create_defaults.items() if k not in values}, **values}
                    op = _Operation(
                        plan, "insert", None, service.plan_create(self.session, full, self.ctx), key
                    )
                else:
                    shown = dict(zip(plan.key, key[-len(plan.key) :] if key else (), strict=False))
                    raise RowError(
                        plan.entity.entity,
                        plan.source_of(plan.key_attrs[0]) if plan.key_attrs else None,
                        f"no {plan.entity.entity} matches {shown}, and the template does not insert "
                        f"{plan.entity.entity} records",
                    )
            except AppError as exc:
                attr = _attr_of(plan, exc.field)
                where = plan.source_of(attr) if attr else None
                raise RowError(
                    plan.entity.entity, where, f"{where + ': ' if where else ''}{exc.message}"
                ) from None
            ops.append(op)
            resolved.append(op)
            if key is not None:
                registrations.append((i, key, op))
        for i, key, op in registrations:
            pending[i][key] = op  # its target exists once the row is applied, before the next row
        return ops

    def _merge(self, outcome: _ChunkOutcome) -> None:
        report = self.report
        verbose = self.options.verbose
        failures = dict(outcome.failures)
        results = dict(outcome.rows)
        for index in sorted({*failures, *results}):
            report.processed += 1
            if index in failures:
                error = failures[index]
                report.error(index, error.entity, error.field, error.message, verbose)
                continue
            for op in results[index]:
                report.count(op.plan.entity.entity, op.operation)
                if verbose:
                    op.describe(index, report)


@dataclass
class _Operation:
    plan: EntityPlan
    operation: str
    target: Any
    values: dict[str, Any]
    key: tuple[Any, ...] | None

    @property
    def obj_id(self) -> Any:
        if self.target is not None:
            return self.plan.entity.service.entity_id(self.target)
        # A new root's id is chosen before insert (visitorId); children reference it.
        pk = self.plan.entity.service.pk_attr
        return self.values.get(pk)

    def apply(self, batch: WriteBatch) -> None:
        """Hand the operation to the batch: a new record (inserted when the batch is written), or an
        update (applied now, flushed when the batch is written)."""
        service = self.plan.entity.service
        if self.operation == "insert":
            self.target = batch.create(service, self.values)
        elif self.operation == "update":
            batch.update(service, self.target, self.values)

    def describe(self, index: int, report: ImportReport) -> None:
        key = None
        if self.key is not None:
            key = dict(zip(self.plan.key, [_plain(v) for v in self.key[-len(self.plan.key) :]], strict=True))
        report.operate(index, self.plan.entity.entity, self.operation, key, _plain(self.obj_id))


@dataclass
class _ChunkOutcome:
    rows: list[tuple[int, list[_Operation]]] = field(default_factory=list)
    failures: list[tuple[int, RowError]] = field(default_factory=list)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _attr_of(plan: EntityPlan, api_field: str | None) -> str | None:
    if api_field is None:
        return None
    try:
        return plan.entity.attribute(api_field)
    except KeyError:
        return None


def _as_row_error(exc: Exception, plans: list[EntityPlan]) -> RowError:
    if isinstance(exc, RowError):
        return exc
    return RowError(
        plans[0].entity.entity,
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
    with bulk_collections():
        return importer.run(rows, progress, checkpoint)
