"""/integration/connectors as configuration: validation naming the field, secrets sealed and never
returned, URLs checked when saved, PATCH semantics (merged settings, full sync and mirror reset), runs."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select

from tests.conftest import bearer
from tests.integration.connectors.conftest import (
    SECRET,
    connector_settings,
    create_connector,
    seed_visitors,
    sync,
)
from visitorhub.app import create_app
from visitorhub.config import Settings
from visitorhub.models import Connector


def _errors(response: Any) -> list[dict[str, Any]]:
    return response.json()["errors"]  # type: ignore[no-any-return]


class TestCreate:
    def test_a_connector_starts_with_a_full_sync_pending_and_shows_no_secret(
        self, client: TestClient, url: str
    ) -> None:
        data = create_connector(client, url, name="car-park", schedule="batch", intervalMinutes=30)
        assert data["name"] == "car-park"
        assert (data["kind"], data["schedule"], data["intervalMinutes"]) == ("entervo", "batch", 30)
        assert data["fullSyncPending"] is True
        assert (data["cursor"], data["records"], data["failedRecords"]) == (0, 0, 0)
        assert "clientSecret" not in data["settings"]
        assert data["settings"]["baseUrl"] == url
        assert data["settings"]["deleteMissing"] is False
        assert data["filter"] == {"requireVehicle": True, "centers": None, "optinType": None}
        listed = client.get("/integration/connectors").json()["data"]
        assert [c["name"] for c in listed] == ["car-park"]
        assert SECRET not in client.get(f"/integration/connectors/{data['connectorId']}").text

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"kind": "skidata"}, "kind"),
            ({"settings": {"project": "p"}}, "settings.baseUrl"),
            ({"settings": connector_settings("http://x", concurrency=0)}, "settings.concurrency"),
            ({"settings": connector_settings("http://x", productIds=[" "])}, "settings.productIds"),
            ({"settings": connector_settings("http://x", colour="red")}, "settings.colour"),
            ({"settings": connector_settings("ftp://x")}, "settings.baseUrl"),
            ({"schedule": "hourly"}, "schedule"),
            ({"filter": {"centers": []}}, "filter.centers"),
            ({"filter": {"optinType": "nope"}}, "filter.optinType"),
        ],
    )
    def test_invalid_bodies_name_the_field(
        self, client: TestClient, url: str, change: dict[str, Any], field: str
    ) -> None:
        body = {"name": "bad", "kind": "entervo", "settings": connector_settings(url)} | change
        response = client.post("/integration/connectors", json=body)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in _errors(response)]

    def test_names_are_unique(self, client: TestClient, url: str) -> None:
        create_connector(client, url, name="twice")
        response = client.post(
            "/integration/connectors",
            json={"name": "twice", "kind": "entervo", "settings": connector_settings(url)},
        )
        assert response.status_code == 409
        assert _errors(response)[0]["field"] == "name"

    def test_private_addresses_are_refused_when_saved_unless_allowed(
        self, connection: Connection, database_url: str, keys: dict[str, str], url: str
    ) -> None:
        app = create_app(Settings(database_url=database_url), bind=connection)
        with TestClient(app, raise_server_exceptions=False, headers=bearer(keys["admin"])) as strict:
            for settings in (connector_settings(url), connector_settings("https://x.example", authUrl=url)):
                response = strict.post(
                    "/integration/connectors", json={"name": "p", "kind": "entervo", "settings": settings}
                )
                assert response.status_code == 422
                (error,) = _errors(response)
                assert error["code"] == "unsafe_url"
                assert "loopback" in error["message"]

    def test_the_secret_is_sealed_at_rest_with_a_key(
        self, connection: Connection, database_url: str, keys: dict[str, str], url: str
    ) -> None:
        settings = Settings(database_url=database_url, allow_private_targets=True, secrets_key="k1")
        with TestClient(
            create_app(settings, bind=connection),
            raise_server_exceptions=False,
            headers=bearer(keys["admin"]),
        ) as sealed:
            created = create_connector(sealed, url)
            stored = connection.execute(
                select(Connector.settings).where(Connector.id == created["connectorId"])
            ).scalar_one()
            assert stored["clientSecret"].startswith("enc:")
            assert SECRET not in str(stored)

    def test_admin_scope_is_needed(self, writer: TestClient, url: str) -> None:
        assert writer.get("/integration/connectors").status_code == 403
        body = {"name": "p", "kind": "entervo", "settings": connector_settings(url)}
        assert writer.post("/integration/connectors", json=body).status_code == 403


class TestUpdate:
    def test_settings_are_merged_and_the_secret_kept(self, client: TestClient, url: str) -> None:
        created = create_connector(client, url)
        response = client.patch(
            f"/integration/connectors/{created['connectorId']}",
            json={"settings": {"concurrency": 2, "rateLimit": 50}, "enabled": False},
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert (data["settings"]["concurrency"], data["settings"]["rateLimit"]) == (2, 50)
        assert data["settings"]["project"] == created["settings"]["project"]
        assert data["enabled"] is False
        assert data["nextRunAt"] is None
        # The secret survived the merge: a sync still gets a token.
        assert sync(client, created["connectorId"])["calls"]["token"] == 1

    def test_null_restores_a_default_and_a_required_setting_cannot_go(
        self, client: TestClient, url: str
    ) -> None:
        created = create_connector(client, url, settings={"concurrency": 3})
        path = f"/integration/connectors/{created['connectorId']}"
        data = client.patch(path, json={"settings": {"concurrency": None}}).json()["data"]
        assert data["settings"]["concurrency"] == 4
        response = client.patch(path, json={"settings": {"clientSecret": None}})
        assert response.status_code == 422
        assert _errors(response)[0]["field"] == "settings.clientSecret"

    def test_the_kind_cannot_change(self, client: TestClient, url: str) -> None:
        created = create_connector(client, url)
        path = f"/integration/connectors/{created['connectorId']}"
        assert client.patch(path, json={"kind": "entervo"}).status_code == 200
        response = client.patch(path, json={"kind": "other"})
        assert response.status_code == 422
        assert _errors(response)[0]["code"] == "immutable"

    def test_a_new_filter_or_contract_makes_the_next_sync_full(
        self, client: TestClient, url: str, session: Any
    ) -> None:
        seed_visitors(session, 1)
        created = create_connector(client, url)
        path = f"/integration/connectors/{created['connectorId']}"
        sync(client, created["connectorId"])
        assert client.get(path).json()["data"]["fullSyncPending"] is False
        unchanged = client.patch(path, json={"filter": {"requireVehicle": True}}).json()["data"]
        assert unchanged["fullSyncPending"] is False  # the same filter
        assert client.patch(path, json={"filter": {"optinType": "loyalty"}}).json()["data"]["fullSyncPending"]
        sync(client, created["connectorId"])
        patched = client.patch(path, json={"settings": {"productIds": ["PP000054"]}}).json()["data"]
        assert patched["fullSyncPending"] is True
        assert sync(client, created["connectorId"])["full"] is True

    def test_another_customer_forgets_the_mirror(self, client: TestClient, url: str, session: Any) -> None:
        seed_visitors(session, 2)
        created = create_connector(client, url)
        path = f"/integration/connectors/{created['connectorId']}"
        sync(client, created["connectorId"])
        assert client.get(path).json()["data"]["records"] == 2
        patched = client.patch(path, json={"settings": {"customerBusinessId": "C2024Oth3rOne"}}).json()[
            "data"
        ]
        assert (patched["records"], patched["fullSyncPending"]) == (0, True)


class TestDeleteAndRuns:
    def test_delete_takes_the_mirror_and_runs_along(self, client: TestClient, url: str, session: Any) -> None:
        seed_visitors(session, 1)
        created = create_connector(client, url)
        run = sync(client, created["connectorId"])
        path = f"/integration/connectors/{created['connectorId']}"
        assert client.get(f"{path}/runs/{run['runId']}").json()["data"]["created"] == 1
        assert client.delete(path).status_code == 204
        assert client.get(path).status_code == 404
        assert client.get(f"{path}/runs").status_code == 404
        assert client.post(f"{path}/sync", json={}).status_code == 404

    def test_runs_newest_first_and_a_run_of_another_connector_is_404(
        self, client: TestClient, url: str
    ) -> None:
        first = create_connector(client, url)
        second = create_connector(client, url)
        runs = [sync(client, first["connectorId"])["runId"] for _ in range(2)]
        other = sync(client, second["connectorId"])["runId"]
        listed = client.get(f"/integration/connectors/{first['connectorId']}/runs").json()["data"]
        assert [run["runId"] for run in listed] == runs[::-1]
        missing = client.get(f"/integration/connectors/{first['connectorId']}/runs/{other}")
        assert missing.status_code == 404
        assert _errors(missing)[0]["field"] == "runId"

    def test_an_empty_sync_body_is_an_incremental_sync(self, client: TestClient, url: str) -> None:
        created = create_connector(client, url)
        sync(client, created["connectorId"])
        response = client.post(f"/integration/connectors/{created['connectorId']}/sync")
        assert response.status_code == 200, response.text
        assert response.json()["data"]["full"] is False
