"""/metrics for streams, and records shaped by an `out` template."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import bearer
from tests.factories import create_subscription, create_visitor
from tests.integration.streams.conftest import run
from tests.servers import Receiver
from visitorhub.config import Settings


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class TestMetrics:
    def test_deliveries_by_outcome_records_and_lag(self, client: TestClient, receiver: Receiver) -> None:
        sub = create_subscription(client, receiver.url, name="datx", maxPerPayload=2)
        for _ in range(3):
            create_visitor(client)
        receiver.answer(200, 500)
        run(client, sub["subscriptionId"])
        response = client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        samples = _samples(response.text)
        label = (("subscription", "datx"),)
        assert samples[("visitorhub_stream_deliveries_total", (("outcome", "delivered"), *label))] == 1
        assert samples[("visitorhub_stream_deliveries_total", (("outcome", "failed"), *label))] == 1
        assert samples[("visitorhub_stream_deliveries_total", (("outcome", "dead_lettered"), *label))] == 0
        assert samples[("visitorhub_stream_records_delivered_total", label)] == 2
        lag = client.get(f"/integration/subscriptions/{sub['subscriptionId']}").json()["data"]["lag"]
        assert samples[("visitorhub_stream_lag_records", label)] == lag == 1  # the one visitor not sent
        assert samples[("visitorhub_stream_pending_attempts", label)] == 1
        run(client, sub["subscriptionId"])
        samples = _samples(client.get("/metrics").text)
        assert samples[("visitorhub_stream_records_delivered_total", label)] == 3
        assert samples[("visitorhub_stream_lag_records", label)] == 0

    def test_a_key_is_needed_unless_metrics_are_public(
        self, app: FastAPI, keys: dict[str, str], settings: Settings
    ) -> None:
        with TestClient(app) as anonymous:
            assert anonymous.get("/metrics").status_code == 401
            assert anonymous.get("/metrics", headers=bearer(keys["read"])).status_code == 200
            app.state.settings = settings.model_copy(update={"metrics_public": True})
            assert anonymous.get("/metrics").status_code == 200


TEMPLATE: dict[str, Any] = {
    "direction": "out",
    "description": "What DatX wants of a visitor",
    "entities": [
        {
            "type": "Visitor",
            "fields": [
                {"source": "id", "field": "visitorId"},
                {"source": "contact.email", "field": "email", "transforms": ["upper"]},
                {"source": "prenom", "field": "firstName"},
            ],
        }
    ],
}


class TestTemplates:
    def test_a_template_shapes_each_record(self, client: TestClient, receiver: Receiver) -> None:
        assert client.put("/integration/templates/datx-visitor", json=TEMPLATE).status_code == 201
        sub = create_subscription(client, receiver.url, template="datx-visitor")
        visitor = create_visitor(client, firstName="Zoé", email="zoe@example.com")
        run(client, sub["subscriptionId"])
        (record,) = receiver.records()
        assert record["entityId"] == visitor["visitorId"]
        assert record["data"] == {
            "id": visitor["visitorId"],
            "contact": {"email": "ZOE@EXAMPLE.COM"},
            "prenom": "Zoé",
        }

    def test_a_retry_sends_the_body_as_first_shaped_even_if_the_template_changed(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        client.put("/integration/templates/datx-visitor", json=TEMPLATE)
        sub = create_subscription(client, receiver.url, template="datx-visitor")
        create_visitor(client)
        receiver.answer(500)
        run(client, sub["subscriptionId"])
        changed = {
            **TEMPLATE,
            "entities": [{"type": "Visitor", "fields": [{"source": "x", "field": "email"}]}],
        }
        assert client.put("/integration/templates/datx-visitor", json=changed).status_code == 200
        run(client, sub["subscriptionId"])
        first, retry = receiver.requests
        assert retry.body == first.body
        assert retry.delivery_id == first.delivery_id
        assert "prenom" in retry.json[0]["data"]

    def test_a_template_deleted_since_stops_the_run_with_its_reason(
        self, client: TestClient, receiver: Receiver
    ) -> None:
        client.put("/integration/templates/datx-visitor", json=TEMPLATE)
        sub = create_subscription(client, receiver.url, template="datx-visitor")
        create_visitor(client)
        assert client.delete("/integration/templates/datx-visitor").status_code == 204
        report = run(client, sub["subscriptionId"])
        assert report["outcome"] == "failed"
        assert report["stoppedBecause"] == "error"
        assert "datx-visitor" in report["error"]
        assert receiver.requests == []
        assert report["lag"] > 0
