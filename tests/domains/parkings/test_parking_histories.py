"""Parking histories (seq 86-91): references to the visitor's own parking and card, the session's dates,
the accessDevice filter, and the monthly summary in a time zone."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.owned import UNKNOWN_VISITOR, error, ok
from tests.factories import create_visitor

CARD = {
    "firstName": "Mark",
    "lastName": "Smith",
    "year": 2030,
    "month": 1,
    "fingerprint": "fp",
    "cardType": "visa",
    "firstSixDigits": "411111",
    "lastFourDigits": "1111",
    "paymentMethodToken": "tok",
}


class Owner:
    """A visitor with a parking and a card, and a helper to add parking histories."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.visitor = create_visitor(client)
        self.base = f"/visitors/{self.visitor['visitorId']}"
        self.parking = ok(client.post(f"{self.base}/parkings", json={"parkingPartner": "designa"}), 201)
        self.card = ok(client.post(f"{self.base}/credit-cards", json=CARD), 201)

    def body(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "currency": "EUR",
            "accessDevice": "AB-123-CD",
            "parkingId": self.parking["parkingId"],
            "cardId": self.card["cardId"],
            "pcCode": "FR-SC-1",
        }
        body.update(overrides)
        return body

    def add(self, **overrides: Any) -> dict[str, Any]:
        response = self.client.post(f"{self.base}/parking-histories", json=self.body(**overrides))
        return ok(response, 201)  # type: ignore[no-any-return]

    def summary(self, status: int = 200, **params: Any) -> Any:
        response = self.client.get(f"{self.base}/parking-histories/summary", params=params)
        return ok(response, status) if status == 200 else response


@pytest.fixture
def owner(client: TestClient) -> Owner:
    return Owner(client)


def test_create_answers_the_seed_fields(owner: Owner) -> None:
    history = owner.add(amount=12, paymentStatus="succeeded", parkingSessionId=42, refundedAmount=1.5)
    assert history["visitorId"] == owner.visitor["visitorId"]
    assert (history["amount"], history["currency"], history["refundedAmount"]) == (12, "EUR", 1.5)
    assert "accessDeviceNormalized" not in history


@pytest.mark.parametrize(
    ("field", "value"), [("parkingId", 987654), ("cardId", 987654), ("pcCode", "XX-NONE")]
)
def test_the_parking_card_and_centre_must_exist(
    client: TestClient, owner: Owner, field: str, value: Any
) -> None:
    response = client.post(f"{owner.base}/parking-histories", json=owner.body(**{field: value}))
    found = error(response, 422)
    assert (found["field"], found["code"]) == (field, "unknown_reference")


def test_a_deleted_card_and_an_unsubscribed_parking_still_count(client: TestClient, owner: Owner) -> None:
    assert client.delete(f"{owner.base}/credit-cards/{owner.card['cardId']}").status_code == 204
    assert client.delete(f"{owner.base}/parkings/{owner.parking['parkingId']}").status_code == 204
    owner.add()


def test_a_session_cannot_end_before_it_starts(client: TestClient, owner: Owner) -> None:
    body = owner.body(parkingSessionStart="2026-03-01T10:00:00Z", parkingSessionEnd="2026-03-01T09:00:00Z")
    assert (
        error(client.post(f"{owner.base}/parking-histories", json=body), 422)["field"] == "parkingSessionEnd"
    )
    history = owner.add(parkingSessionStart="2026-03-01T10:00:00Z")
    url = f"{owner.base}/parking-histories/{history['parkingHistoryId']}"
    assert (
        error(client.patch(url, json={"parkingSessionEnd": "2026-03-01T08:00:00Z"}), 422)["field"]
        == "parkingSessionEnd"
    )
    assert ok(client.patch(url, json={"parkingSessionEnd": "2026-03-01T12:00:00Z"}))["parkingSessionEnd"]


def test_update_cannot_move_a_history(client: TestClient, owner: Owner) -> None:
    history = owner.add()
    url = f"{owner.base}/parking-histories/{history['parkingHistoryId']}"
    for field in ("parkingId", "cardId", "pcCode"):
        assert error(client.patch(url, json={field: 1}), 422)["field"] == field
    assert error(client.patch(url, json={"currency": "CHF"}), 422)["field"] == "currency"


def test_filters(client: TestClient, owner: Owner) -> None:
    first = owner.add(
        accessDevice="ab-123 cd", parkingSessionStart="2026-01-10T08:00:00Z", parkingSessionId=1
    )
    second = owner.add(
        accessDevice="0000000000123", exitAccessDevice="AB123CD", parkingSessionStart="2026-02-10T08:00:00Z"
    )
    third = owner.add(accessDevice="ZZ-999-ZZ", parkingSessionStart="2026-03-10T08:00:00Z")

    def ids(**params: Any) -> list[int]:
        return [
            h["parkingHistoryId"] for h in ok(client.get(f"{owner.base}/parking-histories", params=params))
        ]

    assert ids(accessDevice="AB-123-CD") == [first["parkingHistoryId"], second["parkingHistoryId"]]
    assert ids(accessDevice="0000000000123") == [second["parkingHistoryId"]]
    assert ids(startDate="2026-02-01T00:00:00Z") == [second["parkingHistoryId"], third["parkingHistoryId"]]
    assert ids(endDate="2026-02-28T00:00:00Z") == [first["parkingHistoryId"], second["parkingHistoryId"]]
    assert ids(parkingSessionId=1) == [first["parkingHistoryId"]]
    assert (
        ids(parkingId=owner.parking["parkingId"], sort="-parkingSessionStart")[0] == third["parkingHistoryId"]
    )
    url = f"{owner.base}/parking-histories/{second['parkingHistoryId']}"
    ok(client.patch(url, json={"exitAccessDevice": None}))
    assert ids(accessDevice="AB-123-CD") == [first["parkingHistoryId"]]


def test_summary_per_month_in_the_time_zone_and_per_currency(owner: Owner) -> None:
    # 23:30 UTC on 31 January is 00:30 on 1 February in Paris.
    owner.add(parkingSessionStart="2026-01-31T23:30:00Z", amount=300)
    owner.add(parkingSessionStart="2026-02-10T10:00:00Z", amount=200)
    owner.add(parkingSessionStart="2026-02-11T10:00:00Z", amount=50, currency="GBP")
    owner.add(parkingSessionStart="2026-01-05T10:00:00Z", amount=100)
    owner.add(parkingSessionStart="2026-01-06T10:00:00Z")  # no amount: counted, adds 0
    paris = owner.summary(timezone="Europe/Paris")
    assert paris == [
        {"year": 2026, "month": 2, "totalAmount": 500, "currency": "EUR", "totalHistories": 2},
        {"year": 2026, "month": 2, "totalAmount": 50, "currency": "GBP", "totalHistories": 1},
        {"year": 2026, "month": 1, "totalAmount": 100, "currency": "EUR", "totalHistories": 2},
    ]
    utc = owner.summary(timezone="UTC", sort="year,month,currency")
    assert [(r["month"], r["currency"], r["totalAmount"]) for r in utc] == [
        (1, "EUR", 400),
        (2, "EUR", 200),
        (2, "GBP", 50),
    ]


def test_summary_filters_and_paging(client: TestClient, owner: Owner) -> None:
    owner.add(parkingSessionStart="2026-01-05T10:00:00Z", amount=1, accessDevice="AA-1", pcCode="FR-SC-1")
    owner.add(parkingSessionStart="2026-02-05T10:00:00Z", amount=2, accessDevice="BB-2", pcCode="FR-SC-2")
    assert [r["totalAmount"] for r in owner.summary(timezone="UTC", pcCode="FR-SC-2")] == [2]
    assert [r["totalAmount"] for r in owner.summary(timezone="UTC", accessDevice="aa1")] == [1]
    assert owner.summary(timezone="UTC", parkingId=987654) == []
    first = client.get(
        f"{owner.base}/parking-histories/summary", params={"timezone": "UTC", "limit": 1}
    ).json()
    assert [r["month"] for r in first["data"]] == [2]
    assert "next" in first["metadata"]["_links"]


def test_summary_needs_a_known_time_zone(client: TestClient, owner: Owner) -> None:
    assert error(owner.summary(422, timezone="Mars/Olympus"), 422)["field"] == "timezone"
    assert error(owner.summary(422, timezone="../etc/passwd"), 422)["field"] == "timezone"
    assert error(owner.summary(422), 422)["field"] == "timezone"
    assert error(owner.summary(400, timezone="UTC", sort="amount"), 400)["field"] == "sort"
    response = client.get(
        f"/visitors/{UNKNOWN_VISITOR}/parking-histories/summary", params={"timezone": "UTC"}
    )
    assert error(response, 404)["field"] == "visitorId"
