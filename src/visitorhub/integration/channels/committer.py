"""Group commit: payloads that wait for the database are stored and applied together, in one transaction.

Senders push concurrently (S-360 runs a stream per institution; several streams at once), and a database
takes one writer at a time (SQLite), or serialises change-log writers (PostgreSQL). Instead of one
transaction per payload, each one committed before the next may start, the thread that gets the writer's
turn takes every payload queued meanwhile (up to MAX_GROUP_RECORDS records) and stores and applies them in
one transaction: records in arrival order, each payload counted as if it had come alone, and every
sender answered only once that transaction is committed. A group that fails is split: each of its
payloads is tried again alone, so one payload's failure never refuses another's.

Within a process, the turn is a lock (other SQLite writers would otherwise poll for the database's lock,
busy_timeout sleeping up to 100 ms between tries). Reapplies take the same turn. Requests announce their
payload as soon as they arrive, so a thread taking the turn can wait a few milliseconds for the payloads
being read meanwhile (senders answered together come back together): without it, the first to return is
stored alone and the others wait for the next turn.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from visitorhub.core.db import unit_of_work
from visitorhub.core.service import WriteContext
from visitorhub.integration.channels.receiving import Incoming, Outcome, receive
from visitorhub.integration.channels.service import InboundChannel

MAX_GROUP_RECORDS = 5000
# How long a group waits for payloads already being received: a few milliseconds against the tens a group's
# transaction takes (PostgreSQL's commit_delay and commit_siblings, MySQL's binlog_group_commit_sync_delay).
GATHER_SECONDS = 0.005


@dataclass(eq=False)
class _Announced:
    queued: bool = False


@dataclass(eq=False)
class _Pending:
    channel: InboundChannel
    records: list[Incoming]
    done: bool = False
    outcome: Outcome | None = None
    error: BaseException | None = field(default=None, repr=False)


class GroupCommitter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        max_group_records: int = MAX_GROUP_RECORDS,
        gather_seconds: float = GATHER_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.max_group_records = max_group_records
        self.gather_seconds = gather_seconds
        self._turn = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._arrivals = threading.Condition()  # guards _queue and _arriving
        self._arriving = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        """The writer's turn, for other writing work of the channels (reapply)."""
        with self._turn:
            yield

    @contextmanager
    def arriving(self) -> Iterator[Callable[[InboundChannel, list[Incoming]], Outcome]]:
        """Announce a payload on its way (a request being read and checked): a thread that takes the turn
        meanwhile waits a moment (gather_seconds at most) for it to join its group. Yields its `submit`."""
        announced = _Announced()
        with self._arrivals:
            self._arriving += 1
        try:
            yield lambda channel, records: self.submit(channel, records, announced)
        finally:
            with self._arrivals:
                if not announced.queued:  # refused before it was queued
                    self._arriving -= 1
                    self._arrivals.notify_all()

    def submit(
        self, channel: InboundChannel, records: list[Incoming], announced: _Announced | None = None
    ) -> Outcome:
        """Store and apply a checked payload; returns once it is committed (or raises why it is not)."""
        item = _Pending(channel, records)
        with self._arrivals:
            self._queue.append(item)
            if announced is not None:
                announced.queued = True
                self._arriving -= 1
            self._arrivals.notify_all()
        while not item.done:
            with self._turn:
                if not item.done:
                    self._run(self._take())
        if item.error is not None:
            raise item.error
        assert item.outcome is not None
        return item.outcome

    def _take(self) -> list[_Pending]:
        """The oldest queued payloads, at least one, up to max_group_records records; first, while payloads
        are announced and there is room, wait for them (at most gather_seconds)."""
        group: list[_Pending] = []
        size = 0
        with self._arrivals:
            deadline = time.monotonic() + self.gather_seconds
            while self._arriving and sum(len(item.records) for item in self._queue) < self.max_group_records:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrivals.wait(left)
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
            group[0].done = True
            return
        except BaseException as exc:  # the thread is being stopped: its group's senders must not wait on
            for item in group:
                item.error = exc
                item.done = True
            raise
        for item, outcome in zip(group, outcomes, strict=True):
            item.outcome = outcome
            item.done = True

    @staticmethod
    def _store(session: Session, group: list[_Pending]) -> list[Outcome]:
        """Each channel's payloads together, in arrival order; channels by id, so that two processes' groups
        lock the channels' rows in the same order (no deadlock on PostgreSQL)."""
        by_channel: dict[int, list[_Pending]] = {}
        for item in group:
            by_channel.setdefault(item.channel.id, []).append(item)
        outcomes: dict[int, Outcome] = {}
        for _channel_id, items in sorted(by_channel.items()):
            channel = items[0].channel
            ctx = WriteContext(actor=f"channel:{channel.name}")
            results = receive(session, channel, [item.records for item in items], ctx)
            for item, outcome in zip(items, results, strict=True):
                outcomes[id(item)] = outcome
        return [outcomes[id(item)] for item in group]
