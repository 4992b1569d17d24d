"""Runs on an engine of their own, committing for real as the worker and the CLI do: payloads follow each
other without gaps or repeats, across runs, failures and changes made in between."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import create_subscription, create_visitor
from tests.servers import Receiver
from visitorhub.config import Settings
from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
from visitorhub.integration.streams.delivery import RunReport, run_subscription
from visitorhub.integration.streams.sender import Sender
from visitorhub.models import ChangeLogEntry, StreamDelivery

# Subscriptions that backfill: what a test changed before subscribing is sent too.
_subscribe = partial(create_subscription, startDate="2020-01-01")


@pytest.fixture
def sessions(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _run(sessions: sessionmaker[Session], settings: Settings, subscription_id: int) -> RunReport:
    with Sender(settings) as sender:
        return run_subscription(sessions, subscription_id, settings, sender)


def _visitor_seqs(sessions: sessionmaker[Session]) -> list[int]:
    with unit_of_work(sessions) as session:
        stmt = select(ChangeLogEntry.seq).where(ChangeLogEntry.entity == "Visitor")
        return list(session.scalars(stmt.order_by(ChangeLogEntry.seq)))


def test_payloads_follow_each_other_without_gaps_or_repeats(
    committed_api: TestClient, receiver: Receiver, sessions: sessionmaker[Session], settings: Settings
) -> None:
    for _ in range(7):
        create_visitor(committed_api)
    subscription_id = _subscribe(committed_api, receiver.url, maxPerPayload=2, maxPerRun=5)["subscriptionId"]
    report = _run(sessions, settings, subscription_id)
    assert [p.record_count for p in report.payloads] == [2, 2, 1]  # the last one cut by maxPerRun
    report = _run(sessions, settings, subscription_id)
    assert [p.record_count for p in report.payloads] == [2]
    assert [r["seq"] for r in receiver.records()] == _visitor_seqs(sessions)


def test_a_failure_is_followed_by_the_same_payload_then_later_changes(
    committed_api: TestClient, receiver: Receiver, sessions: sessionmaker[Session], settings: Settings
) -> None:
    for _ in range(4):
        create_visitor(committed_api)
    subscription_id = _subscribe(committed_api, receiver.url, maxPerPayload=1)["subscriptionId"]
    receiver.answer(200, 500)
    report = _run(sessions, settings, subscription_id)
    assert [p.outcome for p in report.payloads] == ["delivered", "failed"]
    with unit_of_work(sessions) as session:
        # The payload after the failed one was stored while the failed one was on the wire: it waits.
        statuses = session.scalars(select(StreamDelivery.status).order_by(StreamDelivery.first_seq))
        assert list(statuses) == ["delivered", "pending", "pending"]
    create_visitor(committed_api)  # changes made meanwhile come after, in order
    _run(sessions, settings, subscription_id)
    accepted = [receiver.requests[0], *receiver.requests[2:]]
    assert receiver.requests[2].body == receiver.requests[1].body
    assert [r["seq"] for request in accepted for r in request.json] == _visitor_seqs(sessions)
