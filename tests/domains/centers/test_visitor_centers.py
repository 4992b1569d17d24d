"""A visitor's centres (catalogue seq 42-46): POST, PUT upsert, list, GET and PATCH by pcCode."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import changes, create_visitor

VC_FIELDS = {
    "visitorCenterId",
    "visitorId",
    "pcCode",
    "favoriteDate",
    "isTlp",
    "isFavorite",
    "isSmartparker",
    "centerCompanyId",
    "creationDate",
    "updateDate",
}


def _url(visitor_id: str, pc_code: str | None = None) -> str:
    base = f"/visitors/{visitor_id}/centers"
    return base if pc_code is None else f"{base}/{pc_code}"


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"errors"}, body
    assert body["errors"], body
    return body["errors"][0]  # type: ignore[no-any-return]


def _post(client: TestClient, visitor_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(_url(visitor_id), json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _vc_changes(client: TestClient) -> list[str]:
    return [c["operation"] for c in changes(client, entity="VisitorCenter")]


@pytest.fixture
def visitor(client: TestClient) -> dict[str, Any]:
    # Registration does not create visitor-centres for a full visitor; the tests below rely on it.
    created = create_visitor(client)
    assert client.get(_url(created["visitorId"])).json()["data"] == []
    return created


# POST ---------------------------------------------------------------------------------------------


def test_post_favorite_sets_favorite_date(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.post(
        _url(visitor["visitorId"]),
        json={
            "pcCode": "FR-SC-123",
            "isFavorite": True,
            "isTlp": True,
            "isSmartparker": False,
            "centerCompanyId": 9,
        },
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == VC_FIELDS
    assert isinstance(data["visitorCenterId"], int)
    assert data["visitorId"] == visitor["visitorId"]
    assert data["pcCode"] == "FR-SC-123"
    assert data["isFavorite"] is True
    assert data["isTlp"] is True
    assert data["isSmartparker"] is False
    assert data["centerCompanyId"] == 9
    assert data["favoriteDate"] is not None
    favorite_date = datetime.fromisoformat(data["favoriteDate"])
    assert abs(favorite_date - datetime.fromisoformat(data["creationDate"])) < timedelta(seconds=5)
    assert _vc_changes(client) == ["create"]


def test_post_not_favorite_has_no_favorite_date(client: TestClient, visitor: dict[str, Any]) -> None:
    data = _post(client, visitor["visitorId"], pcCode="FR-SC-124", isFavorite=False)
    assert data["isFavorite"] is False
    assert data["favoriteDate"] is None
    assert data["isTlp"] is None
    assert data["isSmartparker"] is None
    assert data["centerCompanyId"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pcCode": "FR-SC-1"}, "isFavorite"),
        ({"pcCode": "FR-SC-1", "isFavorite": None}, "isFavorite"),
        ({"isFavorite": True}, "pcCode"),
        ({"pcCode": "", "isFavorite": True}, "pcCode"),
        ({"pcCode": "FR-SC-1", "isFavorite": True, "favoriteDate": "2020-01-01T00:00:00Z"}, "favoriteDate"),
        ({"pcCode": "FR-SC-1", "isFavorite": True, "centerCompanyId": "x"}, "centerCompanyId"),
    ],
)
def test_post_validation(
    client: TestClient, visitor: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    response = client.post(_url(visitor["visitorId"]), json=body)
    assert response.status_code == 422, response.text
    assert _error(response)["field"] == field
    assert client.get(_url(visitor["visitorId"])).json()["data"] == []


def test_same_pc_code_for_two_visitors(client: TestClient, visitor: dict[str, Any]) -> None:
    other = create_visitor(client)
    a = _post(client, visitor["visitorId"], pcCode="FR-SC-300", isFavorite=True)
    b = _post(client, other["visitorId"], pcCode="FR-SC-300", isFavorite=False)
    assert a["visitorCenterId"] != b["visitorCenterId"]
    assert client.get(_url(visitor["visitorId"], "FR-SC-300")).json()["data"]["isFavorite"] is True
    assert client.get(_url(other["visitorId"], "FR-SC-300")).json()["data"]["isFavorite"] is False


# PUT (upsert) -------------------------------------------------------------------------------------


def test_put_creates_then_updates(client: TestClient, visitor: dict[str, Any]) -> None:
    url = _url(visitor["visitorId"])
    created = client.put(url, json={"pcCode": "FR-SC-400", "isTlp": True})
    assert created.status_code == 201, created.text
    first = created.json()["data"]
    assert set(first) == VC_FIELDS
    assert first["isFavorite"] is False  # optional on PUT; a new link is not a favourite
    assert first["favoriteDate"] is None
    assert first["isTlp"] is True

    updated = client.put(url, json={"pcCode": "FR-SC-400", "isFavorite": True})
    assert updated.status_code == 200, updated.text
    second = updated.json()["data"]
    assert second["visitorCenterId"] == first["visitorCenterId"]
    assert second["isFavorite"] is True
    assert second["favoriteDate"] is not None
    assert second["isTlp"] is True  # fields not sent are kept
    assert second["creationDate"] == first["creationDate"]

    assert len(client.get(url).json()["data"]) == 1
    assert _vc_changes(client) == ["create", "update"]


def test_put_create_as_favorite(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.put(_url(visitor["visitorId"]), json={"pcCode": "FR-SC-401", "isFavorite": True})
    assert response.status_code == 201
    assert response.json()["data"]["favoriteDate"] is not None


def test_put_unchanged_is_200_and_writes_nothing(client: TestClient, visitor: dict[str, Any]) -> None:
    url = _url(visitor["visitorId"])
    first = client.put(url, json={"pcCode": "FR-SC-402", "isFavorite": True}).json()["data"]
    again = client.put(url, json={"pcCode": "FR-SC-402", "isFavorite": True})
    assert again.status_code == 200
    assert again.json()["data"] == first  # favoriteDate is when it became a favourite: not moved
    assert _vc_changes(client) == ["create"]


def test_put_requires_pc_code(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.put(_url(visitor["visitorId"]), json={"isFavorite": True})
    assert response.status_code == 422
    assert _error(response)["field"] == "pcCode"


def test_put_is_favorite_null_is_rejected(client: TestClient, visitor: dict[str, Any]) -> None:
    url = _url(visitor["visitorId"])
    assert client.put(url, json={"pcCode": "FR-SC-403", "isFavorite": True}).status_code == 201
    response = client.put(url, json={"pcCode": "FR-SC-403", "isFavorite": None})
    assert response.status_code == 422
    assert _error(response)["field"] == "isFavorite"


# GET / list ---------------------------------------------------------------------------------------


def test_list_and_get(client: TestClient, visitor: dict[str, Any]) -> None:
    other = create_visitor(client)
    a = _post(client, visitor["visitorId"], pcCode="FR-SC-501", isFavorite=True)
    b = _post(client, visitor["visitorId"], pcCode="FR-SC-502", isFavorite=False)
    _post(client, other["visitorId"], pcCode="FR-SC-503", isFavorite=False)

    response = client.get(_url(visitor["visitorId"]))
    assert response.status_code == 200
    assert response.json()["data"] == [a, b]
    assert response.json()["metadata"]["version"] == 1

    by_code = client.get(_url(visitor["visitorId"]), params={"sort": "-pcCode", "fields": "pcCode"})
    assert by_code.json()["data"] == [{"pcCode": "FR-SC-502"}, {"pcCode": "FR-SC-501"}]

    got = client.get(_url(visitor["visitorId"], "FR-SC-502"))
    assert got.status_code == 200
    assert got.json()["data"] == b
    got = client.get(_url(visitor["visitorId"], "FR-SC-501"), params={"fields": "isFavorite,favoriteDate"})
    assert got.json()["data"] == {"isFavorite": True, "favoriteDate": a["favoriteDate"]}


# PATCH --------------------------------------------------------------------------------------------


def test_patch_favorite_date_follows_is_favorite(client: TestClient, visitor: dict[str, Any]) -> None:
    _post(client, visitor["visitorId"], pcCode="FR-SC-700", isFavorite=False)
    url = _url(visitor["visitorId"], "FR-SC-700")

    on = client.patch(url, json={"isFavorite": True})
    assert on.status_code == 200, on.text
    became = on.json()["data"]
    assert became["isFavorite"] is True
    assert became["favoriteDate"] is not None

    # Changing something else keeps favoriteDate.
    tlp = client.patch(url, json={"isTlp": True, "isFavorite": True})
    assert tlp.status_code == 200
    assert tlp.json()["data"]["favoriteDate"] == became["favoriteDate"]
    assert tlp.json()["data"]["isTlp"] is True

    off = client.patch(url, json={"isFavorite": False})
    assert off.status_code == 200
    assert off.json()["data"]["isFavorite"] is False
    assert off.json()["data"]["favoriteDate"] is None

    again = client.patch(url, json={"isFavorite": True})
    assert datetime.fromisoformat(again.json()["data"]["favoriteDate"]) >= datetime.fromisoformat(
        became["favoriteDate"]
    )
    assert client.get(url).json()["data"] == again.json()["data"]
    assert _vc_changes(client) == ["create", "update", "update", "update", "update"]


def test_patch_fields(client: TestClient, visitor: dict[str, Any]) -> None:
    _post(client, visitor["visitorId"], pcCode="FR-SC-701", isFavorite=True, centerCompanyId=3)
    url = _url(visitor["visitorId"], "FR-SC-701")
    response = client.patch(url, json={"isSmartparker": True, "centerCompanyId": None})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["isSmartparker"] is True
    assert data["centerCompanyId"] is None
    assert data["isFavorite"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [({"isFavorite": None}, "isFavorite"), ({"pcCode": "FR-SC-999"}, "pcCode"), ({"isTlp": "x"}, "isTlp")],
)
def test_patch_validation(
    client: TestClient, visitor: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    created = _post(client, visitor["visitorId"], pcCode="FR-SC-702", isFavorite=True)
    response = client.patch(_url(visitor["visitorId"], "FR-SC-702"), json=body)
    assert response.status_code == 422
    assert _error(response)["field"] == field
    assert client.get(_url(visitor["visitorId"], "FR-SC-702")).json()["data"] == created


# Auth ---------------------------------------------------------------------------------------------
