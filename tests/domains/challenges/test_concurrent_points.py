"""Concurrent POST .../points on one participation (real commits, several threads): no addition is lost,
and each history line holds the total its own addition produced."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from tests.conftest import committed_client
from tests.domains.challenges.helpers import add_points, create_challenge, participant
from visitorhub.core import changelog
from visitorhub.core.db import make_engine

THREADS = 4
PER_THREAD = 8


def test_concurrent_additions_all_count(fresh_database_url: str) -> None:
    with committed_client(fresh_database_url) as client:
        challenge = create_challenge(client)
        joined = participant(client, challenge["challengeId"])
        amounts = [[thread * 100 + i + 1 for i in range(PER_THREAD)] for thread in range(THREADS)]

        def work(mine: list[int]) -> list[int]:
            return [add_points(client, joined, amount).status_code for amount in mine]

        with ThreadPoolExecutor(THREADS) as pool:
            statuses = [code for codes in pool.map(work, amounts) for code in codes]
        assert statuses == [200] * THREADS * PER_THREAD

        expected = sum(sum(mine) for mine in amounts)
        url = f"/visitors/{joined['visitorId']}/challenges"
        final = client.get(url).json()["data"][0]
        assert (final["points"], final["totalEntryCount"]) == (expected, THREADS * PER_THREAD)

        history = client.get(
            f"/visitors/{joined['visitorId']}/challenge-histories", params={"limit": 500}
        ).json()
        lines = sorted(history["data"], key=lambda line: line["totalPoints"])
        running = 0
        for line in lines:  # in total order, each line's total is the previous one plus its own points
            running += line["points"]
            assert line["totalPoints"] == running
        assert running == expected
        # One change record per addition, each holding the total that addition produced.
        engine = make_engine(fresh_database_url)
        try:
            with Session(engine) as session:
                logged = changelog.read_after(session, 0, 1000, "VisitorChallenge")
        finally:
            engine.dispose()
        totals = sorted(row.data["points"] for row in logged if row.operation == "update")
        assert totals == [line["totalPoints"] for line in lines]
