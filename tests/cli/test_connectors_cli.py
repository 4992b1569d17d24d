"""`visitorhub connectors list|sync` against the entervo emulator on loopback (in-process, and as real
processes for kill -9): a sync killed with SIGKILL mid-run, then run again, never gives a visitor a second
consumer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.asgi_servers import AsgiServer, serving
from tests.cli.runner import run_cli
from tests.integration.connectors.conftest import (
    CLIENT_ID,
    CUSTOMER,
    PROJECT,
    SECRET,
    consumers_by_reference,
    create_connector,
    seed_visitors,
)
from visitorhub.core.db import make_engine, make_session_factory
from visitorhub.integration.connectors.entervo.emulator import Emulator, create_emulator


@pytest.fixture
def remote() -> Iterator[tuple[AsgiServer, Emulator]]:
    app = create_emulator(PROJECT, CLIENT_ID, SECRET, CUSTOMER)
    with serving(app) as server:
        yield server, app.state.emulator


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITORHUB_")}
    env.update(
        {
            "VISITORHUB_DATABASE_URL": url,
            "VISITORHUB_ALLOW_PRIVATE_TARGETS": "true",
            "COLUMNS": "250",
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _cli(*args: str, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "visitorhub", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(url),
    )


def _seed(url: str, count: int) -> list[str]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        ids = seed_visitors(session, count)
    engine.dispose()
    return ids


def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def _run(*args: str, url: str) -> tuple[int, str, str]:
    """The CLI in this process (no start-up to pay), with loopback targets allowed."""
    done = run_cli(*args, url=url, VISITORHUB_ALLOW_PRIVATE_TARGETS="true", COLUMNS="250")
    return done.returncode, done.stdout, done.stderr


class TestSync:
    def test_a_sync_reports_as_json_and_list_shows_the_connector(
        self, committed_api: TestClient, fresh_database_url: str, remote: tuple[AsgiServer, Emulator]
    ) -> None:
        server, emulator = remote
        ids = _seed(fresh_database_url, 3)
        create_connector(committed_api, server.url, name="barrier")
        code, stdout, stderr = _run("connectors", "sync", "barrier", "--json", url=fresh_database_url)
        assert code == 0, stderr
        report = json.loads(stdout)
        assert (report["full"], report["created"], report["status"]) == (True, 3, "ok")
        assert report["trigger"] == "cli"
        assert set(consumers_by_reference(emulator)) == set(ids)
        code, stdout, _stderr = _run("connectors", "list", url=fresh_database_url)
        assert code == 0
        assert "barrier" in stdout
        assert "entervo" in stdout
        code, _stdout, stderr = _run("connectors", "sync", "nope", url=fresh_database_url)
        assert code == 1
        assert "'nope' does not exist" in stderr

    def test_a_dry_run_prints_the_plan_and_a_failed_record_exits_1(
        self, committed_api: TestClient, fresh_database_url: str, remote: tuple[AsgiServer, Emulator]
    ) -> None:
        server, emulator = remote
        ids = _seed(fresh_database_url, 2)
        create_connector(committed_api, server.url, name="plan", settings={"concurrency": 1})
        code, stdout, stderr = _run("connectors", "sync", "plan", "--dry-run", url=fresh_database_url)
        assert code == 0, stderr
        assert "full, dry run" in stdout
        planned = [line.split("\t") for line in stdout.splitlines() if line.startswith("create\t")]
        assert {reference for _op, reference, _business_id in planned} == set(ids)
        assert emulator.consumers(PROJECT) == []
        emulator.fail_next(400, count=1, kinds=["create"])
        code, stdout, stderr = _run("connectors", "sync", "plan", url=fresh_database_url)
        assert code == 1
        assert "failed" in stdout
        assert "HTTP 400" in stderr


class TestCrashes:
    def _kill_mid_sync(
        self, fresh_database_url: str, emulator: Emulator, name: str, when: int
    ) -> dict[str, str]:
        """Run `connectors sync NAME` with slow answers, SIGKILL it once the emulator holds `when`
        consumers; the consumers' business ids by reference then."""
        emulator.set_latency(0.03)
        process = _cli("connectors", "sync", name, url=fresh_database_url)
        try:
            assert _eventually(lambda: len(emulator.consumers(PROJECT)) >= when), "the sync never got going"
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
        emulator.set_latency(0)
        emulator.reset_calls()
        return {ref: c["businessId"] for ref, c in consumers_by_reference(emulator).items()}

    def test_a_full_sync_killed_mid_run_then_run_again(
        self, committed_api: TestClient, fresh_database_url: str, remote: tuple[AsgiServer, Emulator]
    ) -> None:
        server, emulator = remote
        ids = _seed(fresh_database_url, 30)
        create_connector(committed_api, server.url, name="crashy", settings={"concurrency": 1})
        before = self._kill_mid_sync(fresh_database_url, emulator, "crashy", 8)
        assert 8 <= len(before) < 30
        code, stdout, stderr = _run("connectors", "sync", "crashy", "--json", url=fresh_database_url)
        assert code == 0, stderr
        report = json.loads(stdout)
        # Still a full sync: the one killed never completed. It found the consumers already there.
        assert report["full"] is True
        assert (report["created"], report["unchanged"]) == (30 - len(before), len(before))
        assert emulator.answers()["create"] == {201: 30 - len(before)}  # no POST met an existing consumer
        after = {ref: c["businessId"] for ref, c in consumers_by_reference(emulator).items()}
        assert set(after) == set(ids)
        assert len(emulator.consumers(PROJECT)) == 30
        assert all(after[ref] == business_id for ref, business_id in before.items())
        runs = committed_api.get(f"/integration/connectors/{report['connectorId']}/runs").json()["data"]
        assert [run["status"] for run in runs] == ["ok", "interrupted"]

    def test_an_incremental_sync_killed_mid_run_then_run_again(
        self, committed_api: TestClient, fresh_database_url: str, remote: tuple[AsgiServer, Emulator]
    ) -> None:
        server, emulator = remote
        first = _seed(fresh_database_url, 2)
        connector_id = create_connector(
            committed_api, server.url, name="steady", settings={"concurrency": 1}
        )["connectorId"]
        assert (
            committed_api.post(f"/integration/connectors/{connector_id}/sync").json()["data"]["created"] == 2
        )
        later = _seed(fresh_database_url, 30)
        before = self._kill_mid_sync(fresh_database_url, emulator, "steady", 10)
        assert 10 <= len(before) < 32
        code, stdout, stderr = _run("connectors", "sync", "steady", "--json", url=fresh_database_url)
        assert code == 0, stderr
        report = json.loads(stdout)
        assert report["full"] is False
        assert report["created"] + report["updated"] + report["unchanged"] >= 32 - len(before)
        after = {ref: c["businessId"] for ref, c in consumers_by_reference(emulator).items()}
        assert set(after) == set(first + later)
        assert len(emulator.consumers(PROJECT)) == 32
        assert all(after[ref] == business_id for ref, business_id in before.items())
        again = committed_api.post(f"/integration/connectors/{connector_id}/sync", json={"full": True})
        assert again.json()["data"]["unchanged"] == 32
