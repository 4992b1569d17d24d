"""Run an import: rows through a template's plans into the one write path, chunk by chunk.

Rows are extracted and validated in Python, existing records are fetched with one query per entity and
chunk, each row is planned (service checks, may fail) then handed to the chunk's WriteBatch, which writes
the chunk at once. A database error while writing replays that chunk row by row, each in its own
savepoint, so a row is still applied entirely or not at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import operator
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Select, Table, Text, select, tuple_
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from visitorhub.core.batch import PlannerStatistics, WriteBatch, bulk_collections, bulk_pragmas, read_ahead
from visitorhub.core.db import one_of
from visitorhub.core.service import WriteContext
from visitorhub.errors import AppError
from visitorhub.integration.templates.planning import (
    EntityPlan,
    RowError,
    compile_template,
    extract,
    extract_key,
)
from visitorhub.integration.templates.report import ImportReport
from visitorhub.integration.templates.spec import Template

_PROBE = 200  # rows of a chunk looked at before the others (_unchanged_rows)
_HASHES_PER_QUERY = 10_000  # content hashes looked up by one query (_by_hash)
# Bumped when what a row's values become changes (validation, transforms): older hashes then match nothing.
_HASH_VERSION = b"visitorhub-import-2"


@dataclass
class ImportOptions:
    simulate: bool = False
    verbose: bool = False
    stop_on_error: bool = False
    # Rows planned, written and (by the CLI) committed together: large enough that SQLite's commit and
    # checkpoint cost little per row, small enough that a chunk's records stay a few tens of MB.
    chunk_size: int = 5000
    # Content hashes: each row's, looked up first (its unchanged records skipped without a look at them) and
    # written to the records it makes, for the next import. A channel turns them off: it finds repeated
    # records by its own hash per source id before the template runs, so its rows are new or changed (a
    # lookup would be a wasted query per entity), and a hash is a random key, one index page dirtied per
    # record (a tenth of a channel's time, bench/README.md). A record written without one holds none, as
    # after any other write: a later import looks at it in full.
    content_hashes: bool = True


class _Stored:
    """A record found unchanged by its content hash (_unchanged_rows), for a verbose report: its id."""

    __slots__ = ("entity_id",)

    def __init__(self, entity_id: Any) -> None:
        self.entity_id = entity_id


class _Hashed:
    """A record found by the content hash a row gives it: its id and its key (as _key makes it), the ids
    (its own, a parent's in the key) as the driver returns them."""

    __slots__ = ("entity_id", "key")

    def __init__(self, entity_id: Any, key: tuple[Any, ...]) -> None:
        self.entity_id = entity_id
        self.key = key


_KEY, _ENTITY_ID = operator.attrgetter("key"), operator.attrgetter("entity_id")


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
        self._told: dict[str, int] = {}  # entity -> inserts counted for PlannerStatistics so far
        # Content hashes (core.db.ContentHashMixin): of the template and the row's cells, per entity.
        self.digest = hashlib.blake2b(
            _HASH_VERSION + template.model_dump_json(exclude={"description"}).encode(), digest_size=16
        ).digest()
        # One digest of up to 64 bytes (8 entities' hashes) per block of 8 entities: (size, unpacker).
        self._hash_blocks = [
            (8 * count, struct.Struct(f">{count}q").unpack)
            for count in (min(8, len(self.plans) - start) for start in range(0, len(self.plans), 8))
        ]
        # A row may skip extraction when every entity's key comes from its own cells and is hashed.
        self.hashed = all(
            plan.key_fields is not None and plan.entity.service.hash_attr is not None for plan in self.plans
        )

    # Content hashes ----------------------------------------------------------------------------------

    def _row_hashes(self, row: Mapping[str, Any]) -> tuple[int, ...]:
        """What the template makes of the row, per entity: the content hashes (signed int64s) the import
        writes to the records, from one keyed BLAKE2b of the row's cells under the template's digest per 8
        entities. A child's parent is not in its hash: a child found by its hash is checked to hang from
        the record its row's parent entity found (_unchanged_of)."""
        cells = orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS, default=str)
        hashes: tuple[int, ...] = ()
        for block, (size, unpack) in enumerate(self._hash_blocks):
            person = block.to_bytes(2, "big")
            hashes += unpack(
                hashlib.blake2b(cells, digest_size=size, key=self.digest, person=person).digest()
            )
        return hashes

    def _unchanged_rows(
        self, chunk: list[tuple[int, Mapping[str, Any]]], hashes: list[tuple[int, ...]]
    ) -> tuple[dict[int, Sequence[_Hashed]], list[tuple[int, Mapping[str, Any]]]]:
        """The rows whose every entity is a record holding the content hash the row gives it (what the
        import last wrote to it, nothing written since): `unchanged`, found by their hashes alone (one
        query per entity and chunk, on the hash's index) without extracting, validating or matching
        anything. The other rows go the full way."""
        if not self.hashed or not chunk or not self.options.content_hashes:
            return {}, chunk
        # A probe first: when none of the chunk's first rows is unchanged (a first import, a file of new
        # rows), the others are not looked at either. The whole chunk is then looked at once (rows sharing
        # a key must be seen together).
        # Per entity, the records the hashes looked up so far found (None: none), asked once per chunk.
        known: list[dict[int, _Hashed | None]] = [{} for _plan in self.plans]
        if len(chunk) > _PROBE and not self._unchanged_of(chunk[:_PROBE], hashes[:_PROBE], known)[0]:
            return {}, chunk
        return self._unchanged_of(chunk, hashes, known)

    def _unchanged_of(
        self,
        chunk: list[tuple[int, Mapping[str, Any]]],
        hashes: list[tuple[int, ...]],
        known: list[dict[int, _Hashed | None]],
    ) -> tuple[dict[int, Sequence[_Hashed]], list[tuple[int, Mapping[str, Any]]]]:
        # Entity by entity, the record each row's hash found; a row stays found while every entity so far
        # found one (`found`; None: every row). Column by column, so that each step is one C-level map or
        # one comprehension over the chunk (a re-run looks at every row: 5,000 a chunk).
        columns: list[list[_Hashed | None]] = []
        found: list[bool] | None = None
        for i, (plan, given) in enumerate(zip(self.plans, zip(*hashes, strict=True), strict=True)):
            asked = known[i]
            # Only the hashes of rows still found are looked up (after a probe of new rows, none).
            wanted = set(given if found is None else itertools.compress(given, found)).difference(asked)
            if wanted:
                # Sorted: SQLite builds its list of the values and walks the index faster in order.
                stored = self._by_hash(plan, sorted(wanted))  # a subset of `wanted`: the others hold nothing
                asked.update(dict.fromkeys(wanted))
                asked.update(stored)
            hits = list(map(asked.get, given))
            parent = plan.parent_index
            if parent is None:
                ok = [hit is not None for hit in hits]
            else:  # a child must hang from the record its row's parent entity found
                ok = [
                    hit is not None and up is not None and hit.key[0] == up.entity_id
                    for hit, up in zip(hits, columns[parent], strict=True)
                ]
            found = ok if found is None else [a and b for a, b in zip(found, ok, strict=True)]
            columns.append(hits)
        assert found is not None
        records = cast(list[tuple[_Hashed, ...]], list(zip(*columns, strict=True)))  # per row, one an entity
        # Rows applied in file order must see each other: a row found unchanged is taken the full way when
        # another row of the chunk (changed, or found unchanged in another record) has the same key.
        rest_keys = self._root_keys(row for (_index, row), hit in zip(chunk, found, strict=True) if not hit)
        checked: list[tuple[int, set[tuple[Any, ...]]]] = []
        for i, plan in enumerate(self.plans):
            # Keys no found row may hold (children's clashes only: their rows' keys are unknown).
            taken = self._clashing(cast(list[_Hashed], list(itertools.compress(columns[i], found))))
            if plan.parent_index is None:
                taken |= rest_keys[i]
            if taken:
                checked.append((i, taken))
        unchanged: dict[int, Sequence[_Hashed]] = {}
        rest: list[tuple[int, Mapping[str, Any]]] = []
        for item, own, hit in zip(chunk, records, found, strict=True):
            if not hit or (checked and any(own[i].key in keys for i, keys in checked)):
                rest.append(item)
            else:
                unchanged[item[0]] = own
        return unchanged, rest

    @staticmethod
    def _clashing(hits: list[_Hashed]) -> set[tuple[Any, ...]]:
        """The keys two different records among `hits` hold."""
        if len(set(map(_KEY, hits))) == len(set(map(_ENTITY_ID, hits))):  # a key per record: the common case
            return set()
        key_of = {hit.entity_id: hit.key for hit in hits}
        clashing: set[tuple[Any, ...]] = set()
        claimed: dict[tuple[Any, ...], Any] = {}
        for entity_id, key in key_of.items():
            if claimed.setdefault(key, entity_id) != entity_id:
                clashing.add(key)
        return clashing

    def _root_keys(self, rows: Iterable[Mapping[str, Any]]) -> list[set[tuple[Any, ...]]]:
        """The keys of these rows for each entity not under another entity of the row (the others' keys
        hold their parent's id, known once the row is matched: a row can only reach a child found unchanged
        through the child's parent, whose key is checked)."""
        keys: list[set[tuple[Any, ...]]] = [set() for _plan in self.plans]
        roots = [(i, plan) for i, plan in enumerate(self.plans) if plan.parent_index is None]
        for row in rows:
            for i, plan in roots:
                try:
                    values = extract_key(plan, row)
                    key = self._key(plan, values, None) if values is not None else None
                except RowError:
                    continue  # the row fails the full way, and touches nothing
                if key is not None:
                    keys[i].add(key)
        return keys

    def _by_hash(self, plan: EntityPlan, hashes: list[int]) -> dict[int, _Hashed]:
        """The records of the plan's entity holding these content hashes, by hash: one narrow query for a
        chunk's hashes (one parameter, core.db.one_of), which the hash's index answers."""
        found: dict[int, _Hashed] = {}
        model = plan.entity.model
        service = plan.entity.service
        attrs = ([plan.parent_attr] if plan.parent_attr else []) + plan.key_attrs
        hash_column = getattr(model, service.hash_attr or "")
        # Ids as text (a UUID's hex on SQLite, its canonical form on PostgreSQL): only compared with each
        # other, cheaper to load and compare than UUIDs, and made ids (_id_of) for a verbose report alone.
        # The key's values are typed, as rows give them.
        text_ids = [sql_cast(getattr(model, a), Text) for a in (service.pk_attr, plan.parent_attr) if a]
        selected = [text_ids[0], hash_column, *text_ids[1:], *[getattr(model, a) for a in plan.key_attrs]]
        connection = self.session.connection()
        folded = [n for n, attr in enumerate(attrs) if attr in plan.folded]
        # One parameter however many hashes (core.db.one_of): one query per chunk (at most 5,000 by default).
        for start in range(0, len(hashes), _HASHES_PER_QUERY):
            part = hashes[start : start + _HASHES_PER_QUERY]
            stmt = select(*selected).where(one_of(hash_column, part, self.session))
            rows = connection.execute(stmt).all()
            if folded:
                for pk, content_hash, *parts in rows:
                    for n in folded:
                        parts[n] = plan.fold(attrs[n], parts[n])
                    found.setdefault(content_hash, _Hashed(pk, tuple(parts)))
            else:
                for pk, content_hash, *parts in rows:
                    found.setdefault(content_hash, _Hashed(pk, tuple(parts)))
        return found

    def _id_of(self, plan: EntityPlan, text: str) -> Any:
        """A record's id from its text (_by_hash)."""
        python_type = getattr(plan.entity.model, plan.entity.service.pk_attr).type.python_type
        return text if isinstance(text, python_type) else python_type(text)

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
                stmt = select(model).where(one_of(columns[0], [k[0] for k in part], self.session))
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
            stmt = select(model).where(one_of(parent_col, parent_ids[start : start + 500], self.session))
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
        tables = [cast(Table, plan.entity.model.__table__) for plan in self.plans]
        statistics = None if self.options.simulate else PlannerStatistics(self.session, tables)
        hashed = (self._hashed(chunk) for chunk in _chunks(enumerate(rows), self.options.chunk_size))
        # A stream (a file) is read, parsed and hashed a chunk ahead, while this one waits for the database.
        ahead = contextlib.nullcontext(hashed) if isinstance(rows, Sequence) else read_ahead(hashed)
        try:
            with ahead as ready:
                for chunk, hashes in ready:
                    stop = self._chunk(chunk, hashes)
                    if progress:
                        progress(len(chunk))
                    if stop:
                        self.report.stopped = True
                        break
                    self.session.expunge_all()
                    if checkpoint and not self.options.simulate:
                        checkpoint()
                    if statistics is not None:
                        self._count_inserts(statistics)
                        statistics.refresh()
                    bulk_collections.collect()
            if statistics is not None:
                self._count_inserts(statistics)
                statistics.refresh(final=True)
        finally:
            if outer is not None:
                outer.rollback()
        return self.report

    def _count_inserts(self, statistics: PlannerStatistics) -> None:
        """Tell `statistics` the rows inserted into each table since it was last told."""
        for plan in self.plans:
            entity = plan.entity.entity
            inserted = self.report.summary.get(entity, {}).get("inserted", 0)
            table = cast(Table, plan.entity.model.__table__)
            statistics.inserted(table.name, inserted - self._told.get(entity, 0))
            self._told[entity] = inserted

    def _hashed(
        self, chunk: list[tuple[int, Mapping[str, Any]]]
    ) -> tuple[list[tuple[int, Mapping[str, Any]]], list[tuple[int, ...]]]:
        """A chunk with its rows' content hashes (what every row's plan needs)."""
        if not self.options.content_hashes:
            return chunk, [()] * len(chunk)
        return chunk, [self._row_hashes(row) for _index, row in chunk]

    def _chunk(self, chunk: list[tuple[int, Mapping[str, Any]]], hashes: list[tuple[int, ...]]) -> bool:
        savepoint = self.session.begin_nested()
        outcome = _ChunkOutcome()
        try:
            batch = WriteBatch(self.session, self.ctx)
            stop = self._rows(chunk, hashes, outcome, batch)
            batch.write()
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            self.session.expunge_all()
            outcome = _ChunkOutcome()
            stop = self._rows(chunk, hashes, outcome, None)
        self._merge(outcome)
        return stop

    def _rows(
        self,
        chunk: list[tuple[int, Mapping[str, Any]]],
        hashes: list[tuple[int, ...]],
        outcome: _ChunkOutcome,
        batch: WriteBatch | None,
    ) -> bool:
        """Plan and apply each row (`hashes`: their content hashes, in order): into `batch` (written by the
        caller for the whole chunk), or, without one, each row written on its own in a savepoint (so a
        database error fails that row only)."""
        hash_of = {index: row_hashes for (index, _row), row_hashes in zip(chunk, hashes, strict=True)}
        unchanged, chunk = self._unchanged_rows(chunk, hashes)
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
                    ops = self._plan_row(values, existing, pending, hash_of[index])
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
                        # Rows after the failing one are not processed, whatever their hashes said.
                        outcome.unchanged = {i: hits for i, hits in unchanged.items() if i < index}
                        return True
        outcome.unchanged = unchanged
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
        row_hashes: tuple[int, ...],
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
            hash_attr = service.hash_attr if self.options.content_hashes else None
            try:
                if match is not None:
                    if plan.update:
                        changes = {k: v for k, v in values.items() if k != plan.parent_attr}
                        diff = service.plan_update(self.session, match, changes, self.ctx)
                    else:
                        diff = {}
                    if diff and hash_attr is not None:
                        diff[hash_attr] = row_hashes[i]
                    op = _Operation(plan, "update" if diff else "unchanged", match, diff, key)
                elif plan.insert:
                    values = plan.defaults | values  # the row's values win
                    missing = plan.required.difference(values)
                    if missing:
                        source = plan.source_of(min(missing))
                        raise RowError(
                            plan.entity.entity,
                            source,
                            f"{source}: required to create a "
                            f"{plan.entity.entity}, but the row has no value and no default",
                        )
                    full = plan.create_defaults | values
                    planned = service.plan_create(self.session, full, self.ctx)
                    if hash_attr is not None:
                        planned[hash_attr] = row_hashes[i]
                    op = _Operation(plan, "insert", None, planned, key)
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
        unchanged = outcome.unchanged
        if unchanged and not verbose:  # counted at once (a no-change re-import's every row)
            report.processed += len(unchanged)
            for plan in self.plans:
                report.count(plan.entity.entity, "unchanged", len(unchanged))
        for index in sorted({*failures, *results, *(unchanged if verbose else ())}):
            report.processed += 1
            if index in failures:
                error = failures[index]
                report.error(index, error.entity, error.field, error.message, verbose)
                continue
            if index in unchanged:
                for plan, hit in zip(self.plans, unchanged[index], strict=True):
                    report.count(plan.entity.entity, "unchanged")
                    stored = _Stored(self._id_of(plan, hit.entity_id))
                    _Operation(plan, "unchanged", stored, {}, hit.key).describe(index, report)
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
        if isinstance(self.target, _Stored):
            return self.target.entity_id
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
    # Rows found unchanged by their content hashes (_unchanged_rows): the record of each entity.
    unchanged: dict[int, Sequence[_Hashed]] = field(default_factory=dict)


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
    with bulk_collections(), bulk_pragmas(session):
        return importer.run(rows, progress, checkpoint)
