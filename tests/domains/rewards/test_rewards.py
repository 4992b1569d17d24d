"""Rewards (seq 92-95): outsideOptin required on update, isConverted, the period, the pcCode filter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.owned import error, ok
from tests.factories import create_visitor


def reward_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "pcCode": "FR-SC-123",
        "startDate": "2026-01-01T00:00:00Z",
        "balance": 31.4,
        "outsideOptin": True,
        "threshold": 2,
    }
    body.update(overrides)
    return body


@pytest.fixture
def base(client: TestClient) -> str:
    return f"/visitors/{create_visitor(client)['visitorId']}/rewards"


def test_is_converted_follows_upgraded_from(client: TestClient, base: str) -> None:
    plain = ok(client.post(base, json=reward_body()), 201)
    assert plain["isConverted"] is False
    assert plain["upgradedFrom"] is None
    converted = ok(
        client.post(
            base, json=reward_body(upgradedFrom="android", externalId="3200d382-adfe-4314-ab30-798cdd0fcdb5")
        ),
        201,
    )
    assert converted["isConverted"] is True
    updated = ok(
        client.patch(f"{base}/{plain['rewardId']}", json={"outsideOptin": True, "upgradedFrom": "web"})
    )
    assert updated["isConverted"] is True


def test_update_requires_outside_optin_and_keeps_pc_code(client: TestClient, base: str) -> None:
    reward = ok(client.post(base, json=reward_body()), 201)
    url = f"{base}/{reward['rewardId']}"
    assert error(client.patch(url, json={"balance": 5}), 422)["field"] == "outsideOptin"
    assert (
        error(client.patch(url, json={"outsideOptin": True, "pcCode": "FR-SC-2"}), 422)["field"] == "pcCode"
    )
    assert ok(client.patch(url, json={"outsideOptin": False, "balance": 5}))["balance"] == 5


@pytest.mark.parametrize(
    ("field", "value"),
    [("upgradedFrom", "tv"), ("balance", -1), ("threshold", -1), ("externalId", "not-a-uuid")],
)
def test_the_seed_constraints(client: TestClient, base: str, field: str, value: Any) -> None:
    assert error(client.post(base, json=reward_body(**{field: value})), 422)["field"] == field


def test_a_reward_does_not_end_before_it_starts(client: TestClient, base: str) -> None:
    assert (
        error(client.post(base, json=reward_body(endDate="2025-12-31T00:00:00Z")), 422)["field"] == "endDate"
    )
    reward = ok(client.post(base, json=reward_body(endDate=None)), 201)
    url = f"{base}/{reward['rewardId']}"
    response = client.patch(
        url,
        json={"outsideOptin": True, "startDate": "2027-01-01T00:00:00Z", "endDate": "2026-06-01T00:00:00Z"},
    )
    assert error(response, 422)["field"] == "endDate"


def test_filter_by_centre(client: TestClient, base: str) -> None:
    ok(client.post(base, json=reward_body()), 201)
    other = ok(client.post(base, json=reward_body(pcCode="FR-SC-900")), 201)
    assert [r["rewardId"] for r in ok(client.get(base, params={"pcCode": "FR-SC-900"}))] == [
        other["rewardId"]
    ]
