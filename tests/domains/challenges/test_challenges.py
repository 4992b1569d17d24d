"""Challenges (catalogue seq 121-126): translated texts, the status lifecycle, termination and winners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.challenges.helpers import FR, add_points, challenge_body, create_challenge, participant


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]  # type: ignore[no-any-return]


class TestCreate:
    def test_seed_names_and_translations(self, client: TestClient) -> None:
        challenge = create_challenge(client, status="draft")
        assert {"createdAt", "updatedAt", "challengeId"} <= set(challenge)
        assert "creationDate" not in challenge
        item = challenge["displayName"][0]
        assert (item["localeCode"], item["value"], item["type"]) == ("fr-FR", FR["value"], "displayName")
        assert challenge["rewardDetail"][0]["type"] == "rewardDetail"
        assert {"creationDate", "updateDate"} <= set(item)
        assert client.get(f"/challenges/{challenge['challengeId']}").json()["data"] == challenge

    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"displayName": [{"localeCode": "xx-XX", "value": "x"}]}, "displayName[0].localeCode"),
            ({"description": [FR, {"localeCode": "fr_FR", "value": "y"}]}, "description"),
            ({"status": "ended"}, "status"),
            ({"status": "paused"}, "status"),
            ({"type": "quiz"}, "type"),
            ({"endDate": "2019-12-31T00:00:00Z"}, "endDate"),
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"winnerNumber": 0}, "winnerNumber"),
            ({"rewardDetail": None}, "rewardDetail"),
        ],
    )
    def test_refused(self, client: TestClient, override: dict[str, Any], field: str) -> None:
        assert _error(client.post("/challenges", json=challenge_body(**override)), 422)["field"] == field

    def test_list_filters_and_seed_sort_names(self, client: TestClient) -> None:
        first = create_challenge(client, pcCode="FR-SC-777", startDate="2021-01-01T00:00:00Z", status="draft")
        second = create_challenge(client, pcCode="FR-SC-777", endDate="2030-01-01T00:00:00Z")
        create_challenge(client, pcCode="FR-SC-700")

        def ids(**params: Any) -> list[int]:
            response = client.get(
                "/challenges", params={"pcCode": "FR-SC-777", "sort": "-createdAt", **params}
            )
            assert response.status_code == 200, response.text
            return [item["challengeId"] for item in response.json()["data"]]

        assert ids() == [second["challengeId"], first["challengeId"]]
        assert ids(status="draft") == [first["challengeId"]]
        assert ids(type="step_counter", startDate="2020-06-01T00:00:00Z") == [first["challengeId"]]
        assert ids(endDate="2031-01-01T00:00:00Z") == [second["challengeId"]]
        assert client.get("/challenges", params={"sort": "creationDate"}).status_code == 400


class TestUpdate:
    @pytest.mark.parametrize(
        ("start", "path", "allowed"),
        [
            ("draft", ["ready", "active"], True),
            ("draft", ["active"], True),
            ("ready", ["draft"], False),
            ("draft", ["archived"], False),
            ("active", ["ready"], False),
            ("active", ["archived"], False),
        ],
    )
    def test_status_lifecycle(self, client: TestClient, start: str, path: list[str], allowed: bool) -> None:
        challenge = create_challenge(client, status=start)
        url = f"/challenges/{challenge['challengeId']}"
        responses = [client.patch(url, json={"status": status}) for status in path]
        if allowed:
            assert [r.status_code for r in responses] == [200] * len(path)
            assert client.get(url).json()["data"]["status"] == path[-1]
        else:
            error = _error(responses[-1], 409)
            assert (error["field"], error["code"]) == ("status", "illegal_transition")
            assert start in error["message"]

    def test_ended_only_through_terminate_then_archived_and_settled(self, client: TestClient) -> None:
        challenge = create_challenge(client)
        url = f"/challenges/{challenge['challengeId']}"
        assert "terminate" in _error(client.patch(url, json={"status": "ended"}), 409)["message"]
        ended = client.post(f"{url}/terminate", json={"ignoreEndDate": True})
        assert ended.status_code == 200, ended.text
        assert ended.json()["data"]["status"] == "ended"
        assert _error(client.patch(url, json={"winnerNumber": 3}), 409)["field"] == "winnerNumber"
        assert client.patch(url, json={"imageUrl": "https://cdn.example.com/c.png"}).status_code == 200
        assert client.patch(url, json={"status": "archived"}).status_code == 200
        assert _error(client.patch(url, json={"status": "active"}), 409)["field"] == "status"

    def test_translations_are_replaced_keeping_unchanged_locales(self, client: TestClient) -> None:
        challenge = create_challenge(client, displayName=[FR, {"localeCode": "en-GB", "value": "Steps"}])
        before = {item["localeCode"]: item for item in challenge["displayName"]}
        response = client.patch(
            f"/challenges/{challenge['challengeId']}",
            json={"displayName": [FR, {"localeCode": "en-GB", "value": "Step challenge"}]},
        )
        assert response.status_code == 200, response.text
        after = {item["localeCode"]: item for item in response.json()["data"]["displayName"]}
        assert after["fr-FR"] == before["fr-FR"]
        assert after["en-GB"]["creationDate"] == before["en-GB"]["creationDate"]
        assert after["en-GB"]["updateDate"] > before["en-GB"]["updateDate"]
        assert after["en-GB"]["value"] == "Step challenge"
        dropped = client.patch(f"/challenges/{challenge['challengeId']}", json={"displayName": [FR]})
        assert [item["localeCode"] for item in dropped.json()["data"]["displayName"]] == ["fr-FR"]


class TestTerminate:
    def test_not_before_end_date_unless_asked(self, client: TestClient) -> None:
        challenge = create_challenge(client)
        url = f"/challenges/{challenge['challengeId']}/terminate"
        assert _error(client.post(url, json={"ignoreEndDate": False}), 409)["field"] == "ignoreEndDate"
        assert _error(client.post(url, json={}), 422)["field"] == "ignoreEndDate"
        draft = create_challenge(client, status="draft")
        error = _error(
            client.post(f"/challenges/{draft['challengeId']}/terminate", json={"ignoreEndDate": True}), 409
        )
        assert error["code"] == "not_active"

    def test_after_end_date_without_asking(self, client: TestClient) -> None:
        challenge = create_challenge(client, endDate="2021-01-01T00:00:00Z")
        response = client.post(
            f"/challenges/{challenge['challengeId']}/terminate", json={"ignoreEndDate": False}
        )
        assert response.status_code == 200, response.text
        again = client.post(f"/challenges/{challenge['challengeId']}/terminate", json={"ignoreEndDate": True})
        assert _error(again, 409)["code"] == "not_active"

    def test_the_best_participants_with_points_win(self, client: TestClient) -> None:
        challenge = create_challenge(client, winnerNumber=3, rewardExpirationSeconds=3600)
        cid = challenge["challengeId"]
        first, second, third = (participant(client, cid) for _ in range(3))
        idle = participant(client, cid)
        for who, points in ((first, 30), (second, 20), (third, 10)):
            assert add_points(client, who, points).status_code == 200
        terminated_at = datetime.now(UTC)
        assert client.post(f"/challenges/{cid}/terminate", json={"ignoreEndDate": True}).status_code == 200

        url = f"/challenges/{cid}/visitor-challenges"
        winners = client.get(url, params={"rewardUnlocked": "true", "sort": "-points"}).json()["data"]
        assert [w["visitorChallengeId"] for w in winners] == [
            p["visitorChallengeId"] for p in (first, second, third)
        ]
        expires = datetime.fromisoformat(winners[0]["rewardExpirationDate"])
        assert abs(expires - (terminated_at + timedelta(hours=1))) < timedelta(minutes=1)
        losers = client.get(url, params={"rewardUnlocked": "false"}).json()["data"]
        assert [p["visitorChallengeId"] for p in losers] == [idle["visitorChallengeId"]]
        assert losers[0]["rewardExpirationDate"] is None

    def test_winner_number_caps_the_winners_and_ties_go_to_the_first(self, client: TestClient) -> None:
        challenge = create_challenge(client, winnerNumber=1, rewardExpirationSeconds=None)
        cid = challenge["challengeId"]
        early, late = participant(client, cid), participant(client, cid)
        add_points(client, early, 10)
        add_points(client, late, 10)
        client.post(f"/challenges/{cid}/terminate", json={"ignoreEndDate": True})
        winners = client.get(
            f"/challenges/{cid}/visitor-challenges", params={"rewardUnlocked": "true"}
        ).json()
        assert [w["visitorChallengeId"] for w in winners["data"]] == [early["visitorChallengeId"]]
        assert winners["data"][0]["rewardExpirationDate"] is None

    def test_unknown_challenge_is_404(self, client: TestClient) -> None:
        assert client.post("/challenges/999999/terminate", json={"ignoreEndDate": True}).status_code == 404
        assert client.get("/challenges/999999/visitor-challenges").status_code == 404
