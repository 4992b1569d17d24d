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
which takes the turn, runs the groups and settles each request's future on its event loop. A request then
costs no thread of its own: a hop to a thread pool and back cost more CPU (futex and self-pipe wake-ups)
than storing a duplicate payload of 50 records. submit() does the same work in the caller's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from visitorhub.core.db import unit_of_work
from visitorhub.core.service import WriteContext
from visitorhub.integration.channels.receiving import Incoming, Outcome, receive
from visitorhub.integration.channels.service import InboundChannel

MAX_GROUP_RECORDS = 5000


@dataclass(eq=False)
class _Pending:
    channel: InboundChannel
    records: list[Incoming]
    done: bool = False
    outcome: Outcome | None = None
    error: BaseException | None = field(default=None, repr=False)
    # A request's future (submit_async), settled on its event loop once the item is done.
    future: asyncio.Future[Outcome] | None = field(default=None, repr=False)

    def settle(self) -> None:
        self.done = True
        future = self.future
        if future is not None:
            # A closed loop (RuntimeError): nobody waits for the answer any more.
            with suppress(RuntimeError):
                future.get_loop().call_soon_threadsafe(_settle, future, self)


def _settle(future: asyncio.Future[Outcome], item: _Pending) -> None:
    if future.done():  # the request was cancelled meanwhile
        return
    if item.error is not None:
        future.set_exception(item.error)
    else:
        assert item.outcome is not None
        future.set_result(item.outcome)


class GroupCommitter:
    def __init__(self, sessions: sessionmaker[Session], max_group_records: int = MAX_GROUP_RECORDS) -> None:
        self.sessions = sessions
        self.max_group_records = max_group_records
        self._turn = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._queue_lock = threading.Lock()
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        """The writer's turn, for other writing work of the channels (reapply)."""
        with self._turn:
            yield

    def submit(self, channel: InboundChannel, records: list[Incoming]) -> Outcome:
        """Store and apply a checked payload; returns once it is committed (or raises why it is not)."""
        item = _Pending(channel, records)
        with self._queue_lock:
            self._queue.append(item)
        while not item.done:
            with self._turn:
                if not item.done:
                    self._run(self._take())
        if item.error is not None:
            raise item.error
        assert item.outcome is not None
        return item.outcome

    async def submit_async(self, channel: InboundChannel, records: list[Incoming]) -> Outcome:
        """submit() for a request on an event loop: the payload is queued for the writer thread, which
        stores it with the others queued meanwhile; the request awaits the commit without a thread of its
        own (no thread hop a payload, and one wake-up of the loop a group)."""
        item = _Pending(channel, records, future=asyncio.get_running_loop().create_future())
        with self._queue_lock:
            self._queue.append(item)
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write, name="channel-writer", daemon=True)
                self._writer.start()
        self._wake.set()
        assert item.future is not None
        return await item.future

    def _write(self) -> None:
        """The writer thread: groups of the queued payloads, one after the other, while there are any."""
        while True:
            self._wake.wait()
            self._wake.clear()  # before taking: a payload queued after the take sets it again
            while True:
                with self._turn:
                    group = self._take()
                    if not group:
                        break
                    self._run(group)

    def _take(self) -> list[_Pending]:
        """The oldest queued payloads, at least one, up to max_group_records records."""
        group: list[_Pending] = []
        size = 0
        with self._queue_lock:
            while self._queue and (not group or size + len(self._queue[0].records) <= self.max_group_records):
                item = self._queue.popleft()
                group.append(item)
                size += len(item.records)
        return group

    def _run(self, group: list[_Pending]) -> None:
        try:
            with unit_of_work(self.sessions) as session:
                outcomes = self._store(session, group)
        except Exception as exc:
            if len(group) > 1:
                for item in group:
                    self._run([item])
                return
            group[0].error = exc
            group[0].settle()
            return
        except BaseException as exc:  # the thread is being stopped: its group's senders must not wait on
            for item in group:
                item.error = exc
                item.settle()
            raise
        for item, outcome in zip(group, outcomes, strict=True):
            item.outcome = outcome
            item.settle()

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
