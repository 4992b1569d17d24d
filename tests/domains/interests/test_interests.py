"""Interests (seq 101-105): the batch replaces the set by externalId, in one transaction."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.domains.owned import UNKNOWN_VISITOR, error, ok
from tests.factories import changes, create_visitor


@pytest.fixture
def base(client: TestClient) -> str:
    return f"/visitors/{create_visitor(client)['visitorId']}/interests"


def test_batch_replaces_the_set_by_external_id(client: TestClient, base: str) -> None:
    kept = ok(client.post(base, json={"externalId": "fashion", "label": "Fashion"}), 201)
    renamed = ok(client.post(base, json={"externalId": "food", "label": "Food"}), 201)
    dropped = ok(client.post(base, json={"externalId": "sport", "label": "Sport"}), 201)
    before = len(changes(client, entity="Interest"))
    items = [
        {"externalId": "food", "label": "Food & drinks"},
        {"externalId": "fashion", "label": "Fashion"},
        {"externalId": "kids", "label": "Kids"},
    ]
    result = ok(client.put(f"{base}/batch", json=items))
    assert [(i["externalId"], i["label"]) for i in result] == [(i["externalId"], i["label"]) for i in items]
    assert result[0]["interestId"] == renamed["interestId"]
    assert result[1]["interestId"] == kept["interestId"]
    assert result[1] == kept  # unchanged, same record
    logged = [c["operation"] for c in changes(client, entity="Interest")[before:]]
    assert sorted(logged) == ["create", "delete", "update"]
    listed = {i["externalId"] for i in ok(client.get(base, params={"limit": 500}))}
    assert listed == {"food", "fashion", "kids"}
    assert dropped["externalId"] not in listed


def test_an_empty_batch_removes_every_interest(client: TestClient, base: str) -> None:
    ok(client.post(base, json={"externalId": "a", "label": "A"}), 201)
    assert ok(client.put(f"{base}/batch", json=[])) == []
    assert ok(client.get(base)) == []


def test_a_repeated_external_id_changes_nothing(client: TestClient, base: str) -> None:
    ok(client.post(base, json={"externalId": "a", "label": "A"}), 201)
    items = [
        {"externalId": "b", "label": "B"},
        {"externalId": "c", "label": "C"},
        {"externalId": "b", "label": "B2"},
    ]
    assert error(client.put(f"{base}/batch", json=items), 422)["field"] == "[2].externalId"
    assert [i["externalId"] for i in ok(client.get(base))] == ["a"]


def test_an_invalid_item_changes_nothing(client: TestClient, base: str) -> None:
    ok(client.post(base, json={"externalId": "a", "label": "A"}), 201)
    items = [{"externalId": "b", "label": "B"}, {"externalId": "c"}]
    assert error(client.put(f"{base}/batch", json=items), 422)["field"] == "[1].label"
    assert [i["externalId"] for i in ok(client.get(base))] == ["a"]


def test_batch_of_an_unknown_visitor_is_404(client: TestClient) -> None:
    response = client.put(f"/visitors/{UNKNOWN_VISITOR}/interests/batch", json=[])
    assert error(response, 404)["field"] == "visitorId"
