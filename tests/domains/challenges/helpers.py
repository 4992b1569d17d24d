"""Challenge bodies and records for the challenge tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import create_visitor

FR = {"localeCode": "fr-FR", "value": "Défi des 4 Temps"}


def challenge_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pcCode": "FR-SC-123",
        "genericName": "challenge Les 4 Temps",
        "type": "step_counter",
        "startDate": "2020-01-01T00:00:00Z",
        "endDate": "2999-01-01T00:00:00Z",
        "timezone": "Europe/Paris",
        "winnerNumber": 1,
        "rewardExpirationSeconds": 86400,
        "status": "active",
        "displayName": [FR],
        "description": [FR],
        "rewardDetail": [FR],
    }
    body.update(overrides)
    return body


def create_challenge(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/challenges", json=challenge_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def join(client: TestClient, visitor_id: str, challenge_id: int, **overrides: Any) -> dict[str, Any]:
    response = client.post(
        f"/visitors/{visitor_id}/challenges", json={"challengeId": challenge_id, **overrides}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def participant(client: TestClient, challenge_id: int, **visitor: Any) -> dict[str, Any]:
    """A new visitor taking part in the challenge."""
    created = create_visitor(client, **visitor)
    return join(client, created["visitorId"], challenge_id)


def add_points(client: TestClient, participation: dict[str, Any], points: int) -> Any:
    return client.post(
        f"/visitors/{participation['visitorId']}/challenges/{participation['visitorChallengeId']}/points",
        json={"points": points},
    )
