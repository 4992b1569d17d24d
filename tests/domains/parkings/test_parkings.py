"""Parkings (seq 82-85): one active subscription per partner; DELETE unsubscribes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.owned import error, ok
from tests.factories import changes, create_visitor


@pytest.fixture
def base(client: TestClient) -> str:
    return f"/visitors/{create_visitor(client)['visitorId']}/parkings"


def subscribe(client: TestClient, base: str, partner: str = "designa") -> dict[str, Any]:
    return ok(client.post(base, json={"parkingPartner": partner}), 201)  # type: ignore[no-any-return]


def test_register_subscribes(client: TestClient, base: str) -> None:
    parking = subscribe(client, base)
    assert parking["isActive"] is True
    assert parking["subscriptionDate"] is not None
    assert parking["unsubscribedAt"] is None
    assert error(client.post(base, json={"parkingPartner": "acme"}), 422)["field"] == "parkingPartner"


def test_one_active_parking_per_partner(client: TestClient, base: str) -> None:
    first = subscribe(client, base, "thales")
    subscribe(client, base, "ilogs")
    found = error(client.post(base, json={"parkingPartner": "thales"}), 409)
    assert found["field"] == "parkingPartner"
    assert str(first["parkingId"]) in found["message"]
    assert client.delete(f"{base}/{first['parkingId']}").status_code == 204
    again = subscribe(client, base, "thales")
    assert again["parkingId"] != first["parkingId"]


def test_delete_unsubscribes_and_keeps_the_parking(client: TestClient, base: str) -> None:
    parking = subscribe(client, base)
    assert client.delete(f"{base}/{parking['parkingId']}").status_code == 204
    gone = ok(client.get(f"{base}/{parking['parkingId']}"))
    assert gone["isActive"] is False
    assert gone["unsubscribedAt"] is not None
    assert ok(client.get(base)) == []
    assert [p["parkingId"] for p in ok(client.get(base, params={"includeDeleted": "true"}))] == [
        parking["parkingId"]
    ]
    before = len(changes(client, entity="Parking"))
    assert client.delete(f"{base}/{parking['parkingId']}").status_code == 204  # already unsubscribed
    assert len(changes(client, entity="Parking")) == before


def test_filter_by_partner(client: TestClient, base: str) -> None:
    subscribe(client, base, "designa")
    ilogs = subscribe(client, base, "ilogs")
    assert [p["parkingId"] for p in ok(client.get(base, params={"parkingPartner": "ilogs"}))] == [
        ilogs["parkingId"]
    ]
