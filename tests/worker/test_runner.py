"""The worker: due subscriptions run on schedule, and concurrent claimers never take the same one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.factories import create_subscription, create_visitor
from tests.servers import Receiver
from visitorhub.config import Settings
from visitorhub.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from visitorhub.integration.streams.tasks import claim_due_subscriptions
from visitorhub.models import StreamSubscription
from visitorhub.worker.runner import Worker

# Subscriptions that backfill: what a test changed before subscribing is sent too.
_subscribe = partial(create_subscription, startDate="2020-01-01")


@pytest.fixture
def worker_settings(fresh_database_url: str) -> Settings:
    return Settings(
        database_url=fresh_database_url,
        allow_private_targets=True,
        streams_timeout_seconds=2,
        streams_lease_seconds=10,
        worker_poll_seconds=0.1,
    )


@pytest.fixture
def sessions(worker_settings: Settings) -> Iterator[Any]:
    engine = make_engine(worker_settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _next_run(sessions: Any, subscription_id: int) -> Any:
    with unit_of_work(sessions) as session:
        return session.get(StreamSubscription, subscription_id).next_run_at  # type: ignore[union-attr]


def _make_due(sessions: Any) -> None:
    with unit_of_work(sessions) as session:
        session.execute(update(StreamSubscription).values(next_run_at=utcnow() - timedelta(seconds=1)))


class TestSchedule:
    def test_a_due_subscription_runs_and_its_next_run_is_an_interval_away(
        self, committed_api: TestClient, receiver: Receiver, worker_settings: Settings, sessions: Any
    ) -> None:
        create_visitor(committed_api)
        subscription_id = _subscribe(committed_api, receiver.url, name="every-5", intervalMinutes=5)[
            "subscriptionId"
        ]
        before = utcnow()
        with Worker(worker_settings, sessions) as worker:
            worker.run_once()
            assert len(receiver.requests) == 1
            next_run = _next_run(sessions, subscription_id)
            assert timedelta(minutes=5) <= next_run - before <= timedelta(minutes=5, seconds=5)
            create_visitor(committed_api)
            worker.run_once()
            assert len(receiver.requests) == 1  # not due yet
            _make_due(sessions)
            worker.run_once()
        assert len(receiver.requests) == 2

    def test_disabled_subscriptions_do_not_run(
        self, committed_api: TestClient, receiver: Receiver, worker_settings: Settings, sessions: Any
    ) -> None:
        create_visitor(committed_api)
        _subscribe(committed_api, receiver.url, name="off", enabled=False)
        with Worker(worker_settings, sessions) as worker:
            worker.run_once()
        assert receiver.requests == []

    def test_run_forever_stops_when_asked(
        self, committed_api: TestClient, receiver: Receiver, worker_settings: Settings, sessions: Any
    ) -> None:
        create_visitor(committed_api)
        _subscribe(committed_api, receiver.url, name="loop")
        worker = Worker(worker_settings, sessions)
        thread = threading.Thread(target=worker.run_forever)
        thread.start()
        try:
            assert receiver.wait_for(1)
        finally:
            worker.stop.set()
            thread.join(5)
        assert not thread.is_alive()


class TestClaims:
    def test_concurrent_claimers_never_take_the_same_subscription(
        self, committed_api: TestClient, sessions: Any, fresh_database_url: str
    ) -> None:
        ids = {
            _subscribe(committed_api, "http://127.0.0.1:9/hook", name=f"s{i}")["subscriptionId"]
            for i in range(4)
        }
        claimed: list[list[int]] = []
        holding = threading.Event()

        def slow_claimer() -> None:
            # Claims one and keeps its transaction open a while, as a busy worker would.
            with unit_of_work(sessions) as session:
                due = select(StreamSubscription).where(StreamSubscription.next_run_at <= utcnow())
                from visitorhub.worker.claims import claim_due

                rows = claim_due(session, due.order_by(StreamSubscription.id).limit(1))
                for row in rows:
                    row.next_run_at = utcnow() + timedelta(minutes=15)
                session.flush()
                holding.set()
                time.sleep(0.5)
                claimed.append([row.id for row in rows])

        thread = threading.Thread(target=slow_claimer)
        thread.start()
        assert holding.wait(5)
        other = claim_due_subscriptions(sessions, limit=10)
        thread.join(5)
        (first,) = claimed
        assert len(first) == 1
        assert not set(first) & set(other)
        assert set(first) | set(other) == ids
        assert claim_due_subscriptions(sessions, limit=10) == []


class TestKeptResources:
    def test_a_kept_resource_is_opened_once_and_closed_with_the_worker(
        self, worker_settings: Settings, sessions: Any
    ) -> None:
        events: list[str] = []

        @contextmanager
        def client() -> Iterator[str]:
            events.append("open")
            yield "client"
            events.append("close")

        worker = Worker(worker_settings, sessions)
        context = worker.context()
        with worker:
            assert context.keep("client", client) == "client"
            assert context.keep("client", client) == "client"
            assert events == ["open"]
        assert events == ["open", "close"]
