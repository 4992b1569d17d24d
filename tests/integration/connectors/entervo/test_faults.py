"""Faults and limits: 429 with Retry-After, 5xx and network retries then RemoteError, the rate ceiling,
call counters, and the private-target policy."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.integration.connectors.conftest import PROJECT
from tests.integration.connectors.entervo.conftest import Sleeps, consumer
from visitorhub.integration.connectors.entervo.client import EntervoClient, RemoteError, TargetRefused
from visitorhub.integration.connectors.entervo.emulator import Emulator


class TestRateLimited:
    def test_a_429_storm_waits_what_retry_after_asks_then_succeeds(
        self, make_client: Callable[..., EntervoClient], emulator: Emulator, sleeps: Sleeps
    ) -> None:
        client = make_client(sleep=sleeps, max_retry_after=60, backoff_initial=5)
        client.search()
        emulator.fail_next(429, count=3, retry_after=1, kinds=["search"])
        assert client.search().total_elements == 0
        assert sleeps.waits == [1.0, 1.0, 1.0]  # the header, not the (much longer) backoff
        assert emulator.answers()["search"] == {429: 3, 200: 2}
        assert client.counters.outcomes()["search"] == {"ok": 2, "rate_limited": 3}

    def test_retry_after_as_an_http_date(
        self, make_client: Callable[..., EntervoClient], emulator: Emulator, sleeps: Sleeps
    ) -> None:
        client = make_client(sleep=sleeps, max_retry_after=60)
        client.search()
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
        emulator.fail_next(429, retry_after=when, kinds=["search"])
        client.search()
        assert len(sleeps.waits) == 1
        assert 1.0 < sleeps.waits[0] <= 3.0

    def test_an_unreadable_retry_after_falls_back_to_backoff(
        self, make_client: Callable[..., EntervoClient], emulator: Emulator, sleeps: Sleeps
    ) -> None:
        client = make_client(sleep=sleeps, backoff_initial=0.25, backoff_max=0.25)
        client.search()
        emulator.fail_next(429, retry_after="soon", kinds=["search"])
        client.search()
        assert len(sleeps.waits) == 1
        assert 0 <= sleeps.waits[0] <= 0.25

    def test_long_retry_after_is_capped_in_real_time(
        self, make_client: Callable[..., EntervoClient], emulator: Emulator
    ) -> None:
        client = make_client(max_retry_after=0.1)
        client.search()
        emulator.fail_next(429, count=2, retry_after=1, kinds=["search"])
        began = time.monotonic()
        client.search()
        assert 0.2 <= time.monotonic() - began < 0.9

    def test_a_429_that_lasts_is_a_retriable_remote_error(
        self, make_client: Callable[..., EntervoClient], emulator: Emulator, sleeps: Sleeps
    ) -> None:
        client = make_client(sleep=sleeps, max_attempts=3)
        emulator.fail_next(429, count=10, retry_after=0, kinds=["create"])
        with pytest.raises(RemoteError) as caught:
            client.create(consumer())
        assert (caught.value.status, caught.value.retriable) == (429, True)
        assert caught.value.message == "Rate limit exceeded"
        assert emulator.calls()["create"] == 3


class TestServerErrors:
    def test_a_503_storm_is_retried_a_bounded_number_of_times(
        self, make_client: Callable[..., EntervoClient], emulator: Emulator, sleeps: Sleeps
    ) -> None:
        client = make_client(sleep=sleeps, max_attempts=4, backoff_initial=0.5, backoff_max=3)
        client.search()
        emulator.fail_next(503, count=10, kinds=["search"])
        with pytest.raises(RemoteError) as caught:
            client.search()
        assert caught.value.status == 503
        assert caught.value.retriable
        assert caught.value.message == "Emulated fault"
        assert emulator.calls()["search"] == 1 + 4
        assert len(sleeps.waits) == 3
        # full jitter: each wait is drawn below a doubling ceiling (0.5, 1, 2) that stops at backoff_max
        assert all(0 <= wait <= ceiling for wait, ceiling in zip(sleeps.waits, (0.5, 1, 2), strict=True))
        assert len(set(sleeps.waits)) == 3

    def test_a_short_503_storm_is_ridden_out(self, client: EntervoClient, emulator: Emulator) -> None:
        emulator.fail_next(503, count=2)  # the token endpoint too
        assert client.create(consumer()).created
        assert emulator.answers()["token"] == {503: 2, 200: 1}

    def test_a_500_on_a_create_without_reference_is_not_retried(
        self, client: EntervoClient, emulator: Emulator
    ) -> None:
        client.search()
        emulator.fail_next(500, count=1, kinds=["create"])
        with pytest.raises(RemoteError) as caught:
            client.create(consumer(None))  # might have been stored: a retry could create it twice
        assert caught.value.status == 500
        assert emulator.calls()["create"] == 1
        emulator.fail_next(500, count=1, kinds=["create"])
        assert client.create(consumer("EMP1")).created  # an upsert by reference is safe to repeat
        assert emulator.calls()["create"] == 3

    def test_timeouts_are_retried_then_reported(
        self, make_client: Callable[..., EntervoClient], emulator: Emulator
    ) -> None:
        client = make_client(timeout=0.1, max_attempts=2)
        client.search()
        emulator.set_latency(0.3)
        with pytest.raises(RemoteError) as caught:
            client.search()
        emulator.set_latency(0)
        assert caught.value.status is None
        assert caught.value.retriable
        assert "timeout" in caught.value.message
        assert client.counters.outcomes()["search"] == {"ok": 1, "timeout": 2}

    def test_no_connection_is_retried_then_reported(self, make_client: Callable[..., EntervoClient]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        client = make_client(base_url=f"http://127.0.0.1:{closed_port}", max_attempts=3)
        with pytest.raises(RemoteError) as caught:
            client.search()
        assert caught.value.status is None
        assert "connection" in caught.value.message
        assert client.counters.outcomes()["token"] == {"connection_error": 3}


def test_the_rate_ceiling_spaces_requests(
    make_client: Callable[..., EntervoClient], emulator: Emulator
) -> None:
    client = make_client(rate_limit=25)
    began = time.monotonic()
    for _ in range(5):
        client.search()
    elapsed = time.monotonic() - began
    assert emulator.calls()["token"] + emulator.calls()["search"] == 6
    assert elapsed >= 5 / 25 - 0.01  # 6 requests, 5 gaps of 40 ms at least
    assert elapsed < 1.0


def test_call_counters_by_kind_match_the_remote(client: EntervoClient, emulator: Emulator) -> None:
    created = client.create(consumer()).consumer
    client.create(consumer())
    client.search(external_reference="EMP12345")
    updated = client.update(created["businessId"], consumer(firstName="X"), 1)
    client.get(updated["businessId"])
    client.delete(updated["businessId"])
    expected = {"token": 1, "search": 1, "create": 2, "update": 1, "delete": 1, "get": 1}
    assert client.calls() == expected
    assert emulator.calls() == expected
    client.counters.reset()
    emulator.reset_calls()
    assert set(client.calls().values()) == {0}
    assert set(emulator.calls().values()) == {0}


def test_loopback_is_refused_unless_private_targets_are_allowed(
    make_client: Callable[..., EntervoClient], emulator: Emulator
) -> None:
    client = make_client(allow_private=False)
    with pytest.raises(TargetRefused) as caught:
        client.search()
    assert "127.0.0.1" in caught.value.message
    assert not caught.value.retriable
    assert emulator.calls()["token"] == 0
    assert client.calls()["token"] == 0
    assert client.counters.outcomes()["token"] == {"blocked": 1}


def test_the_control_api_switches_faults_and_reads_counters(
    http: httpx.Client, client: EntervoClient, emulator: Emulator, url: str
) -> None:
    created = client.create(consumer()).consumer
    control = f"{url}/_emulator"
    assert (
        http.post(f"{control}/faults", json={"status": 429, "count": 1, "retryAfter": 0}).status_code == 204
    )
    token = client._current_token()
    search = f"{url}/customers-contracts/v2/{PROJECT}/consumers"
    limited = http.post(search, json={}, headers={"Authorization": f"Bearer {token}"})
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "0")
    counts = http.get(f"{control}/calls").json()
    assert counts["calls"]["create"] == 1
    assert counts["calls"]["search"] == 1
    drifted = http.patch(
        f"{control}/projects/{PROJECT}/consumers/{created['businessId']}", json={"lastName": "Drifted"}
    ).json()
    assert (drifted["lastName"], drifted["revision"]) == ("Drifted", 1)
    bumped = http.post(f"{control}/projects/{PROJECT}/consumers/{created['businessId']}/revision").json()
    assert bumped == {"revision": 2}
    assert http.post(f"{control}/projects/{PROJECT}/consumers/N2026NoSuch00/revision").status_code == 404
    assert http.put(f"{control}/latency", json={"seconds": 0.05}).status_code == 204
    assert emulator.latency == 0.05
    assert http.delete(f"{control}/faults").status_code == 204
    assert emulator.latency == 0
    assert http.post(f"{control}/tokens/expire").status_code == 204
    assert http.post(search, json={}, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert http.delete(f"{control}/calls").status_code == 204
    assert set(emulator.calls().values()) == {0}
