"""POST /inbound/{path} over real HTTP: what is accepted, stored, applied, refused and counted."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from tests.integration.channels.conftest import MAX_BODY_BYTES, Hub, contact, ticket_check, visitor_template
from visitorhub.core.db import unit_of_work
from visitorhub.models import Visitor


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def refused(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    return response.json()["errors"]  # type: ignore[no-any-return]


def counts(accepted: int, duplicates: int = 0, applied: int = 0, quarantined: int = 0) -> dict[str, int]:
    return {"accepted": accepted, "duplicates": duplicates, "applied": applied, "quarantined": quarantined}


def first_name(hub: Hub, email: str) -> str:
    with unit_of_work(hub.app.state.sessions) as session:
        return session.scalars(select(Visitor.first_name).where(Visitor.email == email)).one()


class TestAccepting:
    def test_a_payload_is_stored_applied_and_answered_with_its_counts(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        payload = [contact(1), contact(2), contact(3)]
        assert ok(hub.send(channel["path"], payload)) == counts(3, applied=3)
        emails = [c["email"] for c in payload]
        assert hub.visitors(*emails) == 3
        assert hub.external_ids(*(c["contactNumber"] for c in payload)) == 3
        stored = hub.records(channel)
        assert [r["sourceId"] for r in stored] == [c["contactNumber"] for c in payload]
        assert {r["status"] for r in stored} == {"applied"}
        assert [r["record"] for r in stored] == payload
        assert all(r["timesReceived"] == 1 and r["appliedAt"] for r in stored)

    def test_without_a_template_records_are_stored_raw(self, hub: Hub) -> None:
        channel = hub.channel(idField="ticket_check_id", path="s360/ticketchecks/venue-raw")
        payload = [ticket_check(1), ticket_check(2, result="FAIL")]
        assert ok(hub.send("s360/ticketchecks/venue-raw", payload)) == counts(2)
        stored = hub.records(channel)
        assert [(r["sourceId"], r["status"], r["record"]) for r in stored] == [
            ("10228845124402", "stored", payload[0]),
            ("10228845124403", "stored", payload[1]),
        ]

    def test_an_empty_array_is_accepted(self, hub: Hub) -> None:
        channel = hub.channel()
        assert ok(hub.send(channel["path"], [])) == counts(0)

    def test_the_id_field_may_be_a_dotted_path(self, hub: Hub) -> None:
        channel = hub.channel(idField="contact.id")
        ok(hub.send(channel["path"], [{"contact": {"id": 41}}, {"contact": {"id": "x-42"}}]))
        assert [r["sourceId"] for r in hub.records(channel)] == ["41", "x-42"]


class TestDuplicates:
    def test_the_same_payload_again_is_counted_not_stored_nor_applied_again(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        payload = [contact(1), contact(2), contact(3)]
        ok(hub.send(channel["path"], payload))
        assert ok(hub.send(channel["path"], payload)) == counts(3, duplicates=3)
        assert hub.stored(channel) == 3
        assert [r["timesReceived"] for r in hub.records(channel)] == [2, 2, 2]
        assert hub.visitor_changes(*(c["email"] for c in payload)) == 3  # created once, never updated
        read = hub.read(channel)
        assert (read["payloadsReceived"], read["recordsReceived"], read["duplicates"]) == (2, 6, 3)
        assert read["recordsApplied"] == 3

    def test_a_changed_record_replaces_the_stored_one_and_is_applied_again(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        original = contact(7)
        ok(hub.send(channel["path"], [original]))
        changed = {**original, "individualContact": {"firstName": "Annie", "lastName": "Smith"}}
        assert ok(hub.send(channel["path"], [changed])) == counts(1, applied=1)
        (record,) = hub.records(channel)
        assert (record["record"], record["timesReceived"]) == (changed, 2)
        assert first_name(hub, original["email"]) == "Annie"
        assert hub.visitor_changes(original["email"]) == 2  # created, then updated

    def test_records_repeated_in_a_payload_are_taken_in_order(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        first = contact(8)
        second = {**first, "individualContact": {"firstName": "Second", "lastName": "Smith"}}
        answer = ok(hub.send(channel["path"], [first, first, second]))
        assert answer == counts(3, duplicates=1, applied=2)
        (record,) = hub.records(channel)
        assert (record["record"], record["timesReceived"]) == (second, 3)
        assert first_name(hub, first["email"]) == "Second"

    def test_an_integer_id_and_its_text_are_the_same_source_id(self, hub: Hub) -> None:
        channel = hub.channel(idField="ticket_check_id")
        ok(hub.send(channel["path"], [ticket_check(5)]))
        csv_like = {key: str(value) for key, value in ticket_check(5).items()}
        assert ok(hub.send(channel["path"], [csv_like])) == counts(1)  # new content, same record
        assert hub.stored(channel) == 1


class TestRefusals:
    """A refused payload is a 4xx that says why, and nothing of it is stored or applied."""

    def test_a_body_that_is_not_json(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        (error,) = refused(hub.send(channel["path"], b'[{"contactNumber": "C1",'), 400)
        assert error["code"] == "malformed_json"
        assert hub.stored(channel) == 0

    def test_a_body_that_is_not_an_array(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        (error,) = refused(hub.send(channel["path"], contact(1)), 422)
        assert error["code"] == "not_an_array"
        assert "JSON array of objects" in error["message"]
        assert hub.stored(channel) == 0

    def test_an_item_that_is_not_an_object(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        errors = refused(hub.send(channel["path"], [contact(1), "C2"]), 422)
        assert (errors[0]["field"], errors[0]["code"]) == ("[1]", "not_an_object")
        assert hub.stored(channel) == 0

    def test_a_record_without_its_id_refuses_the_whole_payload(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        good, bad = contact(1), contact(2)
        del bad["contactNumber"]
        errors = refused(hub.send(channel["path"], [good, bad, {**contact(3), "contactNumber": ""}]), 422)
        assert [(e["field"], e["code"]) for e in errors[:2]] == [
            ("[1].contactNumber", "missing_id"),
            ("[2].contactNumber", "missing_id"),
        ]
        assert errors[-1]["message"] == "Nothing of this payload was stored."
        assert hub.stored(channel) == 0
        assert hub.visitors(good["email"]) == 0

    def test_more_records_than_max_records(self, hub: Hub) -> None:
        channel = hub.contacts_channel(maxRecords=2)
        (error,) = refused(hub.send(channel["path"], [contact(1), contact(2), contact(3)]), 413)
        assert error["code"] == "too_many_records"
        assert "at most 2" in error["message"]
        assert hub.stored(channel) == 0

    def test_a_body_declared_too_large_is_refused_before_it_is_sent(self, hub: Hub) -> None:
        """The answer comes from the Content-Length alone: the server does not wait for the body."""
        channel = hub.channel()
        status, body = _raw_exchange(
            hub.base,
            f"POST /inbound/{channel['path']} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {MAX_BODY_BYTES * 100}\r\n\r\n[",
        )
        assert status == 413
        assert f"limit of {MAX_BODY_BYTES} bytes" in body

    def test_a_streamed_body_is_refused_once_it_passes_the_limit(self, hub: Hub) -> None:
        """Chunked, without a length: refused as soon as the limit is passed, before the body's end."""
        channel = hub.channel()
        chunk = b"[" + b" " * (MAX_BODY_BYTES + 10)
        request = (
            (
                f"POST /inbound/{channel['path']} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
            + f"{len(chunk):x}\r\n".encode()
            + chunk
            + b"\r\n"
        )  # no last chunk: the body never ends
        status, _body = _raw_exchange(hub.base, request)
        assert status == 413
        assert hub.stored(channel) == 0

    def test_a_compressed_body_is_refused(self, hub: Hub) -> None:
        channel = hub.channel()
        (error,) = refused(hub.send(channel["path"], [], headers={"Content-Encoding": "gzip"}), 415)
        assert "gzip" in error["message"]

    def test_unknown_disabled_and_deleted_channels_are_404(self, hub: Hub) -> None:
        (error,) = refused(hub.send("no/such/channel", []), 404)
        assert error["message"] == "No channel receives at /inbound/no/such/channel."
        disabled = hub.channel(enabled=False)
        assert refused(hub.send(disabled["path"], []), 404)[0]["code"] == "not_found"
        deleted = hub.channel()
        assert hub.admin.delete(f"/integration/channels/{deleted['channelId']}").status_code == 204
        refused(hub.send(deleted["path"], []), 404)

    def test_other_methods_are_not_allowed(self, hub: Hub) -> None:
        channel = hub.channel()
        assert httpx.get(f"{hub.base}/inbound/{channel['path']}").status_code == 405


def _raw_exchange(base: str, request: str | bytes) -> tuple[int, str]:
    """Send raw bytes (possibly an incomplete request) and read the answer the server gives meanwhile."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request.encode() if isinstance(request, str) else request)
        answer = b""
        while b"\r\n\r\n" not in answer or not _complete(answer):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body.decode(errors="replace")


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


class TestAuth:
    def test_basic(self, hub: Hub) -> None:
        channel = hub.channel(auth={"type": "basic", "username": "s360", "password": "pa:ss"})
        missing = hub.send(channel["path"], [{"id": 1}])
        refused(missing, 401)
        assert missing.headers["WWW-Authenticate"].startswith("Basic")
        refused(hub.send(channel["path"], [{"id": 1}], auth=("s360", "wrong")), 401)
        refused(hub.send(channel["path"], [{"id": 1}], auth=("other", "pa:ss")), 401)
        assert hub.stored(channel) == 0
        assert ok(hub.send(channel["path"], [{"id": 1}], auth=("s360", "pa:ss"))) == counts(1)

    def test_api_key_in_the_header_the_channel_names(self, hub: Hub) -> None:
        channel = hub.channel(auth={"type": "apiKey", "header": "X-DatX-Key", "value": "k-123"})
        (error,) = refused(hub.send(channel["path"], [{"id": 1}]), 401)
        assert "X-DatX-Key" in error["message"]
        refused(hub.send(channel["path"], [{"id": 1}], headers={"X-DatX-Key": "k-124"}), 401)
        refused(hub.send(channel["path"], [{"id": 1}], headers={"X-API-Key": "k-123"}), 401)
        assert hub.stored(channel) == 0
        assert ok(hub.send(channel["path"], [{"id": 1}], headers={"x-datx-key": "k-123"})) == counts(1)

    def test_standard_webhooks_signatures(self, hub: Hub) -> None:
        response = hub.admin.post(
            "/integration/channels",
            json={"name": "signed", "path": "signed/in", "idField": "id", "auth": {"type": "hmac"}},
        )
        assert response.status_code == 201, response.text
        created = response.json()["data"]
        secret = created["secret"]
        assert secret.startswith("whsec_")
        assert "secret" not in hub.read(created)
        assert "secret" not in hub.read(created)["auth"]
        signer = Webhook(secret)
        body = json.dumps([{"id": 1}, {"id": 2}])

        def signed(
            payload: str, at: datetime | None = None, delivery: str = "msg_1", extra: str = ""
        ) -> httpx.Response:
            at = at or datetime.now(UTC)
            headers = {
                "webhook-id": delivery,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": (extra + " " + signer.sign(delivery, at, payload)).strip(),
            }
            return hub.send("signed/in", payload.encode(), headers=headers)

        assert ok(signed(body)) == counts(2)
        tampered = hub.send(
            "signed/in", body.replace("2", "3").encode(), headers=dict(signed_headers(signer, body))
        )
        assert "No webhook-signature matches" in refused(tampered, 401)[0]["message"]
        stale = refused(signed(body, at=datetime.now(UTC) - timedelta(minutes=10)), 401)
        assert "at most 300 s" in stale[0]["message"]
        assert "webhook-signature missing" in refused(hub.send("signed/in", [{"id": 9}]), 401)[0]["message"]
        # During a secret rotation a sender signs with both: one matching signature is enough.
        assert ok(signed(body, delivery="msg_2", extra="v1,bm90IHRoaXMgb25l")) == counts(2, duplicates=2)
        assert hub.stored(created) == 2

    def test_secrets_are_never_shown(self, hub: Hub) -> None:
        basic = hub.channel(auth={"type": "basic", "username": "u", "password": "secret-pw"})
        key = hub.channel(auth={"type": "apiKey", "value": "secret-key"})
        listed = hub.admin.get("/integration/channels", params={"limit": 500}).text
        for shown in (json.dumps(hub.read(basic)), json.dumps(hub.read(key)), listed):
            assert "secret-pw" not in shown
            assert "secret-key" not in shown
        assert hub.read(basic)["auth"] == {"type": "basic", "username": "u"}
        assert hub.read(key)["auth"] == {"type": "apiKey", "header": "X-API-Key"}


def signed_headers(signer: Webhook, body: str) -> dict[str, str]:
    at = datetime.now(UTC)
    return {
        "webhook-id": "msg_t",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signer.sign("msg_t", at, body),
    }


class TestQuarantine:
    def test_a_record_the_template_cannot_map_is_quarantined_and_the_rest_applied(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        good, bad, other = contact(1), contact(2, email="not-an-address"), contact(3)
        assert ok(hub.send(channel["path"], [good, bad, other])) == counts(3, applied=2, quarantined=1)
        assert hub.visitors(good["email"], other["email"]) == 2
        (held,) = hub.records(channel, status="quarantined")
        assert held["sourceId"] == bad["contactNumber"]
        assert "email" in held["error"]
        assert "not-an-address" in held["error"]
        assert len(hub.records(channel, status="applied")) == 2
        assert hub.read(channel)["quarantined"] == 1
        # The same bad record again is a duplicate: it stays in quarantine, it is not tried again.
        assert ok(hub.send(channel["path"], [bad])) == counts(1, duplicates=1)

    def test_reapply_after_a_template_fix(self, hub: Hub) -> None:
        wrong = hub.template(visitor_template())  # the records say "mail", not "email"
        channel = hub.channel(template=wrong)
        record = {"id": "r1", "mail": f"fix.{time.time_ns()}@example.com", "first": "Ann", "last": "Lee"}
        assert ok(hub.send(channel["path"], [record])) == counts(1, quarantined=1)
        fixed = hub.template(visitor_template(email_from="mail"))
        assert (
            hub.admin.patch(
                f"/integration/channels/{channel['channelId']}", json={"template": fixed}
            ).status_code
            == 200
        )
        response = hub.admin.post(f"/integration/channels/{channel['channelId']}/reapply")
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {
            "status": "quarantined",
            "reapplied": 1,
            "applied": 1,
            "quarantined": 0,
            "errors": [],
        }
        assert hub.visitors(record["mail"]) == 1
        assert [r["status"] for r in hub.records(channel)] == ["applied"]
        again = hub.admin.post(f"/integration/channels/{channel['channelId']}/reapply").json()["data"]
        assert again["reapplied"] == 0

    def test_reapply_reports_what_stays_quarantined(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        bad = contact(4, email="still-bad")
        ok(hub.send(channel["path"], [bad]))
        report = hub.admin.post(f"/integration/channels/{channel['channelId']}/reapply").json()["data"]
        assert (report["reapplied"], report["applied"], report["quarantined"]) == (1, 0, 1)
        assert report["errors"][0]["sourceId"] == bad["contactNumber"]

    def test_records_stored_before_a_template_can_be_applied(self, hub: Hub) -> None:
        channel = hub.channel(idField="contactNumber")
        payload = [contact(5), contact(6)]
        ok(hub.send(channel["path"], payload))
        assert hub.visitors(*(c["email"] for c in payload)) == 0
        conflict = hub.admin.post(
            f"/integration/channels/{channel['channelId']}/reapply", params={"status": "stored"}
        )
        assert conflict.status_code == 409
        from tests.integration.channels.conftest import CONTACTS_TEMPLATE

        patch = {"template": hub.template(CONTACTS_TEMPLATE)}
        assert hub.admin.patch(f"/integration/channels/{channel['channelId']}", json=patch).status_code == 200
        report = hub.admin.post(
            f"/integration/channels/{channel['channelId']}/reapply", params={"status": "stored"}
        ).json()["data"]
        assert (report["reapplied"], report["applied"]) == (2, 2)
        assert hub.visitors(*(c["email"] for c in payload)) == 2


class TestRecordList:
    def test_pages_follow_each_other_in_the_order_records_were_last_received(self, hub: Hub) -> None:
        channel = hub.channel()
        ok(hub.send(channel["path"], [{"id": 1}, {"id": 2}]))
        ok(hub.send(channel["path"], [{"id": 3}]))
        cut = hub.records(channel)[-1]["lastReceivedAt"]
        ok(hub.send(channel["path"], [{"id": 1, "v": 2}, {"id": 4}]))
        url = f"/integration/channels/{channel['channelId']}/records"
        seen: list[str] = []
        page = hub.admin.get(url, params={"limit": 2}).json()
        while True:
            seen += [r["sourceId"] for r in page["data"]]
            following = page["metadata"]["_links"].get("next")
            if following is None:
                break
            page = hub.admin.get(following).json()
        assert seen == ["2", "3", "1", "4"]
        later = hub.admin.get(url, params={"since": cut}).json()["data"]
        assert [r["sourceId"] for r in later] == ["3", "1", "4"]

    def test_bad_cursor_and_since_are_400(self, hub: Hub) -> None:
        channel = hub.channel()
        url = f"/integration/channels/{channel['channelId']}/records"
        assert hub.admin.get(url, params={"cursor": "nope"}).json()["errors"][0]["field"] == "cursor"
        assert hub.admin.get(url, params={"since": "yesterday"}).status_code == 400


class TestMetrics:
    def test_per_channel_figures(self, hub: Hub) -> None:
        channel = hub.contacts_channel(name="metered")
        ok(hub.send(channel["path"], [contact(1), contact(2, email="bad")]))
        ok(hub.send(channel["path"], [contact(3)]))
        text = hub.admin.get("/metrics").text
        lines = {line for line in text.splitlines() if 'channel="metered"' in line}
        assert 'visitorhub_channel_payloads_received_total{channel="metered"} 2.0' in lines
        assert 'visitorhub_channel_records_received_total{channel="metered"} 3.0' in lines
        assert 'visitorhub_channel_duplicates_total{channel="metered"} 0.0' in lines
        assert 'visitorhub_channel_records_total{channel="metered",outcome="applied"} 2.0' in lines
        assert 'visitorhub_channel_records_total{channel="metered",outcome="quarantined"} 1.0' in lines
        assert 'visitorhub_channel_quarantined_records{channel="metered"} 1.0' in lines
        (last,) = [line for line in lines if line.startswith("visitorhub_channel_last_received_timestamp")]
        assert abs(float(last.split()[-1]) - time.time()) < 60


@pytest.mark.parametrize("mode", ["basic", "apiKey"])
def test_sealed_secrets_work_and_a_server_without_the_key_answers_503(hub: Hub, mode: str) -> None:
    from tests.integration.channels.conftest import running_hub
    from visitorhub.models import Channel

    auth = (
        {"type": "basic", "username": "u", "password": "pw"}
        if mode == "basic"
        else {"type": "apiKey", "value": "pw"}
    )
    credentials: dict[str, Any] = (
        {"auth": ("u", "pw")} if mode == "basic" else {"headers": {"X-API-Key": "pw"}}
    )
    with running_hub(hub.database_url, secrets_key="a passphrase") as sealing:
        channel = sealing.channel(auth=auth)
        with unit_of_work(sealing.app.state.sessions) as session:
            stored = session.get(Channel, channel["channelId"])
            assert stored is not None
            assert next(v for k, v in stored.auth.items() if k in ("password", "value")).startswith("enc:")
        assert ok(sealing.send(channel["path"], [{"id": 1}], **credentials)) == counts(1)
    # The module's server has no key to open it: the sender is told to come back, nothing is lost.
    unavailable = hub.send(channel["path"], [{"id": 2}], **credentials)
    assert unavailable.status_code == 503
    assert unavailable.headers["Retry-After"]
