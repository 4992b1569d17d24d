"""Credit cards (seq 61-65): tokenized cards only, goodThru, soft delete, the token sealed at rest and kept
out of the change log, full card numbers refused wherever they are."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.domains.owned import error, ok
from tests.factories import add_external_id, create_visitor
from visitorhub.config import get_settings
from visitorhub.core.secrets import secret_box
from visitorhub.domains.credit_cards.pan import has_card_number
from visitorhub.models import ChangeLogEntry

TOKEN = "2kk1wXpfeVrzHJI6LfoOomX1yr1"
PAN = "4111 1111 1111 1111"  # a test Visa number: passes the Luhn check


def card_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "firstName": "Mark",
        "lastName": "Smith",
        "postalCode": 75000,
        "serviceTypes": ["parking"],
        "year": 2030,
        "month": 3,
        "fingerprint": "fp-1",
        "cardType": "visa",
        "firstSixDigits": "411111",
        "lastFourDigits": "1111",
        "paymentMethodToken": TOKEN,
    }
    body.update(overrides)
    return body


@pytest.fixture
def base(client: TestClient) -> str:
    return f"/visitors/{create_visitor(client)['visitorId']}/credit-cards"


def logged_data(session: Session, entity_id: int) -> list[dict[str, Any]]:
    session.expire_all()
    stmt = select(ChangeLogEntry).where(
        ChangeLogEntry.entity == "CreditCard", ChangeLogEntry.entity_id == str(entity_id)
    )
    return [entry.data for entry in session.scalars(stmt.order_by(ChangeLogEntry.seq))]


def test_create_derives_good_thru(client: TestClient, base: str) -> None:
    card = ok(client.post(base, json=card_body()), 201)
    assert (card["goodThru"], card["postalCode"], card["paymentMethodToken"]) == ("03/2030", "75000", TOKEN)
    assert card["deletionDate"] is None
    updated = ok(client.patch(f"{base}/{card['cardId']}", json={"month": 11}))
    assert updated["goodThru"] == "11/2030"
    updated = ok(client.patch(f"{base}/{card['cardId']}", json={"year": 2031, "firstName": "Marc"}))
    assert (updated["goodThru"], updated["firstName"]) == ("11/2031", "Marc")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("firstSixDigits", "41111"),
        ("lastFourDigits", "11a1"),
        ("cardType", "diners"),
        ("serviceTypes", ["valet"]),
        ("month", 13),
        ("year", 1999),
        ("paymentMethodToken", None),
    ],
)
def test_the_seed_constraints(client: TestClient, base: str, field: str, value: Any) -> None:
    found = error(client.post(base, json=card_body(**{field: value})), 422)
    assert found["field"] is not None
    assert found["field"].startswith(field)


def test_the_token_and_card_data_cannot_change(client: TestClient, base: str) -> None:
    card = ok(client.post(base, json=card_body()), 201)
    for field in ("paymentMethodToken", "lastFourDigits", "cardType"):
        assert error(client.patch(f"{base}/{card['cardId']}", json={field: "x"}), 422)["field"] == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("firstName", PAN),
        ("lastName", "card 4111-1111-1111-1111 please"),
        ("postalCode", 4111111111111111),
        ("fingerprint", "4111111111111111"),
        ("paymentMethodToken", "tok_5555555555554444"),
        ("firstSixDigits", "4111111111111111"),
    ],
)
def test_a_full_card_number_is_refused_naming_the_field(
    client: TestClient, base: str, field: str, value: Any
) -> None:
    response = client.post(base, json=card_body(**{field: value}))
    found = error(response, 422)
    assert (found["field"], found["code"]) == (field, "card_number")
    assert "1111" not in response.text
    assert "4444" not in response.text


def test_a_full_card_number_is_refused_on_update(client: TestClient, base: str) -> None:
    card = ok(client.post(base, json=card_body()), 201)
    response = client.patch(f"{base}/{card['cardId']}", json={"lastName": "5555 5555 5555 4444"})
    assert (error(response, 422)["field"], error(response, 422)["code"]) == ("lastName", "card_number")


def test_digit_runs_that_are_no_card_number_pass() -> None:
    assert not has_card_number("4111 1111 1111 1112")  # fails the Luhn check
    assert not has_card_number("123456789012")  # 12 digits
    assert not has_card_number("41111111111111111111")  # 20 digits
    assert has_card_number("378282246310005")  # American Express, 15 digits


def test_soft_delete(client: TestClient, base: str) -> None:
    card = ok(client.post(base, json=card_body()), 201)
    assert client.delete(f"{base}/{card['cardId']}").status_code == 204
    assert ok(client.get(base)) == []
    shown = ok(client.get(base, params={"includeDeleted": "true"}))
    assert shown[0]["cardId"] == card["cardId"]
    assert shown[0]["deletionDate"] is not None
    assert ok(client.get(f"{base}/{card['cardId']}"))["deletionDate"] is not None
    assert ok(client.patch(f"{base}/{card['cardId']}", json={"deletionDate": None}))["deletionDate"] is None
    assert [c["cardId"] for c in ok(client.get(base))] == [card["cardId"]]


def test_change_records_never_carry_the_token(client: TestClient, session: Session, base: str) -> None:
    card = ok(client.post(base, json=card_body()), 201)
    ok(client.patch(f"{base}/{card['cardId']}", json={"month": 4}))
    assert client.delete(f"{base}/{card['cardId']}").status_code == 204
    visitor_id = base.split("/")[2]
    analytics = f"a-{card['cardId']}"
    add_external_id(session, visitor_id, "analytics", analytics)
    assert ok(client.post("/visitors/batch-delete", json=[{"analyticsId": analytics}]))["success"] == [
        analytics
    ]
    records = logged_data(session, card["cardId"])
    assert len(records) == 4  # create, update, soft delete, purge with the visitor
    assert all("paymentMethodToken" not in record for record in records)  # null: left out
    assert records[1]["goodThru"] == "04/2030"
    assert all(TOKEN not in str(record) for record in records)


@pytest.fixture
def sealing(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """VISITORHUB_SECRETS_KEY set for this process (the credit-card column reads the process settings)."""
    passphrase = "a passphrase for the card tokens"
    monkeypatch.setenv("VISITORHUB_SECRETS_KEY", passphrase)
    get_settings.cache_clear()
    yield passphrase
    get_settings.cache_clear()


def test_the_token_is_sealed_at_rest(client: TestClient, session: Session, base: str, sealing: str) -> None:
    card = ok(client.post(base, json=card_body()), 201)
    assert card["paymentMethodToken"] == TOKEN
    stored = session.execute(
        text("SELECT payment_method_token FROM credit_card WHERE card_id = :id"), {"id": card["cardId"]}
    ).scalar_one()
    assert stored.startswith("enc:")
    assert TOKEN not in stored
    assert secret_box(sealing).open(stored) == TOKEN
    assert ok(client.get(f"{base}/{card['cardId']}"))["paymentMethodToken"] == TOKEN
    assert ok(client.get(base))[0]["paymentMethodToken"] == TOKEN
