"""/integration/channels: the rules of creating, changing and deleting a channel."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.channels.conftest import CONTACTS_TEMPLATE, Hub


def errors(hub: Hub, method: str, url: str, status: int, **kwargs: Any) -> list[dict[str, Any]]:
    response = hub.admin.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    return response.json()["errors"]  # type: ignore[no-any-return]


class TestCreate:
    def test_a_channel_as_the_api_shows_it(self, hub: Hub) -> None:
        template = hub.template(CONTACTS_TEMPLATE)
        channel = hub.channel(
            name="s360-contacts",
            path="/s360/contacts/myvenue",
            idField="contactNumber",
            template=template,
            maxRecords=50,
            auth={"type": "basic", "username": "s360", "password": "pw"},
        )
        assert channel == {
            **channel,
            "name": "s360-contacts",
            "path": "s360/contacts/myvenue",  # a leading slash is dropped
            "inboundPath": "/inbound/s360/contacts/myvenue",
            "auth": {"type": "basic", "username": "s360"},
            "idField": "contactNumber",
            "template": template,
            "maxRecords": 50,
            "enabled": True,
            "payloadsReceived": 0,
            "quarantined": 0,
            "lastReceivedAt": None,
        }
        assert channel["id"] == channel["channelId"]
        assert "secret" not in channel

    @pytest.mark.parametrize("field", ["name", "path"])
    def test_name_and_path_are_unique(self, hub: Hub, field: str) -> None:
        first = hub.channel()
        body = {"name": "another", "path": "another/path", "idField": "id", field: first[field]}
        (error,) = errors(hub, "POST", "/integration/channels", 409, json=body)
        assert (error["field"], error["code"]) == (field, "duplicate")

    @pytest.mark.parametrize(
        ("path", "message"),
        [
            ("s360//contacts", "segments"),
            ("s360/../admin", "segments"),
            ("s360/contacts?x=1", "segments"),
            ("inbound/s360/contacts", "after /inbound/"),
        ],
    )
    def test_a_path_is_url_safe_segments(self, hub: Hub, path: str, message: str) -> None:
        (error,) = errors(
            hub, "POST", "/integration/channels", 422, json={"name": "p", "path": path, "idField": "id"}
        )
        assert error["field"] == "path"
        assert message in error["message"]

    def test_the_id_field_is_a_name_or_a_dotted_path(self, hub: Hub) -> None:
        (error,) = errors(
            hub,
            "POST",
            "/integration/channels",
            422,
            json={"name": "i", "path": "i/d", "idField": "contact..id"},
        )
        assert error["field"] == "idField"

    def test_the_template_must_be_an_existing_in_template(self, hub: Hub) -> None:
        body = {"name": "t", "path": "t/t", "idField": "id"}
        (missing,) = errors(hub, "POST", "/integration/channels", 422, json={**body, "template": "nope"})
        assert (missing["field"], missing["code"]) == ("template", "invalid_template")
        (export,) = errors(
            hub, "POST", "/integration/channels", 422, json={**body, "template": "visitors-export"}
        )
        assert "export (out) template" in export["message"]

    @pytest.mark.parametrize("max_records", [0, 10_001])
    def test_max_records_bounds(self, hub: Hub, max_records: int) -> None:
        body = {"name": "m", "path": "m/m", "idField": "id", "maxRecords": max_records}
        assert errors(hub, "POST", "/integration/channels", 422, json=body)[0]["field"] == "maxRecords"

    def test_an_api_key_header_of_the_transport_is_refused(self, hub: Hub) -> None:
        body = {
            "name": "k",
            "path": "k/k",
            "idField": "id",
            "auth": {"type": "apiKey", "header": "Content-Type", "value": "v"},
        }
        (error,) = errors(hub, "POST", "/integration/channels", 422, json=body)
        assert error["field"] == "auth.apiKey.header"

    def test_a_basic_username_has_no_colon(self, hub: Hub) -> None:
        body = {
            "name": "b",
            "path": "b/b",
            "idField": "id",
            "auth": {"type": "basic", "username": "a:b", "password": "p"},
        }
        (error,) = errors(hub, "POST", "/integration/channels", 422, json=body)
        assert error["field"] == "auth.basic.username"

    def test_only_admins_manage_channels(self, hub: Hub) -> None:
        import httpx

        assert httpx.get(f"{hub.base}/integration/channels").status_code == 401


class TestUpdate:
    def test_a_new_path_moves_the_channel(self, hub: Hub) -> None:
        channel = hub.channel()
        response = hub.admin.patch(
            f"/integration/channels/{channel['channelId']}", json={"path": "moved/here"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["inboundPath"] == "/inbound/moved/here"
        assert hub.send(channel["path"], []).status_code == 404
        assert hub.send("moved/here", []).status_code == 200

    def test_a_generated_hmac_secret_is_shown_once(self, hub: Hub) -> None:
        channel = hub.channel()
        url = f"/integration/channels/{channel['channelId']}"
        patched = hub.admin.patch(url, json={"auth": {"type": "hmac"}}).json()["data"]
        assert patched["secret"].startswith("whsec_")
        assert patched["auth"] == {"type": "hmac"}
        assert "secret" not in hub.admin.get(url).json()["data"]
        assert hub.send(channel["path"], []).status_code == 401  # unsigned requests are refused from now on

    def test_template_null_stores_records_without_applying_them(self, hub: Hub) -> None:
        channel = hub.contacts_channel()
        url = f"/integration/channels/{channel['channelId']}"
        assert hub.admin.patch(url, json={"template": None}).json()["data"]["template"] is None
        response = hub.send(channel["path"], [{"contactNumber": "raw-1", "email": "x"}])
        assert response.json()["data"] == {"accepted": 1, "duplicates": 0, "applied": 0, "quarantined": 0}

    def test_disabling_answers_404_and_enabling_again_receives(self, hub: Hub) -> None:
        channel = hub.channel()
        url = f"/integration/channels/{channel['channelId']}"
        hub.admin.patch(url, json={"enabled": False})
        assert hub.send(channel["path"], []).status_code == 404
        hub.admin.patch(url, json={"enabled": True})
        assert hub.send(channel["path"], []).status_code == 200

    def test_a_name_taken_by_another_channel_is_a_409(self, hub: Hub) -> None:
        first, second = hub.channel(), hub.channel()
        (error,) = errors(
            hub, "PATCH", f"/integration/channels/{second['channelId']}", 409, json={"name": first["name"]}
        )
        assert error["field"] == "name"

    def test_explicit_nulls_are_refused_where_a_value_is_needed(self, hub: Hub) -> None:
        channel = hub.channel()
        (error,) = errors(
            hub, "PATCH", f"/integration/channels/{channel['channelId']}", 422, json={"idField": None}
        )
        assert error["field"] == "idField"


class TestDelete:
    def test_the_channel_and_its_records_go(self, hub: Hub) -> None:
        channel = hub.channel()
        assert hub.send(channel["path"], [{"id": 1}, {"id": 2}]).status_code == 200
        url = f"/integration/channels/{channel['channelId']}"
        assert hub.admin.delete(url).status_code == 204
        assert hub.stored(channel) == 0
        assert hub.admin.get(url).status_code == 404
        assert errors(hub, "DELETE", url, 404)[0]["field"] == "channelId"


def test_list_pages(hub: Hub) -> None:
    for _ in range(3):
        hub.channel()
    first = hub.admin.get("/integration/channels", params={"limit": 2}).json()
    assert len(first["data"]) == 2
    following = hub.admin.get(first["metadata"]["_links"]["next"]).json()
    assert {c["channelId"] for c in following["data"]}.isdisjoint({c["channelId"] for c in first["data"]})
