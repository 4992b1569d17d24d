"""Legal texts (catalogue seq 107-114): versions numbered per type, the latest released version, texts per
locale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

PAST = "2020-01-01T00:00:00Z"


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


def create_legal_text(client: TestClient, legal_type: str = "terms", **overrides: Any) -> dict[str, Any]:
    body = {"type": legal_type, "releaseDate": PAST, **overrides}
    response = client.post("/legal-texts", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def add_locale(client: TestClient, legal_text_id: int, locale: str, **texts: Any) -> Any:
    body = {"optinDisplayText": "I accept", "optinHeaderText": "Terms", "documentText": "Text", **texts}
    return client.post(f"/legal-texts/{legal_text_id}/locales/{locale}", json=body)


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def test_each_new_text_of_a_type_is_its_next_version(client: TestClient) -> None:
    first = create_legal_text(client, "privacy")
    second = create_legal_text(client, "privacy")
    other = create_legal_text(client, "loyalty")
    assert (first["version"], second["version"], other["version"]) == (1, 2, 1)
    assert first["requireConsent"] is True
    assert first["optinDisplayText"] is None
    assert set(first) == {
        "creationDate",
        "updateDate",
        "type",
        "releaseDate",
        "requireConsent",
        "optinDisplayText",
        "optinHeaderText",
        "documentText",
        "id",
        "version",
        "legalTextId",
    }
    assert client.get(f"/legal-texts/{second['id']}").json()["data"] == second


def test_update_changes_release_date_and_consent_only(client: TestClient) -> None:
    text = create_legal_text(client)
    url = f"/legal-texts/{text['id']}"
    response = client.patch(url, json={"requireConsent": False, "releaseDate": "2021-01-01T00:00:00Z"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["requireConsent"] is False
    assert client.patch(url, json={"version": 7}).status_code == 422
    assert client.patch(url, json={"type": "privacy"}).status_code == 422


def test_list_filters_and_latest_released_version(client: TestClient) -> None:
    v1 = create_legal_text(client, "wifi_terms", releaseDate="2020-01-01T00:00:00Z")
    v2 = create_legal_text(client, "wifi_terms", releaseDate="2021-01-01T00:00:00Z")
    create_legal_text(client, "wifi_terms", releaseDate=iso(timedelta(days=30)))  # v3, not released yet
    # Released later than a version created after it: releaseDate decides, not the version.
    v4 = create_legal_text(client, "wifi_privacy", releaseDate="2022-01-01T00:00:00Z")
    v5 = create_legal_text(client, "wifi_privacy", releaseDate="2021-06-01T00:00:00Z")

    params = {"sort": "version", "limit": 500}
    assert len(_ids(client.get("/legal-texts", params={**params, "legalType": "wifi_terms"}))) == 3
    assert _ids(client.get("/legal-texts", params={**params, "legalType": "wifi_terms", "version": 1})) == [
        v1["id"]
    ]
    latest = _ids(client.get("/legal-texts", params={**params, "latest": "true"}))
    assert v2["id"] in latest
    assert v4["id"] in latest
    assert v1["id"] not in latest
    assert v5["id"] not in latest
    assert (
        len(_ids(client.get("/legal-texts", params={**params, "legalType": "wifi_terms", "latest": "true"})))
        == 1
    )
    assert client.get("/legal-texts", params={"legalType": "nope"}).status_code == 422


def test_list_in_a_locale_fills_the_texts(client: TestClient) -> None:
    text = create_legal_text(client, "sms_us")
    bare = create_legal_text(client, "sms_us")
    assert add_locale(client, text["id"], "fr-FR", documentText="Conditions").status_code == 201
    response = client.get(
        "/legal-texts", params={"legalType": "sms_us", "locale": "fr_fr", "sort": "version"}
    )
    assert response.status_code == 200, response.text
    items = response.json()["data"]
    assert [(i["id"], i["documentText"]) for i in items] == [(text["id"], "Conditions"), (bare["id"], None)]
    assert items[0]["optinHeaderText"] == "Terms"
    unknown = client.get("/legal-texts", params={"locale": "xx-XX"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "locale"


class TestLocales:
    def test_added_once_per_locale_in_its_canonical_spelling(self, client: TestClient) -> None:
        text = create_legal_text(client)
        response = add_locale(client, text["id"], "en_gb")
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert (data["legalTextId"], data["localeCode"]) == (text["id"], "en-GB")
        clash = add_locale(client, text["id"], "en-GB")
        assert clash.status_code == 409
        assert clash.json()["errors"][0]["field"] == "localeCode"
        assert client.get(f"/legal-texts/{text['id']}/locales/en-GB").json()["data"] == data

    @pytest.mark.parametrize("locale", ["xx-XX", "french", "fr-FR-x"])
    def test_unknown_locale_is_refused(self, client: TestClient, locale: str) -> None:
        text = create_legal_text(client)
        response = add_locale(client, text["id"], locale)
        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert error["field"] == "localeCode"
        assert "fr-FR" in error["message"]

    def test_texts_are_required_but_nullable_then_patched(self, client: TestClient) -> None:
        text = create_legal_text(client)
        missing = client.post(f"/legal-texts/{text['id']}/locales/fr-FR", json={"optinDisplayText": "x"})
        assert missing.status_code == 422
        created = add_locale(client, text["id"], "fr-FR", documentText=None)
        assert created.status_code == 201
        assert created.json()["data"]["documentText"] is None
        url = f"/legal-texts/{text['id']}/locales/fr-FR"
        patched = client.patch(url, json={"documentText": "Nouveau", "optinHeaderText": None})
        assert patched.status_code == 200, patched.text
        assert (patched.json()["data"]["documentText"], patched.json()["data"]["optinHeaderText"]) == (
            "Nouveau",
            None,
        )
        add_locale(client, text["id"], "de-DE")
        listed = client.get(f"/legal-texts/{text['id']}/locales", params={"sort": "localeCode"}).json()[
            "data"
        ]
        assert [item["localeCode"] for item in listed] == ["de-DE", "fr-FR"]

    def test_unknown_legal_text_is_404(self, client: TestClient) -> None:
        response = add_locale(client, 999999, "fr-FR")
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "legalTextId"
