"""Visitors' challenges (catalogue seq 135-139, 141): joining, points with their history, updates."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.domains.challenges.helpers import add_points, create_challenge, join, participant
from tests.factories import add_external_id, changes, create_visitor


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]  # type: ignore[no-any-return]


def _history(client: TestClient, visitor_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(
        f"/visitors/{visitor_id}/challenge-histories", params={"sort": "creationDate", **params}
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


class TestJoin:
    def test_registered_date_defaults_to_now_or_takes_registered_at(self, client: TestClient) -> None:
        challenge = create_challenge(client, status="ready")
        visitor = create_visitor(client)
        joined = join(
            client, visitor["visitorId"], challenge["challengeId"], registeredAt="2024-05-01T10:00:00Z"
        )
        assert joined["registeredDate"] == "2024-05-01T10:00:00Z"
        assert (joined["points"], joined["rewardUnlocked"], joined["rewardReceived"]) == (0, False, False)
        assert joined["visitorId"] == visitor["visitorId"]

    @pytest.mark.parametrize("status", ["draft"])
    def test_only_a_ready_or_active_challenge_once(self, client: TestClient, status: str) -> None:
        visitor = create_visitor(client)
        url = f"/visitors/{visitor['visitorId']}/challenges"
        draft = create_challenge(client, status=status)
        assert (
            _error(client.post(url, json={"challengeId": draft["challengeId"]}), 409)["code"]
            == "not_joinable"
        )
        assert _error(client.post(url, json={"challengeId": 999999}), 422)["field"] == "challengeId"
        active = create_challenge(client)
        join(client, visitor["visitorId"], active["challengeId"])
        assert (
            _error(client.post(url, json={"challengeId": active["challengeId"]}), 409)["field"]
            == "challengeId"
        )

    def test_list_filters_by_the_challenge_and_registration(self, client: TestClient) -> None:
        visitor = create_visitor(client)
        here = create_challenge(client, pcCode="FR-SC-555")
        there = create_challenge(client, pcCode="FR-SC-556")
        a = join(client, visitor["visitorId"], here["challengeId"], registeredAt="2024-01-01T00:00:00Z")
        b = join(client, visitor["visitorId"], there["challengeId"], registeredAt="2024-06-01T00:00:00Z")
        url = f"/visitors/{visitor['visitorId']}/challenges"

        def ids(**params: Any) -> list[int]:
            response = client.get(url, params={"sort": "registeredDate", **params})
            assert response.status_code == 200, response.text
            return [item["visitorChallengeId"] for item in response.json()["data"]]

        assert ids() == [a["visitorChallengeId"], b["visitorChallengeId"]]
        assert ids(pcCode="FR-SC-556") == [b["visitorChallengeId"]]
        assert ids(type="step_counter", registerDateUntil="2024-03-01T00:00:00Z") == [a["visitorChallengeId"]]
        assert ids(registerDateSince="2024-03-01T00:00:00Z") == [b["visitorChallengeId"]]


class TestPoints:
    def test_added_points_count_an_entry_and_a_history_line(self, client: TestClient) -> None:
        challenge = create_challenge(client)
        joined = participant(client, challenge["challengeId"])
        assert add_points(client, joined, 120).status_code == 200
        response = add_points(client, joined, 30)
        data = response.json()["data"]
        assert (data["points"], data["totalEntryCount"]) == (150, 2)
        assert data["lastEntryDate"] is not None
        history = _history(client, joined["visitorId"], challengeId=challenge["challengeId"])
        assert [(h["action"], h["points"], h["totalPoints"]) for h in history] == [
            ("increment", 120, 120),
            ("increment", 30, 150),
        ]
        assert history[0]["visitorChallengeId"] == joined["visitorChallengeId"]
        assert history[0]["origin"] == "test-admin"
        assert _history(client, joined["visitorId"], challengeId=999999) == []
        logged = [c["operation"] for c in changes(client, entity="VisitorChallenge")]
        assert logged == ["create", "update", "update"]

    @pytest.mark.parametrize(
        "overrides",
        [
            {"status": "ready"},
            {"endDate": "2021-01-01T00:00:00Z"},
            {"startDate": "2998-01-01T00:00:00Z"},
        ],
    )
    def test_refused_outside_an_active_running_challenge(
        self, client: TestClient, overrides: dict[str, Any]
    ) -> None:
        challenge = create_challenge(client, **overrides)
        joined = participant(client, challenge["challengeId"])
        error = _error(add_points(client, joined, 5), 409)
        assert (error["field"], error["code"]) == ("points", "not_active")
        assert _history(client, joined["visitorId"]) == []

    def test_points_must_be_positive(self, client: TestClient) -> None:
        challenge = create_challenge(client)
        joined = participant(client, challenge["challengeId"])
        assert _error(add_points(client, joined, 0), 422)["field"] == "points"
        assert _error(add_points(client, joined, -3), 422)["field"] == "points"

    def test_another_visitors_participation_is_404(self, client: TestClient) -> None:
        challenge = create_challenge(client)
        joined = participant(client, challenge["challengeId"])
        stranger = create_visitor(client)
        response = add_points(client, {**joined, "visitorId": stranger["visitorId"]}, 5)
        assert _error(response, 404)["field"] == "visitorChallengeId"


class TestUpdate:
    def test_set_points_and_bonus_are_recorded(self, client: TestClient) -> None:
        challenge = create_challenge(client)
        joined = participant(client, challenge["challengeId"])
        url = f"/visitors/{joined['visitorId']}/challenges/{joined['visitorChallengeId']}"
        add_points(client, joined, 50)
        response = client.patch(url, json={"points": 40, "bonusEntryCount": 1})
        assert response.status_code == 200, response.text
        history = _history(client, joined["visitorId"])
        assert [(h["action"], h["points"], h["totalPoints"], h["bonusActivated"]) for h in history] == [
            ("increment", 50, 50, False),
            ("set", -10, 40, False),
            ("bonus", 0, 40, True),
        ]
        # Nothing changes: no history line.
        client.patch(url, json={"points": 40, "bonusEntryCount": 1})
        assert len(_history(client, joined["visitorId"])) == 3

    def test_reward_received_needs_an_unlocked_reward(self, client: TestClient) -> None:
        challenge = create_challenge(client)
        joined = participant(client, challenge["challengeId"])
        url = f"/visitors/{joined['visitorId']}/challenges/{joined['visitorChallengeId']}"
        assert _error(client.patch(url, json={"rewardReceived": True}), 422)["field"] == "rewardReceived"
        both = client.patch(url, json={"rewardUnlocked": True, "rewardReceived": True})
        assert both.status_code == 200, both.text
        assert _error(client.patch(url, json={"totalEntryCount": -1}), 422)["field"] == "totalEntryCount"
        assert _error(client.patch(url, json={"challengeId": 3}), 422)["field"] == "challengeId"

    def test_points_of_an_ended_challenge_are_final(self, client: TestClient) -> None:
        challenge = create_challenge(client)
        joined = participant(client, challenge["challengeId"])
        client.post(f"/challenges/{challenge['challengeId']}/terminate", json={"ignoreEndDate": True})
        url = f"/visitors/{joined['visitorId']}/challenges/{joined['visitorChallengeId']}"
        assert _error(client.patch(url, json={"points": 10}), 409)["field"] == "points"
        assert client.patch(url, json={"rewardUnlocked": True}).status_code == 200


class TestDelete:
    def test_deleted_with_its_history(self, client: TestClient) -> None:
        challenge = create_challenge(client)
        joined = participant(client, challenge["challengeId"])
        add_points(client, joined, 5)
        url = f"/visitors/{joined['visitorId']}/challenges/{joined['visitorChallengeId']}"
        assert client.delete(url).status_code == 204
        assert _history(client, joined["visitorId"]) == []
        deleted = [c["entity"] for c in changes(client) if c["operation"] == "delete"]
        assert deleted == ["VisitorChallengeHistory", "VisitorChallenge"]
        assert client.delete(url).status_code == 404

    def test_deleting_the_visitor_deletes_participations_and_history(
        self, client: TestClient, session: Session
    ) -> None:
        challenge = create_challenge(client)
        joined = participant(client, challenge["challengeId"])
        add_points(client, joined, 5)
        add_external_id(session, joined["visitorId"], "analytics", "an-challenge")
        assert (
            client.post("/visitors/batch-delete", json=[{"analyticsId": "an-challenge"}]).status_code == 200
        )
        deleted = {c["entity"] for c in changes(client) if c["operation"] == "delete"}
        assert {"VisitorChallengeHistory", "VisitorChallenge", "Visitor"} <= deleted
