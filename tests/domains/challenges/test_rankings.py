"""A visitor's rankings (catalogue seq 140): best points first, ties to whoever reached the score first."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.domains.challenges.helpers import add_points, create_challenge, join, participant
from tests.factories import create_partial_visitor, create_visitor


def rankings(client: TestClient, visitor_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/visitors/{visitor_id}/rankings", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def board(items: list[dict[str, Any]]) -> list[tuple[int, str, str, bool]]:
    return [(r["position"], r["name"], r["points"], r["isVisitorRank"]) for r in items]


def test_ties_go_to_whoever_reached_the_score_first(client: TestClient) -> None:
    challenge = create_challenge(client, winnerNumber=3)
    cid = challenge["challengeId"]
    ann = participant(client, cid, firstName="Ann", lastName="Lee")
    bob = participant(client, cid, firstName="Bob", lastName="Ray")
    cat = join(client, create_partial_visitor(client, firstName="Cat")["visitorId"], cid)  # no last name
    add_points(client, bob, 10)
    add_points(client, ann, 10)  # same score as Bob, reached later
    add_points(client, cat, 25)

    item = rankings(client, ann["visitorId"])[0]
    assert item["visitorRankingPosition"] == 3
    assert board(item["topRanking"]) == [
        (1, "Cat", "25", False),
        (2, "Bob R.", "10", False),
        (3, "Ann L.", "10", True),
    ]
    assert item["otherRanking"] == []
    assert item["challenge"]["challengeId"] == cid
    assert item["visitorChallenge"]["visitorChallengeId"] == ann["visitorChallengeId"]
    assert item["canLogPoints"] is True
    assert item["bonusActivatedToday"] is False

    add_points(client, ann, 5)  # 15: ahead of Bob now
    add_points(client, bob, 5)  # 15 too, but later
    assert rankings(client, bob["visitorId"])[0]["visitorRankingPosition"] == 3
    assert rankings(client, ann["visitorId"])[0]["visitorRankingPosition"] == 2


def test_other_ranking_shows_the_neighbours_outside_the_top(client: TestClient) -> None:
    challenge = create_challenge(client, winnerNumber=1)
    cid = challenge["challengeId"]
    people = [participant(client, cid, firstName=f"P{i}", lastName="X") for i in range(9)]
    for index, who in enumerate(people):
        add_points(client, who, 100 - index * 10)  # P0 100, P1 90, ... P8 20
    me = people[6]  # position 7
    item = rankings(client, me["visitorId"])[0]
    assert item["visitorRankingPosition"] == 7
    assert [r["position"] for r in item["topRanking"]] == [1, 2, 3]  # max(winnerNumber, 3)
    assert board(item["otherRanking"]) == [
        (5, "P4 X.", "60", False),
        (6, "P5 X.", "50", False),
        (7, "P6 X.", "40", True),
        (8, "P7 X.", "30", False),
        (9, "P8 X.", "20", False),
    ]
    # Near the top: the neighbours already in the top are not repeated.
    near = rankings(client, people[3]["visitorId"])[0]
    assert [r["position"] for r in near["otherRanking"]] == [4, 5, 6]
    # Ties among the neighbours: ordered by who reached the score first.
    late = participant(client, cid, firstName="Zed", lastName="Y")
    add_points(client, late, 40)  # ties P6 but later: just behind it
    item = rankings(client, me["visitorId"])[0]
    assert [(r["position"], r["name"]) for r in item["otherRanking"]][2:4] == [(7, "P6 X."), (8, "Zed Y.")]


def test_one_item_per_challenge_with_the_visitor_filters(client: TestClient) -> None:
    visitor = create_visitor(client)
    here = create_challenge(client, pcCode="FR-SC-501")
    there = create_challenge(client, pcCode="FR-SC-502", status="ready")
    join(client, visitor["visitorId"], here["challengeId"], registeredAt="2024-01-01T00:00:00Z")
    join(client, visitor["visitorId"], there["challengeId"], registeredAt="2024-06-01T00:00:00Z")
    items = rankings(client, visitor["visitorId"], sort="registeredDate")
    assert [i["challenge"]["challengeId"] for i in items] == [here["challengeId"], there["challengeId"]]
    assert [i["canLogPoints"] for i in items] == [True, False]
    assert [i["visitorRankingPosition"] for i in items] == [1, 1]
    only = rankings(client, visitor["visitorId"], pcCode="FR-SC-502")
    assert [i["challenge"]["challengeId"] for i in only] == [there["challengeId"]]
    since = rankings(client, visitor["visitorId"], registerDateSince="2024-03-01T00:00:00Z")
    assert len(since) == 1
    narrowed = rankings(client, visitor["visitorId"], fields="visitorRankingPosition,canLogPoints")
    assert narrowed[0] == {"visitorRankingPosition": 1, "canLogPoints": True}
    bad = client.get(f"/visitors/{visitor['visitorId']}/rankings", params={"fields": "points"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "fields"


def test_bonus_activated_today(client: TestClient) -> None:
    challenge = create_challenge(client, timezone="Pacific/Kiritimati")
    joined = participant(client, challenge["challengeId"])
    url = f"/visitors/{joined['visitorId']}/challenges/{joined['visitorChallengeId']}"
    assert client.patch(url, json={"bonusEntryCount": 1}).status_code == 200
    assert rankings(client, joined["visitorId"])[0]["bonusActivatedToday"] is True
