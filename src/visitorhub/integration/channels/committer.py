"""Group commit: payloads that wait for the database are stored and applied together, in one transaction.

Senders push concurrently (S-360 runs a stream per institution; several streams at once), and a database
takes one writer at a time (SQLite), or serialises change-log writers (PostgreSQL). Instead of one
transaction per payload, each one committed before the next may start, the thread that gets the writer's
turn takes every payload queued meanwhile (up to MAX_GROUP_RECORDS records) and stores and applies them in
one transaction: records in arrival order, each payload counted as if it had come alone, and every
sender answered only once that transaction is committed. A group that fails is split: each of its
payloads is tried again alone, so one payload's failure never refuses another's.

Within a process, the turn is a lock (other SQLite writers would otherwise poll for the database's lock,
busy_timeout sleeping up to 100 ms between tries). Reapplies take the same turn.

Requests use submit_async: the payload is queued for the committer's writer thread (started on first use),
which takes the turn, runs the groups and settles the requests' futures (one wake-up of each event loop a
group). A request then costs no thread of its own: a hop to a thread pool and back cost more CPU (futex and
self-pipe wake-ups) than storing a duplicate payload of 50 records. submit() does the same work in the
caller's thread, without the wait below.

Waiting for the other senders (as PostgreSQL's commit_delay/commit_siblings and MySQL's
binlog_group_commit_sync_delay/_no_delay_count do): a group costs 3 to 5 ms however many payloads it holds
(its statements, the commit, the import's set-up), so four senders are served best by groups of four. But
a sender's next payload arrives only after its answer went out, so the writer, free again, would find one
or two payloads queued and take them alone. So the writer counts the payloads in flight (submitted, not yet
answered); the most in flight at once since its last take is the number of senders recently active. When
fewer payloads than that are queued it waits for the missing ones, at most `group_wait`
(VISITORHUB_CHANNELS_GROUP_WAIT_MS, default 5 ms: measured with 4 senders on this bench machine, the last
of a group's payloads arrived within 3 ms of the first in 95% of groups and within 5.5 ms in 99%; at 2 ms
15 to 45% of the waits ran out), and never when that number is one, so a lone sender is never delayed. A
group fills up to max_group_records without waiting. The count starts again at every take (from what is
still in flight), so senders that went away cost one wait, once. Waits are bounded and end on close(),
so they cannot stall a stop; the state is one lock and one condition, never held while waiting for the
turn. Measured (bench/channels.py, 20,000 records, 4 senders, two runs each): groups of 4 in 98% of the
groups instead of about half of them holding one or two payloads, and the server's CPU a record 238-295 ->
188-194 us.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings
from visitorhub.core.db import unit_of_work
from visitorhub.core.service import WriteContext
from visitorhub.integration.channels.receiving import Incoming, Outcome, receive
from visitorhub.integration.channels.service import InboundChannel

MAX_GROUP_RECORDS = 5000
DEFAULT_GROUP_WAIT_MS: float = Settings.model_fields["channels_group_wait_ms"].default


@dataclass(eq=False)
class _Pending:
    channel: InboundChannel
    records: list[Incoming]
    done: bool = False
    outcome: Outcome | None = None
    error: BaseException | None = field(default=None, repr=False)
    # A request's future (submit_async), settled on its event loop once the item is done.
    future: asyncio.Future[Outcome] | None = field(default=None, repr=False)


def _answer(items: list[_Pending]) -> None:
    """On the requests' event loop: each one's result (unless it was cancelled meanwhile)."""
    for item in items:
        future = item.future
        assert future is not None
        if future.done():
            continue
        if item.error is not None:
            future.set_exception(item.error)
        else:
            assert item.outcome is not None
            future.set_result(item.outcome)


@dataclass
class GroupStats:
    """What the committer did so far (tests and diagnostics): groups run, payloads in them (a group of k
    payloads counts once under k), waits for expected payloads and those that ran out of time."""

    groups: int = 0
    payloads: int = 0
    sizes: Counter[int] = field(default_factory=Counter)
    waits: int = 0
    waits_timed_out: int = 0


class CommitterClosed(RuntimeError):
    """The committer was closed (the app is stopping): nothing more is taken."""


class GroupCommitter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        max_group_records: int = MAX_GROUP_RECORDS,
        group_wait_ms: float = DEFAULT_GROUP_WAIT_MS,
    ) -> None:
        self.sessions = sessions
        self.max_group_records = max_group_records
        self.group_wait = group_wait_ms / 1000
        self.stats = GroupStats()
        self._turn = threading.Lock()
        # Guards the queue and the counts below; the writer waits on it for payloads.
        self._state = threading.Condition(threading.Lock())
        self._queue: deque[_Pending] = deque()
        self._queued_records = 0
        self._in_flight = 0  # payloads submitted and not yet settled
        self._peak = 0  # the most in flight at once since the last take: the senders recently active
        self._wanted = 0  # the writer waits until this many payloads are queued (0: it is not waiting)
        self._writer: threading.Thread | None = None
        self._closed = False

    @contextmanager
    def turn(self) -> Iterator[None]:
        """The writer's turn, for other writing work of the channels (reapply)."""
        with self._turn:
            yield

    def submit(self, channel: InboundChannel, records: list[Incoming]) -> Outcome:
        """Store and apply a checked payload; returns once it is committed (or raises why it is not). Takes
        no wait for other senders: the group is whatever is queued when the caller gets the turn."""
        item = _Pending(channel, records)
        self._enqueue(item)
        while not item.done:
            with self._turn:
                if not item.done:
                    self._run_group(self._take(wait=False))
        if item.error is not None:
            raise item.error
        assert item.outcome is not None
        return item.outcome

    async def submit_async(self, channel: InboundChannel, records: list[Incoming]) -> Outcome:
        """submit() for a request on an event loop: the payload is queued for the writer thread, which
        stores it with the others queued meanwhile; the request awaits the commit without a thread of its
        own (no thread hop a payload, and one wake-up of the loop a group)."""
        item = _Pending(channel, records, future=asyncio.get_running_loop().create_future())
        self._enqueue(item, start_writer=True)
        assert item.future is not None
        return await item.future

    def close(self, timeout: float | None = None) -> None:
        """Stop: the writer thread runs what is queued without waiting for more, then ends (joined up to
        `timeout` seconds); later submissions raise CommitterClosed."""
        with self._state:
            self._closed = True
            self._state.notify_all()
            writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout)

    def _enqueue(self, item: _Pending, start_writer: bool = False) -> None:
        with self._state:
            if self._closed:
                raise CommitterClosed("The channel committer is closed (the server is stopping).")
            self._queue.append(item)
            self._queued_records += len(item.records)
            self._in_flight += 1
            if self._in_flight > self._peak:
                self._peak = self._in_flight
            wanted = self._wanted
            if wanted and (len(self._queue) >= wanted or self._queued_records >= self.max_group_records):
                self._state.notify()
            if start_writer and (self._writer is None or not self._writer.is_alive()):
                self._writer = threading.Thread(target=self._write, name="channel-writer", daemon=True)
                self._writer.start()

    def _write(self) -> None:
        """The writer thread: groups of the queued payloads, one after the other, while there are any;
        ends once the committer is closed and nothing is queued."""
        while True:
            with self._state:
                self._wanted = 1
                while not self._queue and not self._closed:
                    self._state.wait()
                self._wanted = 0
                if not self._queue:  # closed, and nothing left
                    self._writer = None
                    return
            with self._turn:
                self._run_group(self._take(wait=True))

    def _take(self, wait: bool) -> list[_Pending]:
        """The oldest queued payloads (none when another thread took them), up to max_group_records
        records. With `wait`, first waits (up to group_wait) until as many payloads are queued as were in
        flight at once since the last take, unless that peak is one (a lone sender never waits)."""
        group: list[_Pending] = []
        size = 0
        with self._state:
            queue = self._queue
            if wait and self.group_wait > 0 and queue and self._short_of(self._peak):
                self._wait_for(self._peak)
            while queue and (not group or size + len(queue[0].records) <= self.max_group_records):
                item = queue.popleft()
                group.append(item)
                size += len(item.records)
            self._queued_records -= size
            # The window starts again: what is in flight now (this group, what it left queued), raised by
            # every payload that arrives until the next take.
            self._peak = self._in_flight
        return group

    def _short_of(self, expected: int) -> bool:
        """Fewer than `expected` payloads queued, and fewer records than a group takes, and not closed."""
        return (
            len(self._queue) < expected and self._queued_records < self.max_group_records and not self._closed
        )

    def _wait_for(self, expected: int) -> None:
        """Wait (the state's lock held) until `expected` payloads are queued, a group's worth of records
        is, the committer is closed, or group_wait has passed."""
        self.stats.waits += 1
        self._wanted = expected
        deadline = time.monotonic() + self.group_wait
        try:
            while self._short_of(expected):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.stats.waits_timed_out += 1
                    return
                self._state.wait(remaining)
        finally:
            self._wanted = 0

    def _run_group(self, group: list[_Pending]) -> None:
        """Store and apply the group, then answer its senders."""
        if not group:
            return
        self.stats.groups += 1
        self.stats.payloads += len(group)
        self.stats.sizes[len(group)] += 1
        try:
            self._run(group)
        except BaseException as exc:  # the thread is being stopped: its group's senders must not wait on
            for item in group:
                if item.outcome is None and item.error is None:
                    item.error = exc
            raise
        finally:
            self._settle(group)

    def _run(self, group: list[_Pending]) -> None:
        """Each item's outcome, or its error: a group that fails is run again a payload at a time."""
        try:
            with unit_of_work(self.sessions) as session:
                outcomes = self._store(session, group)
        except Exception as exc:
            if len(group) > 1:
                for item in group:
                    self._run([item])
                return
            group[0].error = exc
            return
        for item, outcome in zip(group, outcomes, strict=True):
            item.outcome = outcome

    def _settle(self, group: list[_Pending]) -> None:
        """The group is no longer in flight (counted before any sender hears of it: a sender's next
        payload must not find it still counted), then each sender is answered: one wake-up of each event
        loop for its requests of the group."""
        with self._state:
            self._in_flight -= len(group)
        by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        for item in group:
            item.done = True
            if item.future is not None:
                by_loop.setdefault(item.future.get_loop(), []).append(item)
        for loop, items in by_loop.items():
            # A closed loop (RuntimeError): nobody waits for the answers any more.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(_answer, items)

    @staticmethod
    def _store(session: Session, group: list[_Pending]) -> list[Outcome]:
        """Each channel's payloads together, in arrival order; channels by id, so that two processes' groups
        lock the channels' rows in the same order (no deadlock on PostgreSQL)."""
        by_channel: dict[tuple[int, Any], list[_Pending]] = {}
        for item in group:  # payloads checked against another version of a channel are received apart
            by_channel.setdefault((item.channel.id, item.channel.version), []).append(item)
        outcomes: dict[int, Outcome] = {}
        for _key, items in sorted(by_channel.items(), key=lambda entry: entry[0][0]):
            channel = items[0].channel
            ctx = WriteContext(actor=f"channel:{channel.name}")
            results = receive(session, channel, [item.records for item in items], ctx)
            for item, outcome in zip(items, results, strict=True):
                outcomes[id(item)] = outcome
        return [outcomes[id(item)] for item in group]
