"""The group committer's wait for the other senders (GroupCommitter._take): payloads of senders that push at
once share a group even when they arrive a little apart; a lone sender never waits; a sender that does not
come costs at most the bound, once; close() cuts a wait short."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from tests.conftest import new_database
from tests.integration.channels.conftest import Hub, contact
from visitorhub.app import create_app
from visitorhub.config import Settings
from visitorhub.core.db import unit_of_work
from visitorhub.integration.channels import service
from visitorhub.integration.channels.committer import CommitterClosed, GroupCommitter
from visitorhub.integration.channels.receiving import Outcome, parse_payload

ANSWER_TIMEOUT = 30  # seconds: a test that would hang fails instead


class Senders:
    """An event loop in a thread of its own, as the server's: payloads submitted on it with submit_async."""

    def __init__(self, writer: GroupCommitter, channel: service.InboundChannel) -> None:
        self.writer = writer
        self.channel = channel
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def send(self, records: list[dict[str, Any]]) -> Future[Outcome]:
        payload = parse_payload(json.dumps(records).encode(), self.channel)
        return asyncio.run_coroutine_threadsafe(self.writer.submit_async(self.channel, payload), self.loop)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(ANSWER_TIMEOUT)
        self.loop.close()


def _read(hub: Hub, path: str) -> service.InboundChannel:
    with unit_of_work(hub.app.state.read_sessions) as session:
        return service.find_inbound(session, path, hub.app.state.settings)


@pytest.fixture
def make(hub: Hub) -> Iterator[Any]:
    """make(group_wait_ms, channel=None): a committer and senders on a new channel; all closed after."""
    made: list[tuple[GroupCommitter, Senders]] = []

    def build(group_wait_ms: float, channel: dict[str, Any] | None = None) -> tuple[GroupCommitter, Senders]:
        channel = channel or hub.channel()
        writer = GroupCommitter(hub.app.state.sessions, group_wait_ms=group_wait_ms)
        senders = Senders(writer, _read(hub, channel["path"]))
        made.append((writer, senders))
        return writer, senders

    yield build
    for writer, senders in made:
        writer.close(ANSWER_TIMEOUT)
        senders.stop()


def _queued(writer: GroupCommitter, count: int) -> None:
    """Until `count` payloads are queued (the test holds the turn: none is taken)."""
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while len(writer._queue) < count:
        assert time.monotonic() < deadline, "the payloads were never queued"
        time.sleep(0.001)


def _together(writer: GroupCommitter, senders: Senders, payloads: list[list[dict[str, Any]]]) -> None:
    """The payloads in flight at once (queued while the test holds the turn), stored in one group: the
    committer has seen that many senders."""
    with writer.turn():
        answers = [senders.send(payload) for payload in payloads]
        _queued(writer, len(payloads))
    for answer in answers:
        answer.result(ANSWER_TIMEOUT)


def test_a_lone_sender_never_waits(make: Any) -> None:
    writer, senders = make(group_wait_ms=60_000)  # a wait would fail the test (ANSWER_TIMEOUT)
    for i in range(5):
        assert senders.send([{"id": f"lone-{i}"}]).result(ANSWER_TIMEOUT).accepted == 1
    outcome = writer.submit(senders.channel, parse_payload(b'[{"id": "lone-sync"}]', senders.channel))
    assert outcome.accepted == 1
    assert writer.stats.waits == 0
    assert writer.stats.sizes == {1: 6}


def test_senders_pushing_at_once_share_groups_though_they_arrive_apart(make: Any) -> None:
    writer, senders = make(group_wait_ms=60_000)
    _together(writer, senders, [[{"id": f"first-{s}"}] for s in range(3)])
    # The same three senders' next payloads, 10 ms apart: the committer waits for all three.
    answers = []
    for s in range(3):
        answers.append(senders.send([{"id": f"second-{s}"}, {"id": "shared"}]))
        time.sleep(0.01)
    outcomes = [answer.result(ANSWER_TIMEOUT) for answer in answers]
    assert [(o.accepted, o.duplicates) for o in outcomes] == [(2, 0), (2, 1), (2, 1)]  # in arrival order
    assert writer.stats.sizes == {3: 2}
    assert (writer.stats.waits, writer.stats.waits_timed_out) == (1, 0)


def test_the_wait_for_a_sender_that_does_not_come_is_bounded(make: Any) -> None:
    writer, senders = make(group_wait_ms=50)
    _together(writer, senders, [[{"id": "a-1"}], [{"id": "b-1"}]])
    began = time.monotonic()
    assert senders.send([{"id": "a-2"}]).result(ANSWER_TIMEOUT).accepted == 1  # b never sends again
    assert time.monotonic() - began >= 0.05
    assert (writer.stats.waits, writer.stats.waits_timed_out) == (1, 1)
    # The sender that went away is forgotten: the next payload is taken at once.
    assert senders.send([{"id": "a-3"}]).result(ANSWER_TIMEOUT).accepted == 1
    assert writer.stats.waits == 1
    assert writer.stats.sizes == {2: 1, 1: 2}


def test_a_group_is_taken_without_waiting_once_it_holds_max_group_records(make: Any) -> None:
    writer, senders = make(group_wait_ms=60_000)
    writer.max_group_records = 3
    _together(writer, senders, [[{"id": f"full-{s}"}] for s in range(3)])
    # Three senders seen, and one payload queued: its three records fill a group, which is taken at once.
    outcome = senders.send([{"id": "full-a"}, {"id": "full-b"}, {"id": "full-c"}]).result(ANSWER_TIMEOUT)
    assert outcome.accepted == 3
    assert writer.stats.sizes == {3: 1, 1: 1}
    assert writer.stats.waits == 0


def test_close_cuts_a_wait_short_and_refuses_what_comes_after(make: Any, hub: Hub) -> None:
    channel = hub.channel()
    writer, senders = make(group_wait_ms=60_000, channel=channel)
    _together(writer, senders, [[{"id": "c-1"}], [{"id": "c-2"}]])
    waiting = senders.send([{"id": "c-3"}])
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while writer.stats.waits == 0:  # the writer waits for the second sender
        assert time.monotonic() < deadline
        time.sleep(0.001)
    writer.close(ANSWER_TIMEOUT)
    assert waiting.result(ANSWER_TIMEOUT).accepted == 1  # stored before the writer ended
    assert writer._writer is None
    with pytest.raises(CommitterClosed):
        senders.send([{"id": "c-4"}]).result(ANSWER_TIMEOUT)
    with pytest.raises(CommitterClosed):
        writer.submit(senders.channel, parse_payload(b'[{"id": "c-5"}]', senders.channel))
    assert sorted(r["sourceId"] for r in hub.records(channel)) == ["c-1", "c-2", "c-3"]


def test_concurrent_senders_lose_and_double_nothing(make: Any, hub: Hub) -> None:
    """Four senders on one loop, each pushing its payloads one after another (as the server's requests
    do); a third of the records are sent by two senders."""
    channel = hub.contacts_channel()
    writer, senders = make(group_wait_ms=5, channel=channel)
    contacts = [contact(i) for i in range(48)]
    shares = [
        contacts[12 * s : 12 * s + 12] + contacts[12 * ((s + 1) % 4) : 12 * ((s + 1) % 4) + 4]
        for s in range(4)
    ]

    async def sender(share: list[dict[str, Any]]) -> list[Outcome]:
        outcomes = []
        for start in range(0, len(share), 4):
            payload = parse_payload(json.dumps(share[start : start + 4]).encode(), senders.channel)
            outcomes.append(await writer.submit_async(senders.channel, payload))
        return outcomes

    async def everyone() -> list[list[Outcome]]:
        return await asyncio.gather(*(sender(share) for share in shares))

    results = asyncio.run_coroutine_threadsafe(everyone(), senders.loop).result(ANSWER_TIMEOUT)
    outcomes = [outcome for outcomes in results for outcome in outcomes]
    assert len(outcomes) == 16
    assert sum(o.accepted for o in outcomes) == 64
    assert sum(o.applied for o in outcomes) == 48
    assert sum(o.duplicates for o in outcomes) == 16
    assert sum(o.quarantined for o in outcomes) == 0
    emails = [c["email"] for c in contacts]
    assert hub.stored(channel) == 48
    assert hub.visitors(*emails) == hub.visitor_changes(*emails) == 48
    assert sorted(r["timesReceived"] for r in hub.records(channel)) == [1] * 32 + [2] * 16
    assert writer.stats.payloads == 16
    assert hub.read(channel)["payloadsReceived"] == 16


def test_stopping_the_app_closes_its_committer(tmp_path: Path) -> None:
    """The app's shutdown (lifespan) closes the committer the first payload made: its thread ends."""
    with new_database(tmp_path) as url:
        app = create_app(Settings(database_url=url))
        writer = GroupCommitter(app.state.sessions)
        app.state.channel_committer = writer
        with TestClient(app):
            assert not writer._closed
        assert writer._closed
        with pytest.raises(CommitterClosed):
            writer.submit(cast(Any, None), [])
        app.state.engine.dispose()
