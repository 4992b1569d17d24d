"""Devices and apps (seq 47-51): register-or-update by the device's token, its apps, deletion with them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.domains.owned import UNKNOWN_VISITOR, error, ok
from tests.factories import changes, create_visitor
from visitorhub.models import App


@pytest.fixture
def visitor(client: TestClient) -> dict[str, Any]:
    return create_visitor(client)


def device_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "maker": "apple",
        "model": "iPhone 13",
        "osVersion": 16,
        "token": "device-token-1",
        "platform": "ios",
        "notificationToken": "push-1",
        "urwAppId": "aeroville",
    }
    body.update(overrides)
    return body


def register(client: TestClient, visitor: dict[str, Any], status: int, **overrides: Any) -> dict[str, Any]:
    return ok(client.put(f"/visitors/{visitor['visitorId']}/devices", json=device_body(**overrides)), status)  # type: ignore[no-any-return]


def test_register_then_update_by_token(client: TestClient, visitor: dict[str, Any]) -> None:
    created = register(client, visitor, 201)
    assert created["osVersion"] == "16"
    assert created["visitorId"] == visitor["visitorId"]
    assert "urwAppId" not in created
    updated = register(client, visitor, 200, osVersion="17.1", notificationToken="push-2")
    assert updated["deviceId"] == created["deviceId"]
    assert (updated["osVersion"], updated["notificationToken"], updated["model"]) == (
        "17.1",
        "push-2",
        "iPhone 13",
    )
    other = register(client, visitor, 201, token="device-token-2", platform="android")
    assert other["deviceId"] != created["deviceId"]
    listed = ok(client.get(f"/visitors/{visitor['visitorId']}/devices"))
    assert [d["deviceId"] for d in listed] == [created["deviceId"], other["deviceId"]]
    assert [c["operation"] for c in changes(client, entity="Device")] == ["create", "update", "create"]


def test_a_register_that_changes_nothing_writes_nothing(client: TestClient, visitor: dict[str, Any]) -> None:
    register(client, visitor, 201)
    before = len(changes(client))
    register(client, visitor, 200)
    assert len(changes(client)) == before


def test_each_app_of_a_device_is_recorded_with_its_push_token(
    client: TestClient, visitor: dict[str, Any]
) -> None:
    device = register(client, visitor, 201)
    register(client, visitor, 200, urwAppId="parquesur", notificationToken="push-pq")
    register(client, visitor, 200, urwAppId="aeroville", notificationToken="push-av2")
    apps = ok(client.get(f"/visitors/{visitor['visitorId']}/devices/{device['deviceId']}/apps"))
    assert [(a["urwAppId"], a["notificationToken"]) for a in apps] == [
        ("aeroville", "push-av2"),
        ("parquesur", "push-pq"),
    ]
    assert {a["deviceId"] for a in apps} == {device["deviceId"]}
    assert [c["operation"] for c in changes(client, entity="App")] == ["create", "create", "update"]


def test_apps_of_an_unknown_or_foreign_device_are_404(client: TestClient, visitor: dict[str, Any]) -> None:
    device = register(client, visitor, 201)
    other = create_visitor(client)
    assert (
        error(client.get(f"/visitors/{other['visitorId']}/devices/{device['deviceId']}/apps"), 404)["field"]
        == "deviceId"
    )
    assert error(client.get(f"/visitors/{UNKNOWN_VISITOR}/devices/1/apps"), 404)["field"] == "visitorId"


def test_delete_removes_the_device_and_its_apps(
    client: TestClient, session: Session, visitor: dict[str, Any]
) -> None:
    device = register(client, visitor, 201)
    register(client, visitor, 200, urwAppId="koln")
    assert client.delete(f"/visitors/{visitor['visitorId']}/devices/{device['deviceId']}").status_code == 204
    assert [c["operation"] for c in changes(client, entity="App")][-2:] == ["delete", "delete"]
    assert changes(client, entity="Device")[-1]["operation"] == "delete"
    assert (
        session.scalar(select(func.count()).select_from(App).where(App.device_id == device["deviceId"])) == 0
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("platform", "windows"), ("urwAppId", "nowhere"), ("token", None), ("notificationToken", "")],
)
def test_register_enforces_the_seed(
    client: TestClient, visitor: dict[str, Any], field: str, value: Any
) -> None:
    response = client.put(f"/visitors/{visitor['visitorId']}/devices", json=device_body(**{field: value}))
    assert error(response, 422)["field"] == field


def test_register_for_an_unknown_visitor_is_404(client: TestClient) -> None:
    response = client.put(f"/visitors/{UNKNOWN_VISITOR}/devices", json=device_body())
    assert error(response, 404)["field"] == "visitorId"
