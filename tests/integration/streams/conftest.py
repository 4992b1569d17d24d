"""Stream fixtures: short timeouts, a real receiver on loopback, and helpers to subscribe and run."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from visitorhub.config import Settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Loopback receivers need private targets allowed; short timeouts keep hanging receivers quick.
    return settings_for(
        database_url=database_url,
        allow_private_targets=True,
        streams_timeout_seconds=0.5,
        streams_lease_seconds=5,
    )


def run(client: TestClient, subscription_id: int) -> dict[str, Any]:
    response = client.post(f"/integration/subscriptions/{subscription_id}/run")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def deliveries(client: TestClient, subscription_id: int, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/integration/subscriptions/{subscription_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def visitor_changes(client: TestClient) -> list[dict[str, Any]]:
    response = client.get("/changes", params={"entity": "visitors", "limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]
