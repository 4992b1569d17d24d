"""Bookmarks (seq 31-34): the seed's enums and a numeric externalId, the bookmarkType filter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.owned import error, ok
from tests.factories import create_visitor


@pytest.fixture
def base(client: TestClient) -> str:
    return f"/visitors/{create_visitor(client)['visitorId']}/bookmarks"


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "pcCode": "FR-SC-123",
        "externalId": "1",
        "label": "adidas",
        "bookmarkType": "store",
        "source": "visitor",
        **overrides,
    }


def test_the_seed_sample_with_a_numeric_external_id(client: TestClient, base: str) -> None:
    created = ok(client.post(base, json=body(externalId=647392)), 201)
    assert created["externalId"] == "647392"
    assert ok(client.get(f"{base}/{created['bookmarkId']}")) == created


@pytest.mark.parametrize(("field", "value"), [("bookmarkType", "shop"), ("source", "app"), ("pcCode", "")])
def test_enums_and_required_values(client: TestClient, base: str, field: str, value: str) -> None:
    assert error(client.post(base, json=body(**{field: value})), 422)["field"] == field


def test_filter_by_bookmark_type(client: TestClient, base: str) -> None:
    ok(client.post(base, json=body(externalId="1")), 201)
    deal = ok(client.post(base, json=body(externalId="2", bookmarkType="deal")), 201)
    assert [b["bookmarkId"] for b in ok(client.get(base, params={"bookmarkType": "deal"}))] == [
        deal["bookmarkId"]
    ]
    assert error(client.get(base, params={"bookmarkType": "shop"}), 422)["field"] == "bookmarkType"


def test_the_same_item_once_per_type_and_centre(client: TestClient, base: str) -> None:
    ok(client.post(base, json=body()), 201)
    ok(client.post(base, json=body(bookmarkType="deal")), 201)
    ok(client.post(base, json=body(pcCode="FR-SC-124")), 201)
    assert error(client.post(base, json=body(label="other label")), 409)["field"] == "externalId"
