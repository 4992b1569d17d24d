"""Delivery semantics, against a real receiver on loopback: batching, retries of the identical payload,
ordering, dead letters and replay, backfill, auth headers and signatures, SSRF refusals."""

from __future__ import annotations

import base64
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.factories import (
    create_center,
    create_external_id,
    create_subscription,
    create_vehicle,
    create_visitor,
)
from tests.integration.streams.conftest import deliveries, run, visitor_changes
from tests.servers import Receiver
from visitorhub import __version__
from visitorhub.config import Settings
from visitorhub.core import changelog
from visitorhub.core.http import make_client
from visitorhub.integration.streams.delivery import run_subscription
from visitorhub.integration.streams.sender import Sender


def _visitors(client: TestClient, count: int) -> list[dict[str, Any]]:
    return [create_visitor(client) for _ in range(count)]


class TestBatching:
    def test_payloads_hold_at_most_max_per_payload_and_a_run_at_most_max_per_run(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        sub = create_subscription(client, receiver.url, maxPerPayload=3, maxPerRun=7)
        _visitors(client, 10)
        report = run(client, sub["subscriptionId"])
        assert [len(r.json) for r in receiver.requests] == [3, 3, 1]
        assert report["recordsDelivered"] == 7
        assert report["stoppedBecause"] == "max_per_run"
        assert report["outcome"] == "ok"
        report = run(client, sub["subscriptionId"])
        assert [len(r.json) for r in receiver.requests] == [3, 3, 1, 3]
        assert report["stoppedBecause"] == "caught_up"
        assert report["lag"] == 0

    def test_reports_and_reads_have_the_documented_fields(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        sub = create_subscription(client, receiver.url)
        _visitors(client, 1)
        report = run(client, sub["subscriptionId"])
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        assert set(report) == set(schemas["RunReport"]["properties"])
        assert set(report["payloads"][0]) == set(schemas["PayloadOutcome"]["properties"])
        read = client.get(f"/integration/subscriptions/{sub['subscriptionId']}").json()["data"]
        assert set(read) == set(schemas["SubscriptionRead"]["properties"])
        (listed,) = deliveries(client, sub["subscriptionId"])
        assert set(listed) == set(schemas["DeliveryRead"]["properties"])
        detail = client.get(f"/integration/deliveries/{listed['deliveryId']}").json()["data"]
        assert set(detail) == set(schemas["DeliveryDetail"]["properties"])
        assert set(detail["attemptLog"][0]) == set(schemas["AttemptRead"]["properties"])

    def test_each_payload_is_a_json_array_of_change_records(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        sub = create_subscription(client, receiver.url)
        visitor = create_visitor(client, firstName="Ann")
        client.patch(f"/visitors/{visitor['visitorId']}", json={"firstName": "Anna"})
        current = client.get(f"/visitors/{visitor['visitorId']}").json()["data"]
        run(client, sub["subscriptionId"])
        (request,) = receiver.requests
        assert request.headers["content-type"] == "application/json"
        records = request.json
        log = visitor_changes(client)
        assert [r["seq"] for r in records] == [c["seq"] for c in log]
        assert [r["operation"] for r in records] == ["create", "update"]
        for record in records:
            assert set(record) == {"seq", "operation", "entity", "entityId", "occurredAt", "data"}
            assert record["entity"] == "Visitor"
            assert record["entityId"] == visitor["visitorId"]
        assert records[0]["data"]["firstName"] == "Ann"
        assert records[1]["data"] == changelog.compact(current)  # the API representation, no nulls
        for record, change in zip(records, log, strict=True):  # the change's instant, to the microsecond, UTC
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record["occurredAt"])
            assert datetime.fromisoformat(record["occurredAt"]) == datetime.fromisoformat(
                change["occurredAt"]
            )

    def test_a_delete_carries_the_last_known_representation(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        sub = create_subscription(client, receiver.url, stream="external-ids")
        visitor = create_visitor(client)
        external_id = create_external_id(client, visitor["visitorId"])
        url = f"/visitors/{visitor['visitorId']}/external-ids/{external_id['externalType']}"
        assert client.delete(url).status_code == 204
        run(client, sub["subscriptionId"])
        created, deleted = receiver.records()
        assert (created["operation"], deleted["operation"]) == ("create", "delete")
        assert deleted["data"] == created["data"] == external_id
        assert deleted["entityId"] == created["entityId"]

    def test_a_stream_carries_only_its_entity(self, client: TestClient, receiver: Receiver) -> None:
        sub = create_subscription(client, receiver.url, stream="vehicles")
        visitor = create_visitor(client)
        vehicle = create_vehicle(client, visitor["visitorId"])
        create_center(client)
        run(client, sub["subscriptionId"])
        (record,) = receiver.records()
        assert record["entity"] == "Vehicle"
        assert record["entityId"] == vehicle["vehicleId"]  # an integer id stays an integer
        assert record["data"] == changelog.compact(vehicle)

    def test_nothing_to_send_sends_nothing(self, client: TestClient, receiver: Receiver) -> None:
        sub = create_subscription(client, receiver.url)
        report = run(client, sub["subscriptionId"])
        assert receiver.requests == []
        assert report == {**report, "outcome": "ok", "stoppedBecause": "caught_up", "payloads": []}


class TestRetries:
    @pytest.mark.parametrize("failure", [500, 429, 503, 404, "hang", "drop"])
    def test_a_failed_payload_is_sent_again_identical_at_the_next_run(
        self, client: TestClient, receiver: Receiver, failure: int | str
    ) -> None:
        sub = create_subscription(client, receiver.url, maxPerPayload=2)
        _visitors(client, 3)
        receiver.answer(200, failure)
        report = run(client, sub["subscriptionId"])
        assert report["outcome"] == "failed"
        assert report["stoppedBecause"] == "failure"
        assert [p["outcome"] for p in report["payloads"]] == ["delivered", "failed"]
        failed = report["payloads"][1]
        if failure == "hang":
            assert failed["error"].startswith("timeout")
        elif failure == "drop":
            assert failed["error"].startswith("connection")
        else:
            assert failed["httpStatus"] == failure
        receiver.release()
        report = run(client, sub["subscriptionId"])
        assert report["outcome"] == "ok"
        first, failed_send, resend = receiver.requests
        assert resend.body == failed_send.body
        assert resend.delivery_id == failed_send.delivery_id != first.delivery_id
        assert report["payloads"][0]["attempt"] == 2
        seqs_accepted = [r["seq"] for req in (first, resend) for r in req.json]
        assert seqs_accepted == [c["seq"] for c in visitor_changes(client)]

    def test_a_smaller_max_per_payload_does_not_change_a_pending_payload(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        sub = create_subscription(client, receiver.url, maxPerPayload=3)
        _visitors(client, 3)
        receiver.answer(500)
        run(client, sub["subscriptionId"])
        client.patch(f"/integration/subscriptions/{sub['subscriptionId']}", json={"maxPerPayload": 1})
        run(client, sub["subscriptionId"])
        assert receiver.requests[1].body == receiver.requests[0].body
        assert len(receiver.requests[1].json) == 3

    def test_redirects_are_not_followed(self, client: TestClient, receiver: Receiver) -> None:
        sub = create_subscription(client, receiver.url)
        create_visitor(client)
        receiver.answer(308)
        report = run(client, sub["subscriptionId"])
        assert len(receiver.requests) == 1
        assert report["payloads"][0]["httpStatus"] == 308
        assert "redirects are not followed" in report["payloads"][0]["error"]

    def test_the_delivery_log(self, client: TestClient, receiver: Receiver) -> None:
        sub = create_subscription(client, receiver.url, maxPerPayload=1)
        _visitors(client, 2)
        receiver.answer(200, 500)
        run(client, sub["subscriptionId"])
        log = deliveries(client, sub["subscriptionId"])
        assert [d["status"] for d in log] == ["pending", "delivered"]  # newest first
        pending, delivered = log
        assert pending["attemptCount"] == 1
        assert pending["httpStatus"] == 500
        assert pending["responseExcerpt"] == '{"status": 500}'
        assert pending["recordCount"] == 1
        assert pending["firstSeq"] == pending["lastSeq"] > delivered["lastSeq"]
        assert isinstance(pending["durationMs"], int)
        assert delivered["deliveredAt"] is not None
        assert deliveries(client, sub["subscriptionId"], status="delivered") == [delivered]
        detail = client.get(f"/integration/deliveries/{pending['deliveryId']}").json()["data"]
        assert [a["httpStatus"] for a in detail["attemptLog"]] == [500]
        assert detail["records"] == receiver.requests[1].json
        assert detail["id"] == pending["id"] == pending["deliveryId"]
        assert receiver.requests[1].headers["webhook-id"] == pending["id"]
        assert (
            client.get(f"/integration/subscriptions/{sub['subscriptionId']}").json()["data"][
                "pendingDeliveryId"
            ]
            == pending["deliveryId"]
        )


class TestDeadLetters:
    def test_after_max_attempts_the_payload_is_dead_lettered_and_skipped(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        sub = create_subscription(client, receiver.url, maxPerPayload=1, maxAttempts=3)
        _visitors(client, 2)
        receiver.answer(500, 500, 500)
        outcomes = [run(client, sub["subscriptionId"])["payloads"][0]["outcome"] for _ in range(3)]
        assert outcomes == ["failed", "failed", "dead"]
        assert len({r.delivery_id for r in receiver.requests}) == 1
        report = run(client, sub["subscriptionId"])
        assert report["outcome"] == "ok"
        seqs = [c["seq"] for c in visitor_changes(client)]
        assert receiver.requests[-1].json[0]["seq"] == seqs[1]
        dead = deliveries(client, sub["subscriptionId"], status="dead")
        assert len(dead) == 1
        assert dead[0]["attemptCount"] == 3
        assert dead[0]["deadAt"] is not None
        detail = client.get(f"/integration/deliveries/{dead[0]['deliveryId']}").json()["data"]
        assert [r["seq"] for r in detail["records"]] == [seqs[0]]

    def test_replay_sends_the_same_payload_under_the_same_id(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        sub = create_subscription(client, receiver.url, maxAttempts=1)
        create_visitor(client)
        receiver.answer(500)
        assert run(client, sub["subscriptionId"])["payloads"][0]["outcome"] == "dead"
        (dead,) = deliveries(client, sub["subscriptionId"], status="dead")
        response = client.post(f"/integration/deliveries/{dead['deliveryId']}/replay")
        assert response.status_code == 200, response.text
        assert response.json()["data"]["outcome"] == "delivered"
        assert response.json()["data"]["attempt"] == 2
        first, replayed = receiver.requests
        assert replayed.body == first.body
        assert replayed.delivery_id == first.delivery_id == dead["deliveryId"]
        detail = client.get(f"/integration/deliveries/{dead['deliveryId']}").json()["data"]
        assert detail["status"] == "delivered"
        assert [(a["trigger"], a["outcome"]) for a in detail["attemptLog"]] == [
            ("run", "failed"),
            ("replay", "delivered"),
        ]

    def test_a_past_delivery_can_be_replayed(self, client: TestClient, receiver: Receiver) -> None:
        sub = create_subscription(client, receiver.url)
        create_visitor(client)
        run(client, sub["subscriptionId"])
        (delivered,) = deliveries(client, sub["subscriptionId"])
        response = client.post(f"/integration/deliveries/{delivered['deliveryId']}/replay")
        assert response.json()["data"]["outcome"] == "delivered"
        assert receiver.requests[0].body == receiver.requests[1].body

    def test_a_pending_delivery_cannot_be_replayed_out_of_turn(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        sub = create_subscription(client, receiver.url)
        create_visitor(client)
        receiver.answer(500)
        run(client, sub["subscriptionId"])
        (pending,) = deliveries(client, sub["subscriptionId"])
        response = client.post(f"/integration/deliveries/{pending['deliveryId']}/replay")
        assert response.status_code == 409
        message = response.json()["errors"][0]["message"]
        assert f"POST /integration/subscriptions/{sub['subscriptionId']}/run" in message
        assert "{subscriptionId}" not in message
        assert len(receiver.requests) == 1
        assert client.post("/integration/deliveries/dlv_unknown/replay").status_code == 404
        assert client.get("/integration/deliveries/dlv_unknown").status_code == 404


class TestBackfill:
    def test_a_start_date_sends_every_change_since_then(self, client: TestClient, receiver: Receiver) -> None:
        before = _visitors(client, 2)
        sub = create_subscription(client, receiver.url, startDate="2019-01-01")
        after = create_visitor(client)
        run(client, sub["subscriptionId"])
        sent = [r["entityId"] for r in receiver.records()]
        assert sent == [v["visitorId"] for v in (*before, after)]

    def test_changes_before_the_start_date_are_not_sent(
        self, client: TestClient, receiver: Receiver, app: FastAPI
    ) -> None:
        old = create_visitor(client)
        cut = datetime.now(UTC) + timedelta(milliseconds=5)
        while datetime.now(UTC) <= cut:
            pass
        new = create_visitor(client)
        sub = create_subscription(client, receiver.url, startDate=cut.isoformat())
        assert sub["lag"] > 0
        run(client, sub["subscriptionId"])
        sent = {r["entityId"] for r in receiver.records()}
        assert new["visitorId"] in sent
        assert old["visitorId"] not in sent

    def test_a_new_start_date_rewinds(self, client: TestClient, receiver: Receiver) -> None:
        first = create_visitor(client)
        sub = create_subscription(client, receiver.url)
        run(client, sub["subscriptionId"])
        assert receiver.requests == []
        client.patch(f"/integration/subscriptions/{sub['subscriptionId']}", json={"startDate": "2020-01-01"})
        run(client, sub["subscriptionId"])
        assert [r["entityId"] for r in receiver.records()] == [first["visitorId"]]

    def test_without_a_start_date_only_later_changes_are_sent(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        create_visitor(client)
        sub = create_subscription(client, receiver.url)
        later = create_visitor(client)
        run(client, sub["subscriptionId"])
        assert [r["entityId"] for r in receiver.records()] == [later["visitorId"]]


class TestReceiverAuth:
    def _one_request(self, client: TestClient, receiver: Receiver, auth: dict[str, Any]) -> Any:
        sub = create_subscription(client, receiver.url, auth=auth)
        create_visitor(client)
        run(client, sub["subscriptionId"])
        (request,) = receiver.requests
        return request, sub

    def test_none(self, client: TestClient, receiver: Receiver) -> None:
        request, _ = self._one_request(client, receiver, {"type": "none"})
        assert "authorization" not in request.headers
        assert request.headers["webhook-id"].startswith("dlv_")
        assert "webhook-signature" not in request.headers

    def test_basic(self, client: TestClient, receiver: Receiver) -> None:
        request, _ = self._one_request(
            client, receiver, {"type": "basic", "username": "datx", "password": "pw"}
        )
        assert request.headers["authorization"] == "Basic " + base64.b64encode(b"datx:pw").decode()

    def test_api_key(self, client: TestClient, receiver: Receiver) -> None:
        request, _ = self._one_request(
            client, receiver, {"type": "apiKey", "header": "X-DatX-Key", "value": "k-42"}
        )
        assert request.headers["x-datx-key"] == "k-42"
        assert "authorization" not in request.headers

    def test_hmac_signature_verifies_with_standardwebhooks(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        request, sub = self._one_request(client, receiver, {"type": "hmac"})
        verified = Webhook(sub["secret"]).verify(request.body, request.headers)
        assert verified == request.json
        with pytest.raises(WebhookVerificationError):
            Webhook(sub["secret"]).verify(request.body + b" ", request.headers)
        other = "whsec_" + base64.b64encode(b"x" * 32).decode()
        with pytest.raises(WebhookVerificationError):
            Webhook(other).verify(request.body, request.headers)

    def test_a_retry_is_signed_afresh_under_the_same_id(self, client: TestClient, receiver: Receiver) -> None:
        secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
        sub = create_subscription(client, receiver.url, auth={"type": "hmac", "secret": secret})
        create_visitor(client)
        receiver.answer(500)
        run(client, sub["subscriptionId"])
        run(client, sub["subscriptionId"])
        first, second = receiver.requests
        assert first.delivery_id == second.delivery_id
        for request in (first, second):
            Webhook(secret).verify(request.body, request.headers)


class TestSsrf:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/hook",
            "http://172.16.5.4/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://[fe80::1]/hook",
            "http://0.0.0.0/hook",
            "http://100.64.0.1/hook",
        ],
    )
    def test_private_targets_are_refused_when_saved(
        self, client: TestClient, app: FastAPI, settings: Settings, url: str
    ) -> None:
        app.state.settings = settings.model_copy(update={"allow_private_targets": False})
        response = client.post(
            "/integration/subscriptions", json={"name": "x", "stream": "visitors", "url": url}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "url"
        assert "VISITORHUB_ALLOW_PRIVATE_TARGETS" in response.json()["errors"][0]["message"]

    def test_an_unresolvable_name_is_accepted_when_saved(
        self, client: TestClient, app: FastAPI, settings: Settings
    ) -> None:
        app.state.settings = settings.model_copy(update={"allow_private_targets": False})
        body = {"name": "x", "stream": "visitors", "url": "https://receiver.invalid/hook"}
        assert client.post("/integration/subscriptions", json=body).status_code == 201

    def test_private_targets_are_refused_when_sent(
        self,
        client: TestClient,
        app: FastAPI,
        settings: Settings,
        receiver: Receiver,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A configuration error, not a failed attempt: no attempt is used up (even with maxAttempts 1,
        nothing is dead-lettered), the run stops with the reason, and its log line says it."""
        sub = create_subscription(client, receiver.url, maxAttempts=1)  # saved while allowed
        create_visitor(client)
        app.state.settings = settings.model_copy(update={"allow_private_targets": False})
        with caplog.at_level("INFO", logger="visitorhub.streams"):
            report = run(client, sub["subscriptionId"])
        assert receiver.requests == []
        assert report["outcome"] == "failed"
        assert report["stoppedBecause"] == "error"
        assert report["error"].startswith("blocked")
        assert "127.0.0.1" in report["error"]
        assert report["payloads"] == []
        (waiting,) = deliveries(client, sub["subscriptionId"])
        assert waiting["status"] == "pending"
        assert waiting["attemptCount"] == 0
        line = next(r for r in caplog.records if r.getMessage().startswith("streams.run "))
        assert line.levelname == "WARNING"
        assert "outcome=failed stopped=error" in line.getMessage()
        assert "error=blocked" in line.getMessage()
        # Once the address is allowed (the configuration fixed), the same payload goes, at attempt 1.
        app.state.settings = settings
        again = run(client, sub["subscriptionId"])
        assert [(p["deliveryId"], p["attempt"], p["outcome"]) for p in again["payloads"]] == [
            (waiting["deliveryId"], 1, "delivered")
        ]

    def test_a_name_that_does_not_resolve_fails_the_attempt(
        self, client: TestClient, app: FastAPI, settings: Settings
    ) -> None:
        sub = create_subscription(client, "http://receiver.invalid/hook")
        create_visitor(client)
        report = run(client, sub["subscriptionId"])
        assert report["payloads"][0]["error"].startswith("dns")


class TestOneRunAtATime:
    def test_a_second_run_while_one_is_in_flight_is_busy(
        self, client: TestClient, receiver: Receiver, app: FastAPI, settings: Settings
    ) -> None:
        slow = settings.model_copy(update={"streams_timeout_seconds": 5})
        sub = create_subscription(client, receiver.url)
        create_visitor(client)
        receiver.answer("hang")
        reports: list[Any] = []

        def first_run() -> None:
            with Sender(slow) as sender:
                reports.append(run_subscription(app.state.sessions, sub["subscriptionId"], slow, sender))

        thread = threading.Thread(target=first_run)
        thread.start()
        assert receiver.wait_for(1)
        second = run(client, sub["subscriptionId"])
        receiver.release()
        thread.join(10)
        assert second["outcome"] == "busy"
        assert second["payloads"] == []
        assert len(receiver.requests) == 1
        assert reports[0].payloads[0].outcome == "failed"


class TestLagAndIdentity:
    def test_lag_counts_the_records_waiting_not_seq_numbers(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        sub = create_subscription(client, receiver.url)
        first = create_visitor(client)
        for plate in ("LAG-1", "LAG-2", "LAG-3"):  # changes of another stream, in between
            create_vehicle(client, first["visitorId"], licensePlate=plate)
        create_visitor(client)
        shown = client.get(f"/integration/subscriptions/{sub['subscriptionId']}").json()["data"]
        assert shown["lag"] == 2  # two visitors; the seq difference would be 5
        report = run(client, sub["subscriptionId"])
        assert (report["recordsDelivered"], report["lag"]) == (2, 0)

    def test_lag_after_a_partial_run(self, client: TestClient, receiver: Receiver) -> None:
        sub = create_subscription(client, receiver.url, maxPerRun=1)
        visitor = create_visitor(client)
        create_vehicle(client, visitor["visitorId"], licensePlate="LAG-9")
        create_visitor(client)
        create_visitor(client)
        report = run(client, sub["subscriptionId"])
        assert (report["recordsDelivered"], report["lag"]) == (1, 2)

    def test_outbound_requests_say_who_sends_them(self, client: TestClient, receiver: Receiver) -> None:
        sub = create_subscription(client, receiver.url)
        create_visitor(client)
        run(client, sub["subscriptionId"])
        assert receiver.requests[0].headers["user-agent"] == f"visitorhub/{__version__}"
        with make_client(1.0) as http:  # the client connectors use too
            assert http.headers["User-Agent"] == f"visitorhub/{__version__}"
