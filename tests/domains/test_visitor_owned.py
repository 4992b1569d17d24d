"""What a visitor owns, as a whole: the 57 operations of part 2 in the OpenAPI document, deleting a visitor
deletes all of it with change records (soft-deleted records and a device's apps included), and the details
list carries rewards and credit cards."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import openapi_document
from tests.domains.owned import ok
from tests.factories import add_external_id, changes, create_vehicle, create_visitor
from visitorhub.core.catalogue import SEQ_EXTENSION, catalogue
from visitorhub.core.db import Base
from visitorhub.models import (
    App,
    Bookmark,
    Checkin,
    CreditCard,
    Device,
    Interest,
    Optin,
    Parking,
    ParkingHistory,
    Reward,
    SmartParkingVisit,
    VehiclePartner,
    VisitorLocale,
)

PART2 = (
    *range(115, 121),  # optins
    *range(71, 76),  # locales
    *range(31, 35),  # bookmarks
    *range(47, 53),  # devices, apps, event token
    *range(61, 66),  # credit cards
    *range(76, 92),  # checkins, parkings, parking histories
    *range(92, 96),  # rewards
    *range(101, 106),  # interests
    *range(131, 135),  # vehicle partners and their mappings
    142,  # smart-parking entry or exit
    143,  # smart-parking visits of a centre
)
UNTITLED = {134, 142, 143}


def test_part_2_has_57_operations() -> None:
    assert len(set(PART2)) == 57


def _spec() -> dict[str, Any]:
    return openapi_document()


@pytest.mark.parametrize("seq", PART2)
def test_the_operation_is_in_the_openapi_document(seq: int) -> None:
    op = catalogue()[seq]
    operation = _spec()["paths"].get(op.path, {}).get(op.method.lower())
    assert operation is not None, f"{op.method} {op.path} missing from /openapi.json"
    assert operation[SEQ_EXTENSION] == seq
    if seq in UNTITLED:
        assert op.summary is None
        assert operation["summary"]
    else:
        assert operation["summary"] == op.summary


OWNED: tuple[type[Base], ...] = (
    App, Bookmark, Checkin, CreditCard, Device, Interest, Optin, Parking, ParkingHistory, Reward,
    SmartParkingVisit, VehiclePartner, VisitorLocale,
)  # fmt: skip


def own_one_of_everything(client: TestClient, visitor: dict[str, Any]) -> None:
    base = f"/visitors/{visitor['visitorId']}"
    plate = f"CASCADE-{visitor['barcode']}"
    vehicle = create_vehicle(client, visitor["visitorId"], licensePlate=plate)
    posts = {
        "locales": {"localeCode": "fr-FR"},
        "bookmarks": {
            "pcCode": "FR-SC-700",
            "externalId": "1",
            "label": "L",
            "bookmarkType": "deal",
            "source": "lbe",
        },
        "checkins": {"pcCode": "FR-SC-700", "serviceId": 1, "origin": "partner"},
        "rewards": {
            "pcCode": "FR-SC-700",
            "startDate": "2026-01-01T00:00:00Z",
            "balance": 1,
            "outsideOptin": True,
            "threshold": 0,
        },
        "interests": {"externalId": "x", "label": "X"},
        "vehicle-partners": {
            "vehicleId": vehicle["vehicleId"],
            "partnerId": plate,
            "parkingPartner": "designa",
        },
    }
    for path, body in posts.items():
        ok(client.post(f"{base}/{path}", json=body), 201)
    card = {
        "firstName": "A", "lastName": "B", "year": 2030, "month": 1, "fingerprint": "f", "cardType": "visa",
        "firstSixDigits": "411111", "lastFourDigits": "1111", "paymentMethodToken": "t",
    }  # fmt: skip
    deleted_card = ok(client.post(f"{base}/credit-cards", json=card), 201)
    assert client.delete(f"{base}/credit-cards/{deleted_card['cardId']}").status_code == 204
    live_card = ok(client.post(f"{base}/credit-cards", json=card), 201)
    parking = ok(client.post(f"{base}/parkings", json={"parkingPartner": "ilogs"}), 201)
    history = {
        "currency": "EUR", "accessDevice": plate, "parkingId": parking["parkingId"],
        "cardId": live_card["cardId"], "pcCode": "FR-SC-700",
    }  # fmt: skip
    ok(client.post(f"{base}/parking-histories", json=history), 201)
    assert client.delete(f"{base}/parkings/{parking['parkingId']}").status_code == 204  # unsubscribed
    device = {"token": "t", "platform": "ios", "notificationToken": "n", "urwAppId": "koln"}
    ok(client.put(f"{base}/devices", json=device), 201)
    ok(client.put(f"{base}/devices", json={**device, "urwAppId": "riem"}), 200)
    visit = client.post(
        "/smartparking/visits/entry", json={"pcCode": "FR-SC-700", "licensePlate": plate.lower()}
    )
    assert visit.status_code == 201, visit.text


def count(session: Session, model: type[Base], visitor_id: str | None = None) -> int:
    stmt = select(func.count()).select_from(model)
    if visitor_id is not None:
        stmt = stmt.where(model.visitor_id == visitor_id)  # type: ignore[attr-defined]
    return session.scalar(stmt) or 0


def test_deleting_a_visitor_deletes_what_it_owns_with_change_records(
    client: TestClient, session: Session
) -> None:
    visitor, neighbour = create_visitor(client), create_visitor(client)
    own_one_of_everything(client, visitor)
    own_one_of_everything(client, neighbour)
    session.expire_all()
    held = {model: count(session, model) for model in OWNED}
    assert all(held.values()), held
    before = len(changes(client))
    add_external_id(session, visitor["visitorId"], "analytics", "cascade")
    assert ok(client.post("/visitors/batch-delete", json=[{"analyticsId": "cascade"}]))["success"] == [
        "cascade"
    ]
    logged = changes(client)[before:]
    deletes = Counter(c["entity"] for c in logged if c["operation"] == "delete")
    session.expire_all()
    for model in OWNED:
        assert count(session, model) == held[model] // 2, model.__name__  # the neighbour's stay
        assert deletes[model.__name__] == held[model] // 2, model.__name__
    assert count(session, CreditCard) == 2
    assert deletes["CreditCard"] == 2
    assert deletes["Visitor"] == 1


def test_details_carry_rewards_and_credit_cards(client: TestClient) -> None:
    visitor = create_visitor(client)
    base = f"/visitors/{visitor['visitorId']}"
    reward = {
        "pcCode": "FR-SC-700",
        "startDate": "2026-01-01T00:00:00Z",
        "balance": 1,
        "outsideOptin": True,
        "threshold": 0,
    }
    ok(client.post(f"{base}/rewards", json=reward), 201)
    card = {
        "firstName": "A", "lastName": "B", "year": 2030, "month": 1, "fingerprint": "f", "cardType": "visa",
        "firstSixDigits": "411111", "lastFourDigits": "1111", "paymentMethodToken": "t",
    }  # fmt: skip
    deleted = ok(client.post(f"{base}/credit-cards", json=card), 201)
    assert client.delete(f"{base}/credit-cards/{deleted['cardId']}").status_code == 204
    ok(client.post(f"{base}/credit-cards", json=card), 201)
    details = ok(client.get("/visitors/details", params={"visitorId": visitor["visitorId"]}))[0]
    assert [r["pcCode"] for r in details["rewards"]] == ["FR-SC-700"]
    cards = details["creditCards"]
    assert [card["deletionDate"] is not None for card in cards] == [True, False]  # soft-deleted ones too
    assert {card["paymentMethodToken"] for card in cards} == {"t"}
    schema = client.get("/openapi.json").json()["components"]["schemas"]["VisitorDetailsRead"]
    assert schema["properties"]["creditCards"]["items"] == {"$ref": "#/components/schemas/CreditCardRead"}
    assert schema["properties"]["rewards"]["items"] == {"$ref": "#/components/schemas/RewardRead"}
