"""Nothing lost, nothing doubled: 200 only after the commit, a database error is a 503 that keeps nothing,
and copies of a payload received at once are stored and applied once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tests.integration.channels.conftest import Hub, contact, running_hub
from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
from visitorhub.core.service import WriteContext
from visitorhub.integration.channels import service
from visitorhub.integration.channels.committer import GroupCommitter, _Pending
from visitorhub.integration.channels.receiving import parse_payload, receive

FAIL_FUNCTION = """CREATE FUNCTION vh_test_fail() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"""


@pytest.fixture
def failures(hub: Hub) -> Iterator[bool]:
    """Records whose source id starts with db-error fail to insert; on PostgreSQL, those starting with
    commit-error fail at COMMIT (a deferred constraint trigger). Yields whether the latter is armed."""
    engine = make_engine(hub.database_url)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            conn.execute(text(FAIL_FUNCTION))
            conn.execute(
                text(
                    "CREATE TRIGGER vh_test_fail BEFORE INSERT ON channel_record FOR EACH ROW "
                    "WHEN (NEW.source_id LIKE 'db-error%') EXECUTE FUNCTION vh_test_fail()"
                )
            )
            conn.execute(
                text(
                    "CREATE CONSTRAINT TRIGGER vh_test_fail_at_commit AFTER INSERT ON channel_record "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.source_id LIKE 'commit-error%') "
                    "EXECUTE FUNCTION vh_test_fail()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER vh_test_fail BEFORE INSERT ON channel_record "
                    "WHEN NEW.source_id LIKE 'db-error%' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            )
    try:
        yield postgres
    finally:
        with engine.begin() as conn:
            if postgres:
                conn.execute(text("DROP TRIGGER vh_test_fail_at_commit ON channel_record"))
                conn.execute(text("DROP TRIGGER vh_test_fail ON channel_record"))
                conn.execute(text("DROP FUNCTION vh_test_fail()"))
            else:
                conn.execute(text("DROP TRIGGER vh_test_fail"))
        engine.dispose()


class TestStorageFailures:
    def test_a_database_error_is_a_503_and_nothing_of_the_payload_is_kept(
        self, hub: Hub, failures: bool
    ) -> None:
        channel = hub.contacts_channel()
        good = contact(1)
        payload = [good, contact(2, contactNumber="db-error-1")]
        response = hub.send(channel["path"], payload)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert "Send it again" in response.json()["errors"][0]["message"]
        assert hub.stored(channel) == 0
        assert hub.visitors(good["email"]) == 0
        assert hub.read(channel)["payloadsReceived"] == 0

    def test_the_same_payload_is_accepted_once_the_database_is_back(self, hub: Hub, failures: bool) -> None:
        channel = hub.contacts_channel()
        payload = [contact(1), contact(2, contactNumber="db-error-2")]
        assert hub.send(channel["path"], payload).status_code == 503
        payload[1]["contactNumber"] = "recovered-2"  # the sender's next run, once the fault is repaired
        response = hub.send(channel["path"], payload)
        assert response.json()["data"]["accepted"] == 2
        assert hub.stored(channel) == 2

    def test_a_failed_commit_is_never_answered_200(self, hub: Hub, failures: bool) -> None:
        if not failures:
            pytest.skip("SQLite has no deferred triggers to fail a COMMIT with")
        channel = hub.contacts_channel()
        good = contact(1)
        response = hub.send(channel["path"], [good, contact(2, contactNumber="commit-error-1")])
        assert response.status_code == 503, response.text
        assert hub.stored(channel) == 0
        assert hub.visitors(good["email"]) == 0

    def test_a_failing_payload_does_not_refuse_the_others_of_its_group(
        self, hub: Hub, failures: bool
    ) -> None:
        channel = hub.channel()
        with unit_of_work(hub.app.state.read_sessions) as session:
            inbound = service.find_inbound(session, channel["path"], hub.app.state.settings)
        writer = GroupCommitter(hub.app.state.sessions)
        bad = _Pending(inbound, parse_payload(b'[{"id": "good-1"}, {"id": "db-error-3"}]', inbound))
        writer._enqueue(bad)  # queued by another sender meanwhile: it joins the next group
        outcome = writer.submit(inbound, parse_payload(b'[{"id": "good-2"}]', inbound))
        assert (outcome.accepted, outcome.duplicates) == (1, 0)
        assert bad.done
        assert isinstance(bad.error, SQLAlchemyError)
        assert [r["sourceId"] for r in hub.records(channel)] == ["good-2"]


def _at_once(count: int, send: Any) -> list[httpx.Response]:
    """`count` threads that call send(i) at the same moment; their responses."""
    barrier = threading.Barrier(count)
    responses: list[httpx.Response | None] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        responses[i] = send(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r is not None for r in responses)
    return responses  # type: ignore[return-value]


class TestConcurrentCopies:
    def _check_once(
        self, hub: Hub, channel: dict[str, Any], payload: list[dict[str, Any]], copies: int
    ) -> None:
        emails = [c["email"] for c in payload]
        assert hub.stored(channel) == len(payload)
        assert hub.visitors(*emails) == len(payload)
        assert hub.visitor_changes(*emails) == len(payload)  # each created once, never updated
        assert hub.external_ids(*(c["contactNumber"] for c in payload)) == len(payload)
        assert {r["timesReceived"] for r in hub.records(channel)} == {copies}

    def test_copies_sent_at_once_to_one_server(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        payload = [contact(i) for i in range(20)]
        body = json.dumps(payload).encode()
        responses = _at_once(4, lambda _i: hub.send(channel["path"], body))
        answers = [r.json()["data"] for r in responses]
        assert all(r.status_code == 200 for r in responses)
        assert sum(a["applied"] for a in answers) == 20
        assert sum(a["duplicates"] for a in answers) == 60
        self._check_once(hub, channel, payload, 4)

    def test_copies_sent_at_once_to_two_servers_on_one_database(self, hub: Hub) -> None:
        """Two API processes (here: two apps with their own engines) race in the database itself: the
        unique (channel, source id) and ON CONFLICT settle it."""
        channel = hub.contacts_channel()
        with running_hub(hub.database_url) as other:
            for round_ in range(3):
                payload = [contact(100 * round_ + i) for i in range(10)]
                body = json.dumps(payload).encode()
                servers = [hub, other, hub, other]
                responses = _at_once(
                    4, lambda i, body=body, servers=servers: servers[i].send(channel["path"], body)
                )
                assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
                answers = [r.json()["data"] for r in responses]
                assert sum(a["applied"] for a in answers) == 10
                assert sum(a["duplicates"] for a in answers) == 30
                emails = [c["email"] for c in payload]
                assert hub.visitors(*emails) == hub.visitor_changes(*emails) == 10

    def test_a_copy_waits_for_the_first_then_finds_its_records_stored(self, hub: Hub) -> None:
        """Two transactions interleaved by hand: the second blocks on the first's uncommitted records
        (PostgreSQL: on the unique index; SQLite: on the database's write lock), then sees duplicates."""
        channel = hub.contacts_channel()
        engine = make_engine(hub.database_url)
        sessions = make_session_factory(engine)
        payload = [contact(1), contact(2)]
        with unit_of_work(sessions) as session:
            inbound = service.find_inbound(session, channel["path"], hub.app.state.settings)
        records = parse_payload(json.dumps(payload).encode(), inbound)
        ctx = WriteContext(actor="test")
        first = sessions()
        (first_outcome,) = receive(first, inbound, [records], ctx)
        second: dict[str, Any] = {}

        def copy() -> None:
            with unit_of_work(sessions) as session:
                second["outcome"] = receive(session, inbound, [records], ctx)[0]

        thread = threading.Thread(target=copy)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the copy did not wait for the first transaction"
        first.commit()
        first.close()
        thread.join(30)
        engine.dispose()
        assert (first_outcome.applied, first_outcome.duplicates) == (2, 0)
        assert (second["outcome"].applied, second["outcome"].duplicates) == (0, 2)
        self._check_once(hub, channel, payload, 2)
