"""`visitorhub streams run|list` (in-process), and as real processes `visitorhub worker` and the worker in
`serve`: a run killed with SIGKILL mid-payload loses nothing, SIGTERM stops cleanly, two workers never
double-send."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.cli.runner import run_cli
from tests.conftest import committed_client, new_database
from tests.factories import create_subscription, create_visitor
from tests.servers import Receiver, running_receiver
from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
from visitorhub.models import ChangeLogEntry, StreamDelivery, StreamSubscription

# Subscriptions that backfill: what a test changed before subscribing is sent too.
_subscribe = partial(create_subscription, startDate="2020-01-01")


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITORHUB_")}
    env.update(
        {
            "VISITORHUB_DATABASE_URL": url,
            "VISITORHUB_ALLOW_PRIVATE_TARGETS": "true",
            "COLUMNS": "250",
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
        },
        **extra,
    )
    return env


def _cli(*args: str, url: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "visitorhub", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(url, **extra),
    )


def _finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def _visitor_seqs(url: str) -> list[int]:
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        stmt = (
            select(ChangeLogEntry.seq).where(ChangeLogEntry.entity == "Visitor").order_by(ChangeLogEntry.seq)
        )
        seqs = list(session.scalars(stmt))
    engine.dispose()
    return seqs


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _deliveries(url: str) -> list[StreamDelivery]:
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        rows = list(session.scalars(select(StreamDelivery).order_by(StreamDelivery.first_seq)))
        session.expunge_all()
    engine.dispose()
    return rows


def _run(*args: str, url: str) -> tuple[int, str, str]:
    """A command that needs no process of its own, run in-process."""
    done = run_cli(*args, url=url, VISITORHUB_ALLOW_PRIVATE_TARGETS="true")
    return done.returncode, done.stdout, done.stderr


class TestStreamsRun:
    def test_one_run_reports_as_json_and_exits_0(
        self, committed_api: TestClient, receiver: Receiver, fresh_database_url: str
    ) -> None:
        for _ in range(3):
            create_visitor(committed_api)
        _subscribe(committed_api, receiver.url, name="datx", maxPerPayload=2)
        code, stdout, stderr = _run("streams", "run", "datx", "--json", url=fresh_database_url)
        assert code == 0, stderr
        (report,) = json.loads(stdout)
        assert report["outcome"] == "ok"
        assert report["recordsDelivered"] == 3
        assert [len(r.json) for r in receiver.requests] == [2, 1]

    def test_every_enabled_subscription_runs_and_a_failure_exits_1(
        self, committed_api: TestClient, receiver: Receiver, fresh_database_url: str
    ) -> None:
        create_visitor(committed_api)
        _subscribe(committed_api, receiver.url, name="ok")
        _subscribe(committed_api, receiver.url, name="off", enabled=False)
        _subscribe(committed_api, receiver.url + "?fail", name="fails")
        receiver.answer(200, 500)
        code, stdout, stderr = _run("streams", "run", url=fresh_database_url)
        assert code == 1
        assert "ok" in stdout
        assert "fails" in stdout
        assert "off" not in stdout
        assert "HTTP 500" in stderr
        assert len(receiver.requests) == 2

    def test_an_unknown_name_exits_1(self, committed_api: TestClient, fresh_database_url: str) -> None:
        code, _stdout, stderr = _run("streams", "run", "nope", url=fresh_database_url)
        assert code == 1
        assert "'nope' does not exist" in stderr

    def test_list(self, committed_api: TestClient, receiver: Receiver, fresh_database_url: str) -> None:
        _subscribe(committed_api, receiver.url, name="listed")
        code, stdout, _stderr = _run("streams", "list", url=fresh_database_url)
        assert code == 0
        assert "listed" in stdout
        assert receiver.url in stdout


def _start_crashy_run(committed_api: TestClient, receiver: Receiver, url: str) -> subprocess.Popen[str]:
    """Five visitors in payloads of two, a `streams run` whose second payload hangs on the wire."""
    for _ in range(5):
        create_visitor(committed_api)
    _subscribe(committed_api, receiver.url, name="crashy", maxPerPayload=2)
    receiver.answer(200, "hang")
    return _cli("streams", "run", "crashy", url=url, VISITORHUB_STREAMS_TIMEOUT_SECONDS="30")


class TestCrashes:
    def test_sigkill_mid_payload_loses_nothing(
        self, committed_api: TestClient, receiver: Receiver, fresh_database_url: str
    ) -> None:
        process = _start_crashy_run(committed_api, receiver, fresh_database_url)
        try:
            assert receiver.wait_for(2, timeout=30), "the second payload never arrived"
            # Kill it while the second payload is on the wire, once the first one's 200 is recorded.
            assert _eventually(lambda: _deliveries(fresh_database_url)[0].status == "delivered")
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            receiver.release()
        in_flight = receiver.requests[1]
        waiting = [d for d in _deliveries(fresh_database_url) if d.status == "pending"]
        assert waiting[0].id == in_flight.delivery_id  # the oldest waiting payload is the one cut off

        # The run after the crash needs no process of its own (the one killed did).
        code, _stdout, stderr = _run("streams", "run", "crashy", url=fresh_database_url)
        assert code == 0, stderr
        resent = receiver.requests[2]
        assert resent.delivery_id == in_flight.delivery_id
        assert resent.body == in_flight.body
        accepted = [receiver.requests[0], *receiver.requests[2:]]
        assert [r["seq"] for req in accepted for r in req.json] == _visitor_seqs(fresh_database_url)
        assert all(d.status == "delivered" for d in _deliveries(fresh_database_url))

    def test_sigkill_at_any_moment_delivers_everything_in_order_under_stable_ids(
        self, committed_api: TestClient, receiver: Receiver, fresh_database_url: str
    ) -> None:
        """Killed as soon as the second payload arrives, its predecessor's 200 possibly unrecorded: at least
        once, in order, and a delivery id always carries the same records."""
        process = _start_crashy_run(committed_api, receiver, fresh_database_url)
        try:
            assert receiver.wait_for(2, timeout=30)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            receiver.release()
        code, _stdout, stderr = _run("streams", "run", "crashy", url=fresh_database_url)
        assert code == 0, stderr
        bodies: dict[str, bytes] = {}
        for request in receiver.requests:
            assert bodies.setdefault(request.delivery_id, request.body) == request.body
        first_seen = list(dict.fromkeys(r.delivery_id for r in receiver.requests))
        seqs = [r["seq"] for delivery_id in first_seen for r in json.loads(bodies[delivery_id])]
        assert seqs == _visitor_seqs(fresh_database_url)
        assert all(d.status == "delivered" for d in _deliveries(fresh_database_url))

    def test_sigterm_finishes_the_payload_in_flight_then_stops(
        self, committed_api: TestClient, receiver: Receiver, fresh_database_url: str
    ) -> None:
        for _ in range(3):
            create_visitor(committed_api)
        _subscribe(committed_api, receiver.url, name="graceful", maxPerPayload=1)
        receiver.answer("slow")
        process = _cli("worker", url=fresh_database_url, VISITORHUB_WORKER_POLL_SECONDS="0.2")
        try:
            assert receiver.wait_for(1, timeout=30)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            receiver.release()
            code, _stdout, stderr = _finish(process, timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        assert code == 0, stderr
        assert "stopping after the payload in flight" in stderr
        assert len(receiver.requests) == 1
        (delivered, *_rest) = _deliveries(fresh_database_url)
        assert delivered.status == "delivered"
        assert delivered.id == receiver.requests[0].delivery_id


class TestWorkers:
    def test_two_workers_never_send_the_same_payload(
        self, committed_api: TestClient, receiver: Receiver, fresh_database_url: str
    ) -> None:
        for _ in range(3):
            create_visitor(committed_api)
        for i in range(6):
            _subscribe(committed_api, receiver.url + f"?s={i}", name=f"w{i}", maxPerPayload=1)
        receiver.default = 0.05  # each answer takes a while: both workers are busy at once
        workers = [
            _cli("worker", url=fresh_database_url, VISITORHUB_WORKER_POLL_SECONDS="0.1") for _ in range(2)
        ]
        try:
            assert receiver.wait_for(18, timeout=60), f"{len(receiver.requests)} of 18 payloads arrived"
            time.sleep(0.5)  # a duplicate, if any, would arrive now
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            outcomes = [_finish(worker, timeout=30) for worker in workers]
        assert [code for code, _out, _err in outcomes] == [0, 0], outcomes
        ids = Counter(r.delivery_id for r in receiver.requests)
        assert len(ids) == 18
        assert set(ids.values()) == {1}
        per_subscription: dict[str, list[int]] = {}
        for request in receiver.requests:
            per_subscription.setdefault(request.path, []).extend(r["seq"] for r in request.json)
        seqs = _visitor_seqs(fresh_database_url)
        assert all(sent == seqs for sent in per_subscription.values()), per_subscription


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class TestServe:
    def test_serve_runs_the_worker_in_process_unless_told_not_to(
        self, committed_api: TestClient, receiver: Receiver, fresh_database_url: str, tmp_path: Path
    ) -> None:
        create_visitor(committed_api)
        _subscribe(committed_api, receiver.url, name="embedded")
        # `serve --no-worker` on a database of its own holding the same kind of subscription, started at the
        # same time (the two start-ups overlap).
        with (
            new_database(tmp_path) as quiet_url,
            committed_client(quiet_url) as quiet_api,
            contextmanager(running_receiver)() as quiet_receiver,
        ):
            create_visitor(quiet_api)
            _subscribe(quiet_api, quiet_receiver.url, name="quiet")
            quiet_port = _free_port()
            quiet = _cli(
                "serve", "--no-worker", "--port", str(quiet_port), url=quiet_url,
                VISITORHUB_WORKER_POLL_SECONDS="0.1",
            )  # fmt: skip
            server = _cli(
                "serve", "--port", str(_free_port()), url=fresh_database_url,
                VISITORHUB_WORKER_POLL_SECONDS="0.1",
            )  # fmt: skip
            try:
                assert receiver.wait_for(1, timeout=30)
                assert _eventually(lambda: _healthy(quiet_port), timeout=30), (
                    "serve --no-worker did not start"
                )
                # The app is up, so a worker would have started with it and polled five times by now.
                time.sleep(0.5)
                assert quiet_receiver.requests == []
            finally:
                quiet.send_signal(signal.SIGTERM)
                server.send_signal(signal.SIGTERM)
                quiet_code, _quiet_stdout, quiet_stderr = _finish(quiet)
                code, _stdout, stderr = _finish(server)
        assert quiet_code in (0, -signal.SIGTERM), quiet_stderr
        assert "worker.started" not in quiet_stderr
        # uvicorn shuts down cleanly, then re-raises the signal it caught.
        assert code in (0, -signal.SIGTERM), stderr
        assert "worker.stopped" in stderr
        assert "Application shutdown complete" in stderr
        assert receiver.url not in stderr  # URLs may hold tokens: not logged
        engine = make_engine(fresh_database_url)
        with unit_of_work(make_session_factory(engine)) as session:
            sub = session.scalar(select(StreamSubscription).where(StreamSubscription.name == "embedded"))
            assert sub is not None
            assert sub.lease_owner is None
        engine.dispose()
