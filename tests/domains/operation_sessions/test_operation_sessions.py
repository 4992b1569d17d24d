"""Centre operation sessions (catalogue seq 57-60): the server numbers sessions; segments and stores are
added item by item, repeated ids reported as failed."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import add_external_id, changes, create_visitor


def _session(client: TestClient, visitor_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"pcCode": "FR-SC-123", "gameId": "game-1", "gameName": "Wheel of fortune", **overrides}
    response = client.post(f"/visitors/{visitor_id}/center-operation-sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def test_the_server_generates_the_guid(client: TestClient) -> None:
    visitor = create_visitor(client)
    session = _session(client, visitor["visitorId"], isContest=True)
    assert uuid.UUID(session["guid"]).version == 4
    assert session["visitorId"] == visitor["visitorId"]
    assert session["isContest"] is True
    assert session["optin"] is False


def test_a_given_guid_is_kept_and_unique(client: TestClient) -> None:
    visitor = create_visitor(client)
    guid = str(uuid.uuid4())
    assert _session(client, visitor["visitorId"], guid=guid)["guid"] == guid
    clash = client.post(
        f"/visitors/{visitor['visitorId']}/center-operation-sessions",
        json={"pcCode": "FR-SC-123", "gameId": "g", "gameName": "n", "guid": guid},
    )
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["field"] == "guid"


def test_list_filters(client: TestClient) -> None:
    visitor = create_visitor(client)
    url = f"/visitors/{visitor['visitorId']}/center-operation-sessions"
    first = _session(client, visitor["visitorId"], gameId="a", pcCode="FR-SC-1")
    _session(client, visitor["visitorId"], gameId="b", pcCode="FR-SC-2")
    other = create_visitor(client)
    _session(client, other["visitorId"], gameId="a", pcCode="FR-SC-1")

    def guids(**params: Any) -> list[str]:
        response = client.get(url, params=params)
        assert response.status_code == 200, response.text
        return [item["guid"] for item in response.json()["data"]]

    assert len(guids()) == 2
    assert guids(gameId="a") == [first["guid"]]
    assert guids(pcCode="FR-SC-1") == [first["guid"]]
    assert guids(creationDateUntil=first["creationDate"]) == [first["guid"]]
    assert len(guids(creationDateSince=first["creationDate"])) == 2


def test_segments_and_stores_added_item_by_item(client: TestClient) -> None:
    visitor = create_visitor(client)
    session = _session(client, visitor["visitorId"])
    base = f"/visitors/{visitor['visitorId']}/center-operation-sessions/{session['guid']}"
    segments = client.post(
        f"{base}/segments",
        json=[{"id": "543db247", "name": "Moda y accesorios"}, {"id": "543db247", "name": "again"}],
    )
    assert segments.status_code == 200, segments.text
    data = segments.json()["data"]
    assert [(item["id"], item["name"]) for item in data["success"]] == [("543db247", "Moda y accesorios")]
    assert set(data["success"][0]) == {"id", "name", "creationDate", "updateDate"}
    assert data["failed"] == [{"id": "543db247", "name": "again"}]

    # A number is taken as text (the seed's store sample); an id the session has is refused.
    stores = client.post(
        f"{base}/stores", json=[{"id": 69044, "name": "Bershka"}, {"id": "1", "name": "Zara"}]
    )
    assert stores.status_code == 200, stores.text
    assert [item["id"] for item in stores.json()["data"]["success"]] == ["69044", "1"]
    again = client.post(
        f"{base}/stores", json=[{"id": "69044", "name": "Bershka"}, {"id": "2", "name": "Mango"}]
    )
    assert again.json()["data"]["failed"] == [{"id": "69044", "name": "Bershka"}]
    assert [item["id"] for item in again.json()["data"]["success"]] == ["2"]
    logged = [c["entity"] for c in changes(client) if c["entity"].startswith("CenterOperation")]
    assert logged == [
        "CenterOperationSession",
        "CenterOperationSegment",
        "CenterOperationStore",
        "CenterOperationStore",
        "CenterOperationStore",
    ]


def test_unknown_or_foreign_session_is_404(client: TestClient) -> None:
    visitor = create_visitor(client)
    other = create_visitor(client)
    session = _session(client, other["visitorId"])
    item = [{"id": "1", "name": "x"}]
    foreign = client.post(
        f"/visitors/{visitor['visitorId']}/center-operation-sessions/{session['guid']}/stores", json=item
    )
    assert foreign.status_code == 404
    assert foreign.json()["errors"][0]["field"] == "guid"
    empty = client.post(
        f"/visitors/{other['visitorId']}/center-operation-sessions/{session['guid']}/stores", json=[]
    )
    assert empty.status_code == 422


def test_deleting_the_visitor_deletes_sessions_and_their_items(client: TestClient, session: Session) -> None:
    visitor = create_visitor(client)
    played = _session(client, visitor["visitorId"])
    base = f"/visitors/{visitor['visitorId']}/center-operation-sessions/{played['guid']}"
    client.post(f"{base}/segments", json=[{"id": "s", "name": "x"}])
    add_external_id(session, visitor["visitorId"], "analytics", "an-1")
    deleted = client.post("/visitors/batch-delete", json=[{"analyticsId": "an-1"}])
    assert deleted.status_code == 200, deleted.text
    gone = {c["entity"] for c in changes(client) if c["operation"] == "delete"}
    assert {"CenterOperationSession", "CenterOperationSegment", "Visitor"} <= gone
