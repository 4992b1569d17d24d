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
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
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


class GroupCommitter:
    def __init__(self, sessions: sessionmaker[Session], max_group_records: int = MAX_GROUP_RECORDS) -> None:
        self.sessions = sessions
        self.max_group_records = max_group_records
        self._turn = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._queue_lock = threading.Lock()

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
