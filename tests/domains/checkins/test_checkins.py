"""Checkins (seq 76-81): by visitor, by barcode, and across visitors by centre, service and instant."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.domains.owned import error, ok
from tests.factories import create_visitor


def checkin(
    client: TestClient, visitor: dict[str, Any], pc: str = "FR-SC-1", service: int = 1
) -> dict[str, Any]:
    body = {"pcCode": pc, "serviceId": service, "origin": "partner"}
    return ok(client.post(f"/visitors/{visitor['visitorId']}/checkins", json=body), 201)  # type: ignore[no-any-return]


def test_checkin_by_barcode(client: TestClient) -> None:
    visitor = create_visitor(client)
    body = {"barcode": visitor["barcode"], "pcCode": "FR-SC-1", "serviceId": 4, "origin": "dashboard"}
    created = ok(client.post("/checkins", json=body), 201)
    assert (created["visitorId"], created["serviceId"], created["origin"]) == (
        visitor["visitorId"],
        4,
        "dashboard",
    )
    assert set(created) == {
        "creationDate",
        "updateDate",
        "pcCode",
        "serviceId",
        "origin",
        "checkinId",
        "visitorId",
    }
    url = f"/visitors/{visitor['visitorId']}/checkins/{created['checkinId']}"
    assert ok(client.get(url)) == created
    unknown = error(client.post("/checkins", json={**body, "barcode": "0000000000000"}), 404)
    assert unknown["field"] == "barcode"
    assert error(client.post("/checkins", json={**body, "origin": "kiosk"}), 422)["field"] == "origin"
    assert error(client.post("/checkins", json={**body, "pcCode": "XX-NONE"}), 422)["field"] == "pcCode"


def test_a_visitors_checkins_by_centre(client: TestClient) -> None:
    visitor = create_visitor(client)
    checkin(client, visitor, "FR-SC-1")
    second = checkin(client, visitor, "FR-SC-2")
    listed = ok(client.get(f"/visitors/{visitor['visitorId']}/checkins", params={"pcCode": "FR-SC-2"}))
    assert [c["checkinId"] for c in listed] == [second["checkinId"]]


def test_checkins_across_visitors_by_centre_service_and_instant(client: TestClient) -> None:
    one, other = create_visitor(client), create_visitor(client)
    a = checkin(client, one, "FR-SC-700", 10)
    b = checkin(client, other, "FR-SC-700", 11)
    c = checkin(client, other, "FR-SC-701", 10)

    def ids(**params: Any) -> list[int]:
        return [item["checkinId"] for item in ok(client.get("/checkins", params={"limit": 500, **params}))]

    assert ids(pcCode="FR-SC-700") == [a["checkinId"], b["checkinId"]]
    assert ids(serviceId=10) == [a["checkinId"], c["checkinId"]]
    assert ids(pcCode="FR-SC-700", serviceId=11) == [b["checkinId"]]
    assert ids(pcCode="FR-SC-700", sort="-creationDate") == [b["checkinId"], a["checkinId"]]
    at_b = datetime.fromisoformat(b["creationDate"])
    assert ids(pcCode="FR-SC-700", checkedInSince=at_b.isoformat()) == [b["checkinId"]]
    assert ids(pcCode="FR-SC-700", checkedInUntil=(at_b - timedelta(microseconds=1)).isoformat()) == [
        a["checkinId"]
    ]
    page = client.get("/checkins", params={"serviceId": 10, "limit": 1, "fields": "checkinId"}).json()
    assert page["data"] == [{"checkinId": a["checkinId"]}]
    assert "next" in page["metadata"]["_links"]
    assert error(client.get("/checkins", params={"serviceId": "x"}), 422)["field"] == "serviceId"
