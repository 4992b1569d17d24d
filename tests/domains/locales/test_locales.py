"""Locales (seq 71-75): the reference list, and a visitor's locales validated against it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.owned import error, ok
from tests.factories import create_visitor
from visitorhub.domains.locales.catalog import LOCALES


@pytest.fixture
def visitor(client: TestClient) -> dict[str, Any]:
    return create_visitor(client)


def test_reference_list_pages_sorts_and_selects(client: TestClient) -> None:
    everything = ok(client.get("/locales", params={"limit": 500}))
    assert [item["localeCode"] for item in everything] == sorted(LOCALES)
    assert {"localeCode": "fr-FR", "localeLabel": "Français"} in everything
    first = client.get(
        "/locales", params={"limit": 2, "sort": "-localeLabel", "fields": "localeLabel"}
    ).json()
    labels = sorted(LOCALES.values(), reverse=True)
    assert first["data"] == [{"localeLabel": labels[0]}, {"localeLabel": labels[1]}]
    assert "next" in first["metadata"]["_links"]
    assert error(client.get("/locales", params={"sort": "name"}), 400)["field"] == "sort"
    assert error(client.get("/locales", params={"fields": "code"}), 400)["field"] == "fields"


def test_add_a_locale_in_any_spelling(client: TestClient, visitor: dict[str, Any]) -> None:
    base = f"/visitors/{visitor['visitorId']}/locales"
    added = ok(client.post(base, json={"localeCode": "en_us"}), 201)
    assert added == {
        "localeCode": "en-US",
        "localeLabel": "English (United States)",
        "visitorId": visitor["visitorId"],
        "creationDate": added["creationDate"],
    }
    assert ok(client.get(f"{base}/EN_US")) == added
    assert error(client.post(base, json={"localeCode": "EN-us"}), 409)["field"] == "localeCode"
    assert client.delete(f"{base}/en_us").status_code == 204
    assert ok(client.get(base)) == []


def test_an_unlisted_locale_is_refused(client: TestClient, visitor: dict[str, Any]) -> None:
    base = f"/visitors/{visitor['visitorId']}/locales"
    found = error(client.post(base, json={"localeCode": "xx-XX"}), 422)
    assert found["field"] == "localeCode"
    assert "GET /locales" in found["message"]
    assert error(client.get(f"{base}/xx-XX"), 404)["field"] == "localeCode"


def test_the_openapi_schema_lists_the_codes(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["VisitorLocaleCreate"]["properties"]["localeCode"]["enum"] == list(LOCALES)
