"""Connectors on schedule, through the worker, on a database whose commits are real: event connectors
sync changes at the next tick, batch ones every intervalMinutes, and a tick with nothing to do logs no run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import create_vehicle, create_visitor
from tests.integration.connectors.conftest import consumers_by_reference, create_connector
from visitorhub.config import Settings
from visitorhub.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from visitorhub.integration.connectors.entervo.emulator import Emulator
from visitorhub.models import Connector, ConnectorRecord
from visitorhub.worker.runner import Worker


@pytest.fixture
def worker(fresh_database_url: str) -> Iterator[Worker]:
    engine = make_engine(fresh_database_url)
    settings = Settings(
        database_url=fresh_database_url, allow_private_targets=True, worker_poll_seconds=0.001
    )
    with Worker(settings, make_session_factory(engine)) as running:
        yield running
    engine.dispose()


def _runs(api: TestClient, connector_id: int) -> list[dict[str, object]]:
    return api.get(f"/integration/connectors/{connector_id}/runs").json()["data"]  # type: ignore[no-any-return]


def _due_now(sessions: sessionmaker[Session], connector_id: int) -> None:
    with unit_of_work(sessions) as session:
        session.execute(
            update(Connector)
            .where(Connector.id == connector_id)
            .values(next_run_at=utcnow() - timedelta(seconds=1))
        )


def test_event_connectors_sync_changes_at_the_next_tick(
    committed_api: TestClient, worker: Worker, url: str, emulator: Emulator
) -> None:
    connector_id = create_connector(committed_api, url)["connectorId"]
    worker.run_once()
    (first,) = _runs(committed_api, connector_id)
    assert (first["trigger"], first["full"]) == ("schedule", True)
    visitor = create_visitor(committed_api)
    create_vehicle(committed_api, visitor["visitorId"])
    worker.run_once()
    latest = _runs(committed_api, connector_id)[0]
    assert (latest["full"], latest["created"]) == (False, 1)
    assert visitor["visitorId"] in consumers_by_reference(emulator)
    worker.run_once()  # nothing changed: no run logged, no call
    assert len(_runs(committed_api, connector_id)) == 2


def test_batch_connectors_wait_for_their_interval(
    committed_api: TestClient, worker: Worker, url: str, emulator: Emulator
) -> None:
    connector_id = create_connector(committed_api, url, schedule="batch", intervalMinutes=15)["connectorId"]
    worker.run_once()
    visitor = create_visitor(committed_api)
    create_vehicle(committed_api, visitor["visitorId"])
    worker.run_once()
    assert len(_runs(committed_api, connector_id)) == 1
    assert emulator.consumers("yourproject") == []
    data = committed_api.get(f"/integration/connectors/{connector_id}").json()["data"]
    assert data["lag"] > 0
    _due_now(worker.sessions, connector_id)
    worker.run_once()
    assert _runs(committed_api, connector_id)[0]["created"] == 1
    assert committed_api.get(f"/integration/connectors/{connector_id}").json()["data"]["lag"] == 0


def test_disabled_connectors_do_not_sync(
    committed_api: TestClient, worker: Worker, url: str, emulator: Emulator
) -> None:
    connector_id = create_connector(committed_api, url, enabled=False)["connectorId"]
    worker.run_once()
    assert _runs(committed_api, connector_id) == []
    assert sum(emulator.calls().values()) == 0


def test_a_scheduled_sync_is_a_full_one_again_once_the_last_is_full_sync_hours_old(
    committed_api: TestClient, worker: Worker, url: str, emulator: Emulator
) -> None:
    connector_id = create_connector(committed_api, url, fullSyncHours=6)["connectorId"]
    worker.run_once()
    with unit_of_work(worker.sessions) as session:
        session.execute(
            update(Connector)
            .where(Connector.id == connector_id)
            .values(last_full_sync_at=utcnow() - timedelta(hours=7), next_run_at=None)
        )
    worker.run_once()
    runs = _runs(committed_api, connector_id)
    assert [run["full"] for run in runs] == [True, True]
    assert runs[0]["calls"] == {"token": 1, "search": 1, "create": 0, "update": 0, "delete": 0, "get": 0}


def test_on_schedule_a_failed_record_waits_for_its_back_off(
    committed_api: TestClient, worker: Worker, url: str, emulator: Emulator
) -> None:
    visitor = create_visitor(committed_api)
    create_vehicle(committed_api, visitor["visitorId"])
    connector_id = create_connector(committed_api, url)["connectorId"]
    emulator.fail_next(400, kinds=["create"])
    worker.run_once()
    assert _runs(committed_api, connector_id)[0]["failed"] == 1
    worker.run_once()  # backing off: no run, no call
    assert len(_runs(committed_api, connector_id)) == 1
    with unit_of_work(worker.sessions) as session:
        session.execute(
            update(ConnectorRecord)
            .where(ConnectorRecord.connector_id == connector_id)
            .values(retry_at=utcnow() - timedelta(seconds=1))
        )
    worker.run_once()
    assert _runs(committed_api, connector_id)[0]["created"] == 1
    assert visitor["visitorId"] in consumers_by_reference(emulator)
