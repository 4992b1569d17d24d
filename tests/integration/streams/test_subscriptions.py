"""/integration/subscriptions: create, read, update, delete; every rule of a subscription's settings."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import bearer
from tests.factories import create_subscription, create_visitor
from tests.integration.streams.conftest import run
from tests.servers import Receiver
from visitorhub.config import Settings
from visitorhub.models import StreamSubscription

URL = "http://127.0.0.1:9/hook"  # saved, never called by these tests


def _post(client: TestClient, **body: Any) -> Any:
    return client.post(
        "/integration/subscriptions", json={"name": "s", "stream": "visitors", "url": URL, **body}
    )


def _error(response: Any) -> dict[str, Any]:
    return response.json()["errors"][0]  # type: ignore[no-any-return]


class TestCreate:
    def test_defaults_are_the_seeds(self, client: TestClient) -> None:
        response = _post(client)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert data["intervalMinutes"] == 15
        assert data["maxPerRun"] == 500
        assert data["maxPerPayload"] == 50
        assert data["maxAttempts"] == 12
        assert data["startDate"] is None
        assert data["enabled"] is True
        assert data["template"] is None
        assert data["auth"] == {"type": "none"}
        assert data["pendingDeliveryId"] is None
        assert isinstance(data["subscriptionId"], int)
        assert data["id"] == data["subscriptionId"]

    @pytest.mark.parametrize(
        ("body", "per_payload"),
        [({"maxPerRun": 10}, 10), ({"maxPerRun": 49}, 49), ({"maxPerRun": 51}, 50), ({"maxPerRun": 1}, 1)],
    )
    def test_max_per_payload_defaults_to_50_or_max_per_run(
        self, client: TestClient, body: dict[str, int], per_payload: int
    ) -> None:
        response = _post(client, **body)
        assert response.status_code == 201, response.text
        assert response.json()["data"]["maxPerPayload"] == per_payload

    def test_only_maxPerRun_lowered_lowers_maxPerPayload_too(self, client: TestClient) -> None:
        sub = _post(client, maxPerPayload=40).json()["data"]
        url = f"/integration/subscriptions/{sub['subscriptionId']}"
        lowered = client.patch(url, json={"maxPerRun": 5})
        assert lowered.status_code == 200, lowered.text
        assert (lowered.json()["data"]["maxPerRun"], lowered.json()["data"]["maxPerPayload"]) == (5, 5)
        explicit = client.patch(url, json={"maxPerPayload": 6})  # an explicit conflict
        assert explicit.status_code == 422
        assert _error(explicit)["field"] == "maxPerPayload"
        both = client.patch(url, json={"maxPerRun": 100, "maxPerPayload": 60})
        assert (both.json()["data"]["maxPerRun"], both.json()["data"]["maxPerPayload"]) == (100, 60)

    def test_starts_from_now_without_a_start_date(self, client: TestClient) -> None:
        create_visitor(client)
        seqs = [c["seq"] for c in client.get("/changes", params={"limit": 500}).json()["data"]]
        data = _post(client).json()["data"]
        assert data["cursor"] == max(seqs)
        assert data["lag"] == 0

    @pytest.mark.parametrize("stream", ["visitors", "vehicles", "centers", "external-ids", "visitor-centers"])
    def test_every_entity_is_a_stream(self, client: TestClient, stream: str) -> None:
        assert _post(client, stream=stream).status_code == 201

    def test_the_streams_are_listed(self, client: TestClient) -> None:
        data = client.get("/integration/streams").json()["data"]
        assert {"stream": "visitors", "entity": "Visitor"} in data
        assert {"stream": "vehicles", "entity": "Vehicle"} in data

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"stream": "Visitor"}, "stream"),
            ({"stream": "no-such-stream"}, "stream"),
            ({"intervalMinutes": 0}, "intervalMinutes"),
            ({"intervalMinutes": 1441}, "intervalMinutes"),
            ({"maxPerRun": 0}, "maxPerRun"),
            ({"maxPerPayload": 0}, "maxPerPayload"),
            ({"maxPerRun": 10, "maxPerPayload": 11}, "maxPerPayload"),
            ({"maxAttempts": 0}, "maxAttempts"),
            ({"startDate": "yesterday"}, "startDate"),
            ({"url": "ftp://example.com/x"}, "url"),
            ({"url": "http://user:pw@example.com/x"}, "url"),
            ({"url": "not a url"}, "url"),
            ({"auth": {"type": "oauth"}}, "auth"),
            ({"auth": {"type": "basic", "username": "u"}}, "auth.basic.password"),
            ({"auth": {"type": "apiKey"}}, "auth.apiKey.value"),
            ({"auth": {"type": "apiKey", "header": "bad header", "value": "k"}}, "auth.apiKey.header"),
            ({"auth": {"type": "apiKey", "header": "webhook-id", "value": "k"}}, "auth.apiKey.header"),
            ({"auth": {"type": "hmac", "secret": "not base64!"}}, "auth.hmac.secret"),
            ({"auth": {"type": "hmac", "secret": "whsec_c2hvcnQ="}}, "auth.hmac.secret"),
            ({"colour": "red"}, "colour"),
            ({"template": "no-such-template"}, "template"),
            ({"template": "visitors-import"}, "template"),
            ({"template": "visitors-export"}, "template"),
        ],
    )
    def test_invalid_settings_name_the_field(
        self, client: TestClient, body: dict[str, Any], field: str
    ) -> None:
        response = _post(client, **body)
        assert response.status_code == 422, response.text
        assert _error(response)["field"] == field, response.text
        assert client.get("/integration/subscriptions").json()["data"] == []

    def test_names_are_unique(self, client: TestClient) -> None:
        assert _post(client).status_code == 201
        response = _post(client)
        assert response.status_code == 409
        assert _error(response)["field"] == "name"

    def test_a_template_must_be_an_export_of_the_stream_entity_alone(self, client: TestClient) -> None:
        template = {
            "direction": "out",
            "entities": [{"type": "Center", "fields": [{"source": "code", "field": "pcCode"}]}],
        }
        assert client.put("/integration/templates/centre-codes", json=template).status_code == 201
        response = _post(client, template="centre-codes")
        assert response.status_code == 422
        assert "Center" in _error(response)["message"]
        assert _post(client, name="p", stream="centers", template="centre-codes").status_code == 201


class TestSecrets:
    def test_basic_password_is_never_returned(self, client: TestClient) -> None:
        auth = {"type": "basic", "username": "datx", "password": "s3cret-pw"}
        sub = _post(client, auth=auth).json()["data"]
        assert sub["auth"] == {"type": "basic", "username": "datx"}
        for response in (
            client.get(f"/integration/subscriptions/{sub['subscriptionId']}"),
            client.get("/integration/subscriptions"),
        ):
            assert "s3cret-pw" not in response.text

    def test_api_key_value_is_never_returned(self, client: TestClient) -> None:
        auth = {"type": "apiKey", "header": "X-DatX-Key", "value": "k-123456"}
        sub = _post(client, auth=auth).json()["data"]
        assert sub["auth"] == {"type": "apiKey", "header": "X-DatX-Key"}
        assert "k-123456" not in client.get(f"/integration/subscriptions/{sub['subscriptionId']}").text

    def test_a_generated_hmac_secret_is_shown_once(self, client: TestClient) -> None:
        sub = _post(client, auth={"type": "hmac"}).json()["data"]
        assert sub["secret"].startswith("whsec_")
        again = client.get(f"/integration/subscriptions/{sub['subscriptionId']}")
        assert sub["secret"] not in again.text
        assert again.json()["data"]["auth"] == {"type": "hmac"}

    def test_a_given_hmac_secret_is_not_echoed(self, client: TestClient) -> None:
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        response = _post(client, auth={"type": "hmac", "secret": secret})
        assert response.status_code == 201
        assert secret not in response.text
        assert "secret" not in response.json()["data"]

    def test_secrets_are_not_logged(self, client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
        sub = _post(client, auth={"type": "basic", "username": "u", "password": "pw-in-logs?"}).json()["data"]
        client.post(f"/integration/subscriptions/{sub['subscriptionId']}/run")
        assert "pw-in-logs?" not in caplog.text


class TestSealedSecrets:
    def test_with_a_key_secrets_are_sealed_at_rest_and_still_sent(
        self, client: TestClient, app: FastAPI, settings: Settings, receiver: Receiver, session: Session
    ) -> None:
        app.state.settings = settings.model_copy(update={"secrets_key": "a passphrase for the tests"})
        auth = {"type": "basic", "username": "datx", "password": "s3cret-pw"}
        sub = create_subscription(client, receiver.url, auth=auth)
        stored = session.get(StreamSubscription, sub["subscriptionId"])
        assert stored is not None
        assert stored.auth["password"].startswith("enc:")
        assert "s3cret-pw" not in str(stored.auth)
        create_visitor(client)
        run(client, sub["subscriptionId"])
        assert (
            receiver.requests[0].headers["authorization"] == "Basic " + b64encode(b"datx:s3cret-pw").decode()
        )

    def test_without_the_key_a_run_stops_with_its_reason(
        self, client: TestClient, app: FastAPI, settings: Settings, receiver: Receiver
    ) -> None:
        app.state.settings = settings.model_copy(update={"secrets_key": "the key"})
        sub = create_subscription(client, receiver.url, auth={"type": "hmac"})
        create_visitor(client)
        app.state.settings = settings
        report = run(client, sub["subscriptionId"])
        assert report["outcome"] == "failed"
        assert report["stoppedBecause"] == "error"
        assert "VISITORHUB_SECRETS_KEY" in report["error"]
        assert receiver.requests == []


class TestReadUpdateDelete:
    def test_get_and_list(self, client: TestClient) -> None:
        first = create_subscription(client, URL)
        second = create_subscription(client, URL)
        assert client.get(f"/integration/subscriptions/{first['subscriptionId']}").json()["data"] == first
        listed = client.get("/integration/subscriptions", params={"limit": 1})
        assert [s["subscriptionId"] for s in listed.json()["data"]] == [first["subscriptionId"]]
        assert "offset=1" in listed.json()["metadata"]["_links"]["next"]
        rest = client.get("/integration/subscriptions", params={"offset": 1}).json()["data"]
        assert [s["subscriptionId"] for s in rest] == [second["subscriptionId"]]

    def test_unknown_id_is_404(self, client: TestClient) -> None:
        for method in ("get", "patch", "delete"):
            kwargs = {"json": {}} if method == "patch" else {}
            response = getattr(client, method)("/integration/subscriptions/999", **kwargs)
            assert response.status_code == 404, method
            assert _error(response)["field"] == "subscriptionId"
        assert client.post("/integration/subscriptions/999/run").status_code == 404

    def test_patch_changes_the_given_fields(self, client: TestClient) -> None:
        sub = create_subscription(client, URL)
        url = f"/integration/subscriptions/{sub['subscriptionId']}"
        response = client.patch(url, json={"intervalMinutes": 60, "enabled": False, "maxPerPayload": 10})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert (data["intervalMinutes"], data["enabled"], data["maxPerPayload"]) == (60, False, 10)
        assert data["maxPerRun"] == 500
        assert data["nextRunAt"] is None  # disabled: not scheduled
        assert client.get(url).json()["data"] == data

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"intervalMinutes": 1441}, "intervalMinutes"),
            ({"maxPerPayload": 501}, "maxPerPayload"),
            ({"stream": "vehicles"}, "stream"),
            ({"enabled": None}, "enabled"),
            ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ],
    )
    def test_invalid_patch_changes_nothing(
        self, client: TestClient, app: Any, body: dict[str, Any], field: str
    ) -> None:
        app.state.settings = app.state.settings.model_copy(update={"allow_private_targets": False})
        sub = create_subscription(client, "https://example.com/hook")
        url = f"/integration/subscriptions/{sub['subscriptionId']}"
        response = client.patch(url, json=body)
        assert response.status_code == 422, response.text
        assert _error(response)["field"] == field
        assert client.get(url).json()["data"] == sub

    def test_patch_auth_replaces_it(self, client: TestClient) -> None:
        sub = create_subscription(client, URL, auth={"type": "basic", "username": "a", "password": "b"})
        url = f"/integration/subscriptions/{sub['subscriptionId']}"
        response = client.patch(url, json={"auth": {"type": "hmac"}})
        assert response.json()["data"]["secret"].startswith("whsec_")
        assert client.get(url).json()["data"]["auth"] == {"type": "hmac"}

    def test_renaming_onto_another_name_is_409(self, client: TestClient) -> None:
        first = create_subscription(client, URL)
        second = create_subscription(client, URL)
        response = client.patch(
            f"/integration/subscriptions/{second['subscriptionId']}", json={"name": first["name"]}
        )
        assert response.status_code == 409

    def test_delete(self, client: TestClient) -> None:
        sub = create_subscription(client, URL)
        url = f"/integration/subscriptions/{sub['subscriptionId']}"
        assert client.delete(url).status_code == 204
        assert client.get(url).status_code == 404


class TestScopes:
    def test_admin_scope_is_needed(self, app: Any, keys: dict[str, str], receiver: Receiver) -> None:
        with TestClient(app, headers=bearer(keys["write"])) as writer:
            for method, path in (
                ("get", "/integration/subscriptions"),
                ("post", "/integration/subscriptions"),
                ("get", "/integration/subscriptions/1"),
                ("patch", "/integration/subscriptions/1"),
                ("delete", "/integration/subscriptions/1"),
                ("post", "/integration/subscriptions/1/run"),
                ("get", "/integration/subscriptions/1/deliveries"),
                ("get", "/integration/deliveries/dlv_1"),
                ("post", "/integration/deliveries/dlv_1/replay"),
            ):
                assert getattr(writer, method)(path).status_code == 403, path
        with TestClient(app) as anonymous:
            assert anonymous.get("/integration/subscriptions").status_code == 401
        assert receiver.requests == []


class TestTemplateNames:
    @pytest.mark.parametrize("name", ["subscriptions", "deliveries", "streams"])
    def test_stream_routes_are_reserved(self, client: TestClient, name: str) -> None:
        template = {
            "direction": "out",
            "entities": [{"type": "Visitor", "fields": [{"source": "e", "field": "email"}]}],
        }
        assert client.put(f"/integration/templates/{name}", json=template).status_code == 400
