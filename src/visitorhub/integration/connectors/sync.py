"""The sync engine, generic over connector kinds: keep a remote system's records in step with the
visitors a connector's filter keeps, calling the remote only where it differs from what the hub holds.

- **Incremental** (the schedule's syncs): the change log after the connector's cursor, mapped to the
  visitors it concerns (a vehicle, visitor-centre or opt-in change to its visitor), plus the visitors whose
  last sync failed. A visitor's body is hashed and compared with the mirror's hash: equal, no call;
  otherwise an update at the mirrored revision, a create (an upsert by external reference) for a visitor
  the remote does not hold, or a delete for one the filter no longer keeps (or that was deleted).
- **Full**: the remote records are listed (pages of 100) and reconciled with the visitors and the mirror:
  records found by external reference are adopted, remote drift is repaired, ours that no longer qualify
  are deleted (and, with the kind's `deleteMissing`, those that carry no visitor of ours); only
  differences are written. N unchanged visitors cost a token and N/100 searches.

Why a crash never duplicates a remote record: creates are upserts by external reference, a create for a
visitor the mirror does not know is noted (`pending`) before it is sent, the cursor moves past a batch of
changes only when its results are recorded, and a full sync stays pending until one completes. Calls run
`concurrency` at a time with no transaction open; results are recorded a chunk at a time. One sync per
connector at a time: a lease on the connector row (streams/leases.py), renewed as the sync goes.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings
from visitorhub.core import changelog
from visitorhub.core.db import as_utc, get_or_404, unit_of_work, utcnow
from visitorhub.core.secrets import SecretUnavailable
from visitorhub.errors import AppError, Conflict
from visitorhub.integration.connectors import KINDS, mirror, selection
from visitorhub.integration.connectors.base import (
    Connector as ConnectorKind,
)
from visitorhub.integration.connectors.base import (
    MappingFailure,
    RemoteFailure,
    RemoteFatal,
    RemoteMissing,
    RemoteRecord,
    StaleRevision,
)
from visitorhub.integration.connectors.schemas import PlannedOperation, RecordError, SyncReport
from visitorhub.integration.connectors.selection import VisitorFilter
from visitorhub.integration.connectors.service import open_settings
from visitorhub.integration.streams.leases import lease_free, new_owner
from visitorhub.models import Connector, ConnectorRun

log = logging.getLogger("visitorhub.connectors")

Sessions = sessionmaker[Session]
Progress = Callable[[str, int, int | None], None]

CHANGES_BATCH = 1000  # change records read at once; the cursor moves past them when their visitors are done
CHUNK = 100  # visitors planned, sent and recorded together
TRIP_AFTER = 10  # transient failures in a row that stop a sync: the remote side is down
MAX_ERRORS = 1000  # record errors kept in a report (the count is exact)
MAX_OPERATIONS = 10_000  # lines of a dry run's plan
KEEP_RUNS = 1000  # runs kept in a connector's run log
RETRY_BACKOFF_SECONDS = (
    30.0  # a failed record waits this, doubled per failure (at most an hour), for the schedule
)
MAX_RETRY_BACKOFF_SECONDS = 3600.0

CREATE, UPDATE, DELETE = "create", "update", "delete"
ADOPT, UNCHANGED, FORGET, INVALID = "adopt", "unchanged", "forget", "invalid"
CALLS = frozenset({CREATE, UPDATE, DELETE})


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    dry_run: bool = False
    trigger: str = "api"  # api | cli | schedule
    # A scheduled sync does nothing (and records no run) when nothing changed, and retries a failed record
    # only once its back-off has passed.
    scheduled: bool = False


@dataclass
class _Item:
    """One reference to reconcile: what the hub wants, what the mirror says, what the remote showed."""

    reference: str
    visitor_id: uuid.UUID | None  # None: a remote record that carries no visitor of ours
    body: dict[str, Any] | None = None  # None: must not be on the remote side
    body_hash: str | None = None
    error: str | None = None  # the visitor cannot be mapped
    mirror: mirror.Mirrored | None = None
    remote: RemoteRecord | None = None
    remote_known: bool = False  # full sync: `remote` is what the listing showed (None = absent)


@dataclass
class _Op:
    item: _Item
    action: str
    business_id: str | None = None
    revision: int | None = None


@dataclass
class _Result:
    op: _Op
    outcome: str  # created | updated | unchanged | deleted | gone | failed
    record: RemoteRecord | None = None
    error: str | None = None
    retriable: bool = False


def plan(item: _Item) -> _Op | None:
    """What to do for one reference (None: nothing at all)."""
    m, remote = item.mirror, item.remote
    if item.error is not None:
        return _Op(item, INVALID)
    if item.body is None:
        if item.remote_known:
            if remote is not None:
                return _Op(item, DELETE, remote.business_id)
            return _Op(item, FORGET) if m is not None else None
        if m is None:
            return None
        return _Op(item, DELETE, m.business_id)  # no business id: found by reference first
    if item.remote_known:
        if remote is None:
            return _Op(item, CREATE)
        if remote.content_hash != item.body_hash:
            return _Op(item, UPDATE, remote.business_id, remote.revision)
        if (
            m is not None
            and m.status == mirror.OK
            and (m.business_id, m.revision, m.content_hash)
            == (remote.business_id, remote.revision, item.body_hash)
        ):
            return _Op(item, UNCHANGED)
        return _Op(item, ADOPT, remote.business_id, remote.revision)
    if m is not None and m.status == mirror.OK and m.content_hash == item.body_hash:
        return _Op(item, UNCHANGED)
    if m is not None and m.business_id is not None and m.revision is not None:
        return _Op(item, UPDATE, m.business_id, m.revision)
    return _Op(item, CREATE)


def _call(conn: ConnectorKind, op: _Op) -> _Result:
    """Carry out one operation (on a worker thread: no database here). RemoteFatal propagates."""
    item = op.item
    try:
        if op.action == CREATE:
            assert item.body is not None
            return _Result(op, "created", conn.create(item.body))
        if op.action == UPDATE:
            assert item.body is not None
            assert op.business_id is not None
            return _update(conn, op, item.body, op.business_id)
        business_id = op.business_id
        if business_id is None:  # a create whose answer was never recorded: is there a record?
            found = conn.find(item.reference)
            if found is None:
                return _Result(op, "gone")
            business_id = found.business_id
        conn.delete(business_id)  # already gone (404) is as good
        return _Result(op, "deleted")
    except RemoteFatal:
        raise
    except RemoteFailure as exc:
        return _Result(op, "failed", error=exc.message, retriable=exc.retriable)


def _update(conn: ConnectorKind, op: _Op, body: dict[str, Any], business_id: str) -> _Result:
    """PUT at the known revision; a conflict refetches and, unless the record already holds the body,
    tries once more at the new revision; a record gone is created again."""
    try:
        try:
            return _Result(op, "updated", conn.update(business_id, body, op.revision))
        except StaleRevision:
            current = conn.get(business_id)
            if current.content_hash == op.item.body_hash:
                return _Result(op, "unchanged", current)
            return _Result(op, "updated", conn.update(business_id, body, current.revision))
    except RemoteMissing:
        return _Result(op, "created", conn.create(body))


class LeaseLost(Exception):
    """Another sync took the connector over (this one went silent longer than the lease)."""


@dataclass
class _Run:
    """A sync in progress."""

    sessions: Sessions
    settings: Settings
    connector_id: int
    run_id: int
    owner: str | None  # None: a dry run, which holds no lease
    conn: ConnectorKind
    keep: VisitorFilter
    options: SyncOptions
    delete_missing: bool
    stop: threading.Event | None
    progress: Progress | None
    report: SyncReport
    done: int = 0
    total: int | None = None
    stopped_because: str | None = None
    error: str | None = None
    transient_in_a_row: int = 0
    lease_checked_at: float = field(default_factory=time.monotonic)
    _calls_recorded: dict[str, dict[str, int]] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None

    # -- control ---------------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        if self.stopped_because is None and self.stop is not None and self.stop.is_set():
            self.stopped_because = "shutdown"
        return self.stopped_because is not None

    def halt(self, because: str, error: str | None = None) -> None:
        if self.stopped_because is None:
            self.stopped_because, self.error = because, error

    def tick(self, phase: str, done: int | None = None) -> None:
        if done is not None:
            self.done = done
        if self.progress is not None:
            self.progress(phase, self.done, self.total)

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.conn.concurrency, thread_name_prefix="visitorhub-connector"
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def renew_lease(self, session: Session, **values: Any) -> None:
        """Extend the lease (and set `values` on the connector row) if it is still ours; LeaseLost if not."""
        if self.owner is None:
            return
        lease = timedelta(seconds=self.settings.streams_lease_seconds)
        done = session.execute(
            update(Connector)
            .where(Connector.id == self.connector_id, Connector.lease_owner == self.owner)
            .values(lease_expires_at=utcnow() + lease, **values)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost("another sync took the connector over")
        self.lease_checked_at = time.monotonic()
        if "cursor_seq" in values:
            self.report.cursor_to = values["cursor_seq"]

    def keep_lease(self) -> None:
        """Between calls: renew the lease once half of it has passed since the last renewal."""
        if self.owner is None:
            return
        if time.monotonic() - self.lease_checked_at < self.settings.streams_lease_seconds / 2:
            return
        try:
            with unit_of_work(self.sessions) as session:
                self.renew_lease(session)
        except LeaseLost as exc:
            self.halt("lease_lost", str(exc))

    # -- one chunk -------------------------------------------------------------------------------------

    def process(self, items: Sequence[_Item], cursor: int | None = None) -> None:
        """Plan, send and record a chunk; with `cursor`, the cursor moves there once it is all done."""
        ops = [op for item in items if (op := plan(item)) is not None]
        if self.options.dry_run:
            for op in ops:
                self._tally_planned(op)
            return
        calls = [op for op in ops if op.action in CALLS]
        new = [op.item.visitor_id for op in calls if op.action == CREATE and op.item.mirror is None]
        if new:
            with unit_of_work(self.sessions) as session:
                mirror.add_pending(session, self.connector_id, [v for v in new if v is not None])
        results = [self._local(op) for op in ops if op.action not in CALLS]
        results += self._send(calls)
        # The cursor moves past these changes only when every one of them was carried out (or failed, to
        # be retried from the mirror): calls dropped by a stop are made again by the next sync.
        self._record(results, cursor if len(results) == len(ops) else None)

    def _local(self, op: _Op) -> _Result:
        if op.action == INVALID:
            return _Result(op, "failed", error=op.item.error)
        if op.action == ADOPT:
            return _Result(op, "unchanged", op.item.remote)
        if op.action == FORGET:
            return _Result(op, "gone")
        return _Result(op, "unchanged")

    def _send(self, ops: Sequence[_Op]) -> list[_Result]:
        """The calls, at most `concurrency` on the wire at once. A fatal error or a run of transient
        failures stops the sync: calls not sent yet are dropped (the next sync makes them), those on the
        wire finish and are recorded."""
        results: list[_Result] = []
        waiting = list(reversed(ops))
        flying: set[Future[_Result]] = set()
        while waiting or flying:
            while waiting and len(flying) < self.conn.concurrency and not self.stopping:
                flying.add(self.pool().submit(_call, self.conn, waiting.pop()))
            if not flying:
                break
            done, flying = wait(flying, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    result = future.result()
                except RemoteFatal as exc:
                    self.halt("fatal", exc.message)
                    continue
                results.append(result)
                if result.outcome == "failed" and result.retriable:
                    self.transient_in_a_row += 1
                    if self.transient_in_a_row >= TRIP_AFTER:
                        self.halt(
                            "remote_unavailable",
                            f"{TRIP_AFTER} transient failures in a row; the last: {result.error}",
                        )
                elif result.outcome != "failed":
                    self.transient_in_a_row = 0
            self.keep_lease()
        return results

    def _record(self, results: Sequence[_Result], cursor: int | None) -> None:
        """The results into the mirror, the report and the running totals, in one transaction."""
        now = utcnow()
        rows: list[dict[str, Any]] = []
        forget: list[uuid.UUID] = []
        counts = dict.fromkeys(("created", "updated", "deleted", "unchanged", "failed"), 0)
        for result in results:
            item = result.op.item
            outcome = result.outcome
            if outcome in counts:
                counts[outcome] += 1
            if outcome == "failed":
                self._error(item.reference, result.error or "failed")
            if item.visitor_id is None:
                continue
            if outcome in ("deleted", "gone"):
                forget.append(item.visitor_id)
            elif outcome == "failed":
                rows.append(self._failed_row(item, result, now))
            elif result.record is not None:
                rows.append(
                    {
                        "visitor_id": item.visitor_id,
                        "business_id": result.record.business_id,
                        "revision": result.record.revision,
                        "content_hash": item.body_hash,
                        "status": mirror.OK,
                        "error": None,
                        "failures": 0,
                        "retry_at": None,
                        "synced_at": now,
                    }
                )
        for name, value in counts.items():
            setattr(self.report, name, getattr(self.report, name) + value)
        with unit_of_work(self.sessions) as session:
            mirror.write(session, self.connector_id, rows, forget)
            values: dict[str, Any] = {"record_totals": self._record_totals(session, counts)}
            values["call_totals"] = self._call_totals(session)
            if cursor is not None:
                values["cursor_seq"] = cursor
            self.renew_lease(session, **values)

    def _failed_row(self, item: _Item, result: _Result, now: Any) -> dict[str, Any]:
        m = item.mirror
        failures = (m.failures if m is not None else 0) + 1
        backoff = min(RETRY_BACKOFF_SECONDS * 2 ** (failures - 1), MAX_RETRY_BACKOFF_SECONDS)
        return {
            "visitor_id": item.visitor_id,
            "business_id": result.op.business_id or (m.business_id if m is not None else None),
            "revision": result.op.revision
            if result.op.revision is not None
            else (m.revision if m is not None else None),
            "content_hash": m.content_hash if m is not None else None,
            "status": mirror.FAILED,
            "error": (result.error or "failed")[:500],
            "failures": failures,
            "retry_at": now + timedelta(seconds=backoff),
            "synced_at": now,
        }

    def _error(self, reference: str, message: str) -> None:
        log.warning(
            "connectors.record_failed connector=%s reference=%s error=%s",
            self.connector_id,
            reference,
            message,
        )
        if len(self.report.errors) < MAX_ERRORS:
            self.report.errors.append(RecordError(visitor_id=reference, message=message))

    def _record_totals(self, session: Session, counts: dict[str, int]) -> dict[str, int]:
        current = session.scalar(
            select(Connector.record_totals).where(Connector.id == self.connector_id).with_for_update()
        )
        totals = dict(current or {})
        for name, value in counts.items():
            totals[name] = int(totals.get(name, 0)) + value
        return totals

    def _call_totals(self, session: Session) -> dict[str, dict[str, int]]:
        """The connector's running call totals plus the calls made since they were last added."""
        current = session.scalar(
            select(Connector.call_totals).where(Connector.id == self.connector_id).with_for_update()
        )
        totals: dict[str, dict[str, int]] = {k: dict(v) for k, v in (current or {}).items()}
        now = self.conn.call_outcomes()
        for kind, outcomes in now.items():
            for name, value in outcomes.items():
                delta = value - self._calls_recorded.get(kind, {}).get(name, 0)
                if delta:
                    totals.setdefault(kind, {})
                    totals[kind][name] = totals[kind].get(name, 0) + delta
        self._calls_recorded = {kind: dict(outcomes) for kind, outcomes in now.items()}
        return totals

    def _tally_planned(self, op: _Op) -> None:
        item = op.item
        name = {CREATE: "created", UPDATE: "updated", DELETE: "deleted", ADOPT: "unchanged"}.get(op.action)
        if op.action == UNCHANGED:
            name = "unchanged"
        if op.action == INVALID:
            self.report.failed += 1
            self._error(item.reference, item.error or "invalid")
            return
        if name is None:
            return
        setattr(self.report, name, getattr(self.report, name) + 1)
        planned = self.report.operations
        if op.action in CALLS and planned is not None and len(planned) < MAX_OPERATIONS:
            planned.append(
                PlannedOperation(
                    operation=op.action,
                    visitor_id=str(item.visitor_id) if item.visitor_id is not None else None,
                    external_reference=item.reference or None,
                    business_id=op.business_id,
                )
            )

    # -- items -----------------------------------------------------------------------------------------

    def item(
        self,
        visitor_id: uuid.UUID,
        loaded: selection.Loaded | None,
        mirrored: mirror.Mirrored | None,
    ) -> _Item:
        item = _Item(str(visitor_id), visitor_id, mirror=mirrored)
        if loaded is not None:
            try:
                item.body = self.conn.body(*loaded)
                item.body_hash = self.conn.content_hash(item.body)
            except MappingFailure as exc:
                item.error = f"cannot be mapped: {exc}"
        return item

    # -- incremental -----------------------------------------------------------------------------------

    def incremental(self, cursor: int) -> None:
        entities = self.keep.entities()
        first = True
        self.report.cursor_to = None if self.options.dry_run else cursor
        self.tick("sync", 0)
        while not self.stopping:
            with unit_of_work(self.sessions) as session:
                batch = changelog.changes_after(session, cursor, entities, CHANGES_BATCH)
                retry: list[uuid.UUID] = []
                if first:
                    due = utcnow() if self.options.scheduled else None
                    retry = mirror.to_retry(session, self.connector_id, due)
            touched = [
                visitor_id
                for change in batch
                if (visitor_id := selection.visitor_id_of(change.entity, change.entity_id, change.data))
            ]
            ids = list(dict.fromkeys([*retry, *touched]))
            last_seq = batch[-1].seq if batch else None
            if not ids and last_seq is not None and not self.options.dry_run:
                with unit_of_work(self.sessions) as session:
                    self.renew_lease(session, cursor_seq=last_seq)
            for start in range(0, len(ids), CHUNK):
                if self.stopping:
                    return
                part = ids[start : start + CHUNK]
                with unit_of_work(self.sessions) as session:
                    loaded = selection.load(session, part, self.keep)
                    mirrored = mirror.rows_for(session, self.connector_id, part)
                items = [self.item(v, loaded.get(v), mirrored.get(v)) for v in part]
                final = start + CHUNK >= len(ids)
                self.process(items, last_seq if final else None)
                self.tick("sync", self.done + len(part))
            if len(batch) < CHANGES_BATCH or last_seq is None:
                return
            cursor, first = last_seq, False

    # -- full ------------------------------------------------------------------------------------------

    def full(self) -> None:
        with unit_of_work(self.sessions) as session:
            target = changelog.newest_seq(session)
            self.total = selection.count(session, self.keep)
        remote: dict[str, RemoteRecord] = {}
        unreferenced: list[RemoteRecord] = []
        listed = 0
        for page in self.conn.list_all():
            for record in page:
                if record.reference is None:
                    unreferenced.append(record)
                else:
                    remote[record.reference] = record
            listed += len(page)
            self.tick("remote", listed)
            if self.stopping:
                return
            self.keep_lease()
        self.tick("sync", 0)
        after: uuid.UUID | None = None
        while not self.stopping:
            with unit_of_work(self.sessions) as session:
                visitors = selection.page(session, self.keep, after, CHUNK)
                mirrored = mirror.rows_for(session, self.connector_id, [v for v, _loaded in visitors])
            if not visitors:
                break
            items = []
            for visitor_id, loaded in visitors:
                item = self.item(visitor_id, loaded, mirrored.get(visitor_id))
                item.remote, item.remote_known = remote.pop(item.reference, None), True
                items.append(item)
            self.process(items)
            after = visitors[-1][0]
            self.tick("sync", self.done + len(visitors))
        # Mirrored visitors the filter no longer keeps (or that were deleted): delete their remote records.
        after = None
        while not self.stopping:
            with unit_of_work(self.sessions) as session:
                gone = mirror.leftovers(session, self.connector_id, self.keep.condition(), after, CHUNK)
            if not gone:
                break
            items = []
            for m in gone:
                item = _Item(str(m.visitor_id), m.visitor_id, mirror=m, remote_known=True)
                item.remote = remote.pop(item.reference, None)
                items.append(item)
            self.process(items)
            after = gone[-1].visitor_id
        if self.delete_missing:
            strays = [r for r in [*remote.values(), *unreferenced] if r.owned]
            for start in range(0, len(strays), CHUNK):
                if self.stopping:
                    break
                items = [
                    _Item(r.reference or "", None, remote=r, remote_known=True)
                    for r in strays[start : start + CHUNK]
                ]
                self.process(items)
        if self.stopping or self.options.dry_run:
            return
        with unit_of_work(self.sessions) as session:
            self.renew_lease(session, cursor_seq=target, full_sync_pending=False, last_full_sync_at=utcnow())


def _full_sync_due(row: Connector, now: datetime) -> bool:
    """The last full sync is older than the connector's fullSyncHours."""
    if row.full_sync_hours is None or row.last_full_sync_at is None:
        return False
    return now - as_utc(row.last_full_sync_at) >= timedelta(hours=row.full_sync_hours)


def _has_work(session: Session, row: Connector, keep: VisitorFilter) -> bool:
    if row.full_sync_pending:
        return True
    if changelog.changes_after(session, row.cursor_seq, keep.entities(), 1):
        return True
    return bool(mirror.to_retry(session, row.id, utcnow(), limit=1))


def _new_report(run: ConnectorRun) -> SyncReport:
    return SyncReport(
        run_id=run.id,
        connector_id=run.connector_id,
        trigger=run.trigger,
        full=run.full,
        dry_run=run.dry_run,
        status=run.status,
        stopped_because=None,
        error=None,
        created=0,
        updated=0,
        deleted=0,
        unchanged=0,
        failed=0,
        calls={},
        errors=[],
        operations=[] if run.dry_run else None,
        cursor_from=run.cursor_from,
        cursor_to=None,
        started_at=run.started_at,
        finished_at=None,
    )


def run_report(run: ConnectorRun) -> SyncReport:
    """A stored run as its report."""
    return SyncReport.model_validate(
        {
            "run_id": run.id,
            "connector_id": run.connector_id,
            "trigger": run.trigger,
            "full": run.full,
            "dry_run": run.dry_run,
            "status": run.status,
            "stopped_because": run.stopped_because,
            "error": run.error,
            "created": run.created,
            "updated": run.updated,
            "deleted": run.deleted,
            "unchanged": run.unchanged,
            "failed": run.failed,
            "calls": run.calls or {},
            "errors": run.errors or [],
            "operations": run.operations,
            "cursor_from": run.cursor_from,
            "cursor_to": run.cursor_to,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
        }
    )


def sync_connector(
    sessions: Sessions,
    connector_id: int,
    settings: Settings,
    options: SyncOptions,
    *,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> SyncReport | None:
    """One sync now; its report (None: a scheduled sync that found nothing to do). Conflict when another
    sync holds the connector (a dry run holds nothing and may run beside one)."""
    owner = None if options.dry_run else new_owner()
    setup_error: str | None = None
    with unit_of_work(sessions) as session:
        row = get_or_404(
            session,
            Connector,
            connector_id,
            with_for_update=not options.dry_run,
            what=f"Connector {connector_id}",
            field="connectorId",
        )
        now = utcnow()
        if owner is not None and not lease_free(row, now):
            raise Conflict(
                f"Connector '{row.name}' is being synced; try again when that sync ends.",
                field="connectorId",
                code="sync_in_progress",
            )
        keep = VisitorFilter.model_validate(row.filter)
        full = options.full or row.full_sync_pending or (options.scheduled and _full_sync_due(row, now))
        if options.scheduled and not full and not _has_work(session, row, keep):
            return None
        spec = KINDS.get(row.kind)
        parsed: Any = None
        try:
            if spec is None:
                raise AppError(f"connector kind '{row.kind}' is not known to this version")
            parsed = open_settings(spec, row.settings, settings)
        except (AppError, SecretUnavailable, ValueError) as exc:
            setup_error = exc.message if isinstance(exc, AppError) else str(exc)
        if owner is not None:
            # Runs a crashed process left "running" end here: this one holds the lease now.
            session.execute(
                update(ConnectorRun)
                .where(ConnectorRun.connector_id == connector_id, ConnectorRun.status == "running")
                .values(status="interrupted", finished_at=now)
            )
            row.lease_owner = owner
            row.lease_expires_at = now + timedelta(seconds=settings.streams_lease_seconds)
            row.last_run_at = now
        run = ConnectorRun(
            connector_id=connector_id,
            trigger=options.trigger,
            full=full,
            dry_run=options.dry_run,
            status="running",
            created=0,
            updated=0,
            deleted=0,
            unchanged=0,
            failed=0,
            calls={},
            errors=[],
            cursor_from=row.cursor_seq,
            started_at=now,
        )
        session.add(run)
        session.flush()
        report = _new_report(run)
        name = row.name
        cursor = row.cursor_seq
    if setup_error is not None or spec is None:
        report.stopped_because, report.error = "error", setup_error
        log.error("connectors.sync_failed connector=%s error=%s", name, setup_error)
        return _finish(sessions, connector_id, owner, report, None)
    conn = spec.open(parsed, allow_private=settings.allow_private_targets)
    state = _Run(
        sessions=sessions,
        settings=settings,
        connector_id=connector_id,
        run_id=report.run_id,
        owner=owner,
        conn=conn,
        keep=keep,
        options=options,
        delete_missing=bool(getattr(parsed, "delete_missing", False)),
        stop=stop,
        progress=progress,
        report=report,
    )
    try:
        if full:
            state.full()
        else:
            state.incremental(cursor)
    except RemoteFatal as exc:
        state.halt("fatal", exc.message)
    except RemoteFailure as exc:  # listing the remote records failed: a full sync cannot go on
        state.halt("remote_unavailable", exc.message)
    except LeaseLost as exc:
        state.halt("lease_lost", str(exc))
    except Exception as exc:  # a bug must not leave the run "running" and the lease held
        log.exception("connectors.sync_crashed connector=%s", name)
        state.halt("error", f"{type(exc).__name__}: {exc}")
    finally:
        state.close()
        report.calls = conn.calls()
        conn.close()
    report.stopped_because, report.error = state.stopped_because, state.error
    if state.error and state.stopped_because in ("fatal", "remote_unavailable", "lease_lost"):
        log.error("connectors.sync_stopped connector=%s because=%s error=%s", name, *_why(report))
    final = _finish(sessions, connector_id, owner, report, state)
    log.info(
        "connectors.sync connector=%s full=%s dry_run=%s status=%s created=%d updated=%d deleted=%d "
        "unchanged=%d failed=%d calls=%s",
        name,
        final.full,
        final.dry_run,
        final.status,
        final.created,
        final.updated,
        final.deleted,
        final.unchanged,
        final.failed,
        sum(final.calls.values()),
    )
    return final


def _why(report: SyncReport) -> tuple[str | None, str | None]:
    return report.stopped_because, report.error


def _finish(
    sessions: Sessions, connector_id: int, owner: str | None, report: SyncReport, state: _Run | None
) -> SyncReport:
    """Store the run's report and release the lease."""
    report.finished_at = utcnow()
    report.status = "failed" if report.failed or report.stopped_because else "ok"
    with unit_of_work(sessions) as session:
        run = session.get(ConnectorRun, report.run_id)
        if run is not None:
            run.status = report.status
            run.stopped_because = report.stopped_because
            run.error = report.error[:1000] if report.error else None
            run.created, run.updated, run.deleted = report.created, report.updated, report.deleted
            run.unchanged, run.failed = report.unchanged, report.failed
            run.calls = report.calls
            run.errors = [error.as_json() for error in report.errors]
            run.operations = (
                [op.as_json() for op in report.operations] if report.operations is not None else None
            )
            run.cursor_to = report.cursor_to
            run.finished_at = report.finished_at
        values: dict[str, Any] = {}
        if state is not None:
            values["call_totals"] = state._call_totals(session)
        stmt = update(Connector).where(Connector.id == connector_id)
        if owner is not None:
            values.update(lease_owner=None, lease_expires_at=None)
            stmt = stmt.where(Connector.lease_owner == owner)
        if values:
            session.execute(stmt.values(**values))
        _prune_runs(session, connector_id)
    return report


def _prune_runs(session: Session, connector_id: int) -> None:
    """Keep the newest KEEP_RUNS runs of a connector."""
    oldest_kept = session.scalar(
        select(ConnectorRun.id)
        .where(ConnectorRun.connector_id == connector_id)
        .order_by(ConnectorRun.id.desc())
        .offset(KEEP_RUNS - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        session.execute(
            delete(ConnectorRun).where(
                ConnectorRun.connector_id == connector_id, ConnectorRun.id < oldest_kept
            )
        )
