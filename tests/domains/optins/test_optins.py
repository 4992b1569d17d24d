"""Opt-ins (seq 115-120): their dates, the list's filters (latest among them), the update's two fields,
delete by type and channel, disable."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.owned import error, ok
from tests.factories import changes, create_visitor


@pytest.fixture
def visitor(client: TestClient) -> dict[str, Any]:
    # Registration gives one opt-in: sms / commercial, active.
    return create_visitor(client)


def url(visitor: dict[str, Any], *rest: Any) -> str:
    return "/".join([f"/visitors/{visitor['visitorId']}/optins", *map(str, rest)])


def add(client: TestClient, visitor: dict[str, Any], **body: Any) -> dict[str, Any]:
    values = {"optinChannel": "email", "optinType": "loyalty", "isActive": True, **body}
    return ok(client.post(url(visitor), json=values), 201)  # type: ignore[no-any-return]


def test_registration_optins_are_listed(client: TestClient, visitor: dict[str, Any]) -> None:
    listed = ok(client.get(url(visitor)))
    assert [(o["optinType"], o["optinChannel"], o["isActive"]) for o in listed] == [
        ("commercial", "sms", True)
    ]


def test_create_sets_optin_or_optout_date(client: TestClient, visitor: dict[str, Any]) -> None:
    given = add(client, visitor, isActive=True, contextId=7, legalTextId=None)
    assert given["optinDate"] is not None
    assert given["optoutDate"] is None
    refused = add(client, visitor, optinType="privacy", isActive=False)
    assert refused["optinDate"] is None
    assert refused["optoutDate"] is not None


def test_create_enforces_the_enums(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.post(
        url(visitor), json={"optinChannel": "fax", "optinType": "loyalty", "isActive": True}
    )
    assert error(response, 422)["field"] == "optinChannel"


def test_list_filters(client: TestClient, visitor: dict[str, Any]) -> None:
    add(client, visitor, optinType="loyalty", optinChannel="email", contextId=3)
    add(client, visitor, optinType="loyalty", optinChannel="push", isActive=False)

    def kinds(**params: Any) -> list[tuple[str, str]]:
        return [(o["optinType"], o["optinChannel"]) for o in ok(client.get(url(visitor), params=params))]

    assert kinds(isActive="false") == [("loyalty", "push")]
    assert kinds(optinType="loyalty", optinChannel="email") == [("loyalty", "email")]
    assert kinds(contextId=3) == [("loyalty", "email")]
    assert error(client.get(url(visitor), params={"optinType": "nope"}), 422)["field"] == "optinType"


def test_latest_keeps_the_newest_of_each_type_and_channel(
    client: TestClient, visitor: dict[str, Any]
) -> None:
    add(client, visitor, optinType="commercial", optinChannel="sms", isActive=False)  # withdraws the first
    newest = add(client, visitor, optinType="commercial", optinChannel="sms", isActive=True, clientId="third")
    email = add(client, visitor, optinType="commercial", optinChannel="email")
    latest = ok(client.get(url(visitor), params={"latest": "true"}))
    assert sorted(o["optinId"] for o in latest) == sorted([newest["optinId"], email["optinId"]])
    assert len(ok(client.get(url(visitor), params={"latest": "false"}))) == 4
    active_latest = ok(client.get(url(visitor), params={"latest": "true", "optinChannel": "sms"}))
    assert [o["clientId"] for o in active_latest] == ["third"]


def test_update_changes_client_and_send_ids_only(client: TestClient, visitor: dict[str, Any]) -> None:
    optin = add(client, visitor)
    updated = ok(client.patch(url(visitor, optin["optinId"]), json={"clientId": "c1", "sendId": "s1"}))
    assert (updated["clientId"], updated["sendId"], updated["isActive"]) == ("c1", "s1", True)
    assert (
        error(client.patch(url(visitor, optin["optinId"]), json={"isActive": False}), 422)["field"]
        == "isActive"
    )


def test_delete_by_type_and_channel_deletes_its_whole_history(
    client: TestClient, visitor: dict[str, Any]
) -> None:
    add(client, visitor, optinType="wallet", optinChannel="push", isActive=True)
    add(client, visitor, optinType="wallet", optinChannel="push", isActive=False)
    kept = add(client, visitor, optinType="wallet", optinChannel="email")
    before = len(changes(client, entity="Optin"))
    assert client.delete(url(visitor, "wallet", "push")).status_code == 204
    logged = changes(client, entity="Optin")[before:]
    assert [c["operation"] for c in logged] == ["delete", "delete"]
    remaining = {o["optinId"] for o in ok(client.get(url(visitor), params={"optinType": "wallet"}))}
    assert remaining == {kept["optinId"]}
    assert error(client.delete(url(visitor, "wallet", "push")), 404)["field"] == "optinType"
    assert error(client.delete(url(visitor, "wallet", "fax")), 422)["field"] == "optinChannel"


def test_disable_withdraws_consent_once(client: TestClient, visitor: dict[str, Any]) -> None:
    optin = add(client, visitor)
    disabled = ok(client.post(url(visitor, optin["optinId"], "disable")))
    assert disabled["isActive"] is False
    assert disabled["optoutDate"] is not None
    assert disabled["optinDate"] == optin["optinDate"]
    before = len(changes(client, entity="Optin"))
    again = ok(client.post(url(visitor, optin["optinId"], "disable")))
    assert again == disabled
    assert len(changes(client, entity="Optin")) == before  # nothing changed, nothing logged
    assert error(client.post(url(visitor, 987654, "disable")), 404)["field"] == "optinId"
