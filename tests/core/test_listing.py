"""List parameters shared by every collection: limit, offset, sort, fields."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import create_center, create_visitor
from visitorhub.core.listing import DEFAULT_LIMIT, MAX_LIMIT

# Exact lists of centres: no reference centres.
pytestmark = pytest.mark.no_reference_centers


def _codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["pcCode"] for item in response.json()["data"]]


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]  # type: ignore[no-any-return]


@pytest.fixture
def six(client: TestClient) -> list[dict[str, Any]]:
    labels = ["Delta", "alpha", "Charlie", "Bravo", "Echo", "Foxtrot"]
    countries = ["FR", "DE", "FR", "DE", "ES", "FR"]
    return [create_center(client, label=label, country=c) for label, c in zip(labels, countries, strict=True)]


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, 10_000])
def test_limit_out_of_bounds_is_422(client: TestClient, limit: int) -> None:
    for url in ("/centers", "/visitors"):
        error = _error(client.get(url, params={"limit": limit}), 422)
        assert error["field"] == "limit"
        assert error["type"] == "validation_error"


def test_limit_bounds_accepted(client: TestClient) -> None:
    assert client.get("/centers", params={"limit": 1}).status_code == 200
    assert client.get("/centers", params={"limit": MAX_LIMIT}).status_code == 200


def test_default_limit_is_25(client: TestClient) -> None:
    assert DEFAULT_LIMIT == 25
    created = [create_center(client)["pcCode"] for _ in range(DEFAULT_LIMIT + 2)]
    response = client.get("/centers")
    assert _codes(response) == created[:25]
    links = response.json()["metadata"]["_links"]
    assert "next" in links
    assert _codes(client.get(links["next"])) == created[25:]
    assert _codes(client.get("/centers", params={"limit": 100})) == created


def test_offset(client: TestClient, six: list[dict[str, Any]]) -> None:
    codes = [c["pcCode"] for c in six]
    assert _codes(client.get("/centers", params={"offset": 0})) == codes
    assert _codes(client.get("/centers", params={"offset": 2, "limit": 3})) == codes[2:5]
    assert _codes(client.get("/centers", params={"offset": 5})) == codes[5:]
    assert _codes(client.get("/centers", params={"offset": 6})) == []
    assert _codes(client.get("/centers", params={"offset": 1000})) == []
    error = _error(client.get("/centers", params={"offset": -1}), 422)
    assert error["field"] == "offset"


def test_links(client: TestClient, six: list[dict[str, Any]]) -> None:
    middle = client.get("/centers", params={"offset": 2, "limit": 2, "country": "FR"})
    assert middle.status_code == 200
    links = middle.json()["metadata"]["_links"]
    assert _codes(middle) == [six[5]["pcCode"]]
    assert "next" not in links
    assert "country=FR" in links["prev"]
    assert _codes(client.get(links["prev"])) == [six[0]["pcCode"], six[2]["pcCode"]]

    first = client.get("/centers", params={"limit": 3}).json()["metadata"]["_links"]
    assert "prev" not in first
    second = client.get(first["next"])
    assert _codes(second) == [c["pcCode"] for c in six[3:]]
    assert "next" not in second.json()["metadata"]["_links"]


def test_sort_ascending_and_descending(client: TestClient, six: list[dict[str, Any]]) -> None:
    by_code = sorted(c["pcCode"] for c in six)
    assert _codes(client.get("/centers", params={"sort": "pcCode"})) == by_code
    assert _codes(client.get("/centers", params={"sort": "-pcCode"})) == by_code[::-1]
    codes = [c["pcCode"] for c in six]
    assert _codes(client.get("/centers", params={"sort": "creationDate"})) == codes
    assert _codes(client.get("/centers", params={"sort": "-creationDate"})) == codes[::-1]


def test_sort_by_several_fields(client: TestClient, six: list[dict[str, Any]]) -> None:
    rows = client.get("/centers", params={"sort": "country,-creationDate"}).json()["data"]
    assert [r["country"] for r in rows] == ["DE", "DE", "ES", "FR", "FR", "FR"]
    expected = sorted(six, key=lambda c: (c["country"], -six.index(c)))
    assert [r["pcCode"] for r in rows] == [c["pcCode"] for c in expected]

    rows = client.get("/centers", params={"sort": "-country, pcCode"}).json()["data"]
    expected = sorted(six, key=lambda c: c["pcCode"])
    expected = sorted(expected, key=lambda c: c["country"], reverse=True)
    assert [r["pcCode"] for r in rows] == [c["pcCode"] for c in expected]


def test_sort_then_page_is_stable(client: TestClient, six: list[dict[str, Any]]) -> None:
    full = _codes(client.get("/centers", params={"sort": "country"}))
    paged: list[str] = []
    for offset in range(0, 6, 2):
        paged += _codes(client.get("/centers", params={"sort": "country", "offset": offset, "limit": 2}))
    assert paged == full


@pytest.mark.parametrize("sort", ["label,", ",label", "label,,country", " ", "-", "label, ,pcCode"])
def test_empty_sort_name_is_400(client: TestClient, sort: str) -> None:
    error = _error(client.get("/centers", params={"sort": sort}), 400)
    assert error["field"] == "sort"
    assert error["type"] == "invalid_request"


@pytest.mark.parametrize("sort", ["hasWorker", "secret", "--label", "label;drop table center"])
def test_unknown_sort_name_is_400(client: TestClient, sort: str) -> None:
    error = _error(client.get("/centers", params={"sort": sort}), 400)
    assert error["field"] == "sort"
    assert error["code"] == "unknown_field"


def test_fields(client: TestClient, six: list[dict[str, Any]]) -> None:
    rows = client.get("/centers", params={"fields": "pcCode,country"}).json()["data"]
    assert rows == [{"pcCode": c["pcCode"], "country": c["country"]} for c in six]
    rows = client.get("/centers", params={"fields": " label "}).json()["data"]
    assert rows == [{"label": c["label"]} for c in six]


@pytest.mark.parametrize("fields", ["label,", ",label", "label,,country", "", " "])
def test_empty_field_name_is_400(client: TestClient, six: list[dict[str, Any]], fields: str) -> None:
    for url in ("/centers", f"/centers/{six[0]['pcCode']}"):
        error = _error(client.get(url, params={"fields": fields}), 400)
        assert error["field"] == "fields"


def test_unknown_field_name_is_400(client: TestClient, six: list[dict[str, Any]]) -> None:
    for url in ("/centers", f"/centers/{six[0]['pcCode']}"):
        error = _error(client.get(url, params={"fields": "label,pc_code"}), 400)
        assert error["field"] == "fields"
        assert error["code"] == "unknown_field"


def test_empty_list_errors_still_checked(client: TestClient) -> None:
    # No rows at all: a wrong sort or fields is still an error, not an empty page.
    assert client.get("/centers", params={"sort": "nope"}).status_code == 400
    assert client.get("/centers", params={"fields": "nope"}).status_code == 400


def test_nested_list_uses_the_same_rules(client: TestClient) -> None:
    create_center(client, pcCode="FR-SC-123")  # the visitor's acquisition centre
    visitor = create_visitor(client)
    url = f"/visitors/{visitor['visitorId']}/centers"
    assert client.get(url, params={"limit": 0}).status_code == 422
    assert client.get(url, params={"limit": 501}).status_code == 422
    assert client.get(url, params={"sort": "pcCode,"}).status_code == 400
    assert client.get(url, params={"fields": ",pcCode"}).status_code == 400
    assert client.get(url, params={"sort": "-pcCode,creationDate"}).status_code == 200
