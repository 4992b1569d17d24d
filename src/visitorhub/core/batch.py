"""WriteBatch: the write path for many records at once (template imports, channels, connectors).

Records are planned one by one through their services (the same rules as the REST API), then written
together: one flush for the updates, one executemany per entity for the new records (parents first, in the
order their entities first appear), then every change record in one insert, in planning order.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, make_transient_to_detached

from visitorhub.core import changelog
from visitorhub.core.db import BULK_PRAGMAS, utcnow
from visitorhub.core.service import CrudService, WriteContext


class WriteBatch:
    """Collects planned creates and updates, then writes them with their change records."""

    def __init__(self, session: Session, ctx: WriteContext | None = None) -> None:
        self.session = session
        self.ctx = ctx or WriteContext()
        self._entries: list[tuple[CrudService[Any], str, Any]] = []
        self._new: dict[CrudService[Any], list[Any]] = {}
        self._created: set[Any] = set()
        # The creation instant of the batch's new records: one object, whose stored text is made once.
        self.now = utcnow()

    def create(self, service: CrudService[Any], planned: dict[str, Any]) -> Any:
        """A new record from values planned by service.plan_create; inserted by write()."""
        record = service.new_record(planned, self.now)
        self._new.setdefault(service, []).append(record)
        self._created.add(record)
        self._entries.append((service, "create", record))
        return record

    def update(self, service: CrudService[Any], record: Any, diff: dict[str, Any]) -> None:
        """Apply a diff planned by service.plan_update (not empty); flushed by write(). The record may be
        one this batch creates (the insert then carries the new values) or one an earlier batch inserted,
        which insert_many left out of the session: it joins the session as the stored row it is."""
        if record not in self._created and sa_inspect(record).transient:
            make_transient_to_detached(record)
            self.session.add(record)
        service.apply_update(self.session, record, diff)
        self._entries.append((service, "update", record))

    def write(self) -> None:
        """Flush the updates, insert the new records, append the change records; then start empty."""
        self.session.flush()
        for service, records in self._new.items():
            service.insert_many(self.session, records)
        changelog.append_many(
            self.session,
            [
                {
                    "entity": service.entity,
                    "entity_id": service.entity_id(record),
                    "operation": operation,
                    "data": service.represent_stored(record),
                }
                for service, operation, record in self._entries
            ],
        )
        self._entries = []
        self._new = {}
        self._created = set()
        self.now = utcnow()


T = TypeVar("T")
_END = object()  # read_ahead: the items are exhausted


@contextlib.contextmanager
def read_ahead(items: Iterator[T]) -> Iterator[Iterator[T]]:
    """`items` made by a thread of their own, one ahead of their consumer: a file's next rows read, parsed
    and hashed while the consumer waits for the database (which releases the interpreter's lock). At most
    one item is made ahead (memory: one chunk more). An error of `items` reaches the consumer where it
    would have. Leaving the block stops the thread once it has made the item it is on (an `items` that
    blocks for ever would hold the exit)."""
    ready: queue.SimpleQueue[Any] = queue.SimpleQueue()
    turn = threading.Semaphore(1)  # released each time the consumer takes an item: make the next one
    stop = threading.Event()

    def make() -> None:
        try:
            while True:
                turn.acquire()
                if stop.is_set():
                    return
                item = next(items, _END)
                ready.put(item)
                if item is _END:
                    return
        except BaseException as exc:  # handed to the consumer, in its thread
            ready.put(exc)

    def taken() -> Iterator[T]:
        while (item := ready.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            turn.release()
            yield item

    thread = threading.Thread(target=make, name="read-ahead", daemon=True)
    thread.start()
    try:
        yield taken()
    finally:
        stop.set()
        turn.release()  # a thread waiting for its turn sees the stop
        thread.join()


class _CollectionPause:
    """While batches run, the cyclic garbage collector runs only where a batch writer calls collect().

    A batch allocates dozens of containers per row (rows, values, records, parameters) that live until its
    chunk ends and are then freed by reference counting, not by the collector. Automatic collections meet
    them alive: each young pass promotes them, and the older passes rescan them with the whole process
    heap, about a tenth of an import's time even with rare young passes. Writers call collect() between
    chunks instead, where few objects are alive. It collects the young generations when more than `young`
    objects survived since the last pass, or `young_every` seconds after it: a few reference cycles (SQL
    expressions holding a chunk's looked-up values) may hold much, and must not wait long (a million-row
    import peaked 70 MB higher when they waited for the full pass). The whole heap is collected at most every
    `full_every` seconds. The pause is process-wide: the first batch to start pauses automatic collection,
    the last to end restores it.
    """

    def __init__(self, young: int, young_every: float, full_every: float) -> None:
        self.young = young
        self.young_every = young_every
        self.full_every = full_every
        self._lock = threading.Lock()
        self._users = 0
        self._was_enabled = False
        self._last_young = self._last_full = 0.0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._was_enabled = gc.isenabled()
                self._last_young = self._last_full = time.monotonic()
                gc.disable()
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._was_enabled:
                    gc.enable()

    def collect(self) -> None:
        """Between chunks: what automatic collection would have found, at a fraction of its cost."""
        now = time.monotonic()
        if now - self._last_full >= self.full_every:
            self._last_full = self._last_young = now
            gc.collect()
        elif gc.get_count()[0] > self.young or now - self._last_young >= self.young_every:
            self._last_young = now
            gc.collect(1)


bulk_collections = _CollectionPause(young=20_000, young_every=0.5, full_every=60.0)


# PostgreSQL settings of a bulk writer's connection.
# - plan_cache_mode: psycopg prepares a statement run five times, and the server then keeps a generic plan,
#   costed while the import's tables were still small (no ANALYZE runs mid-import): the chunk's key and
#   unique lookups then scan whole tables. Measured on 50,000 rows: 1,384 rows/s with generic plans, 2,535
#   with a plan made for each statement's values.
# - random_page_cost: a chunk's lookups (5,000 keys or content hashes) read index and heap pages the import
#   keeps in cache. Costed as random reads from disk (the default 4), a lookup of 5,000 hashes in a table of
#   200,000 rows is planned as a parallel scan of the whole table: 58 ms, against 21 by the hash's index
#   (measured). 1.1 is the value usual for SSDs and cached data; the connection's own comes back after.
BULK_SETTINGS = {"plan_cache_mode": "force_custom_plan", "random_page_cost": "1.1"}


class PlannerStatistics:
    """PostgreSQL: the planner's statistics of the tables a bulk writer grows, kept up to date as it writes.

    A table's statistics are those of its last ANALYZE, which autovacuum runs some time after a change. A
    table a bulk writer grew from empty, or doubled, has none that fit: lookups on a column without a unique
    index (the content hashes a re-import finds records by, the probe of each chunk) are then planned as if
    each value matched a two-hundredth of the table, and read it whole (measured at 50,000 rows: 45 us per
    looked-up value instead of 5). So the writer ANALYZEs a table each time it has inserted at least as
    many rows as the table held at its last ANALYZE (and 10,000), a handful of times in an import of
    millions; and, when it ends, if it inserted a tenth of the table since (autovacuum's own threshold)
    and at least FINAL rows. Elsewhere (SQLite plans these lookups by their index), nothing."""

    GROWTH = 10_000  # rows inserted before the first ANALYZE during a write
    FINAL = 1_000  # rows inserted before an ANALYZE when the write ends

    def __init__(self, session: Session, tables: Sequence[Table]) -> None:
        self.session = session
        connection = session.connection()
        self.active = connection.dialect.name == "postgresql"
        self._tables = {table.name: table for table in tables}
        self._held: dict[str, float] = {}  # rows a table held at its last ANALYZE (estimated)
        self._added = dict.fromkeys(self._tables, 0)  # rows inserted since
        if self.active:
            for name, table in self._tables.items():
                qualified = connection.dialect.identifier_preparer.format_table(table)
                held = connection.exec_driver_sql(
                    "SELECT reltuples FROM pg_class WHERE oid = %(table)s::regclass", {"table": qualified}
                ).scalar()
                self._held[name] = max(float(held or 0), 0.0)  # -1: never analyzed

    def inserted(self, table: str, rows: int) -> None:
        self._added[table] = self._added.get(table, 0) + rows

    def refresh(self, final: bool = False) -> list[str]:
        """ANALYZE the tables grown enough since their last ANALYZE; the names of those analyzed."""
        if not self.active:
            return []
        analyzed = []
        connection = self.session.connection()
        for name, table in self._tables.items():
            added, held = self._added.get(name, 0), self._held[name]
            due = added >= max(held, self.GROWTH) or (final and added >= max(0.1 * held, self.FINAL))
            if due:
                preparer = connection.dialect.identifier_preparer
                connection.exec_driver_sql(f"ANALYZE {preparer.format_table(table)}")
                self._held[name], self._added[name] = held + added, 0
                analyzed.append(name)
        return analyzed


@contextlib.contextmanager
def bulk_pragmas(session: Session) -> Iterator[None]:
    """The settings of a bulk writer on the session's connection while the block runs (SQLite:
    core.db.BULK_PRAGMAS; PostgreSQL: BULK_SETTINGS), its own values again afterwards, so the pooled
    connection serves requests as configured."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        wanted = list(BULK_SETTINGS.items())
        read, write = "SHOW {}", "SET {} = '{}'"
    elif dialect == "sqlite":
        wanted = [(pragma.split("=", 1)[0], pragma.split("=", 1)[1]) for pragma in BULK_PRAGMAS]
        read, write = "PRAGMA {}", "PRAGMA {}={}"
    else:
        wanted, read, write = [], "", ""  # other databases: nothing to set
    saved: list[tuple[str, Any]] = []
    for name, value in wanted:
        saved.append((name, connection.exec_driver_sql(read.format(name)).scalar()))
        connection.exec_driver_sql(write.format(name, value))
    try:
        yield
    finally:
        # After an error the session may refuse statements until rolled back: its error must not be
        # masked by this one (the pooled connection then keeps the bulk settings until it is recycled).
        with contextlib.suppress(SQLAlchemyError):
            connection = session.connection()
            for name, before in saved:
                connection.exec_driver_sql(write.format(name, before))
