"""Challenge operations that are not plain CRUD: terminate, a challenge's participants, adding points,
and a visitor's rankings."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from visitorhub.core.catalogue import documented
from visitorhub.core.db import utcnow
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.listing import ListQuery, apply_sort, list_query_model, parse_fields, select_fields
from visitorhub.core.responses import one, page
from visitorhub.core.router import (
    ERROR_RESPONSES,
    READ,
    WRITE,
    Router,
    check_parent,
    filtered,
    load_item,
    scoped,
)
from visitorhub.core.schemas import DataEnvelope, ListEnvelope
from visitorhub.domains.challenges import ranking
from visitorhub.domains.challenges.resources import (
    challenge_service,
    challenges,
    visitor_challenge_service,
    visitor_challenges,
)
from visitorhub.domains.challenges.schemas import (
    ChallengeRead,
    PointsBody,
    RankingRead,
    TerminateBody,
    VisitorChallengeRead,
)
from visitorhub.domains.challenges.service import can_log_points
from visitorhub.errors import BadRequest
from visitorhub.models import Challenge, VisitorChallenge, VisitorChallengeHistory

router = Router(tags=[challenges.tag_name], responses=ERROR_RESPONSES)
participation_router = Router(tags=[visitor_challenges.tag_name], responses=ERROR_RESPONSES)

TOP_MIN, TOP_MAX = 3, 100  # topRanking: max(winnerNumber, TOP_MIN) positions, at most TOP_MAX
AROUND = 2  # otherRanking: this many ahead of and behind the visitor


@router.post(
    "/challenges/{challengeId}/terminate",
    response_model=DataEnvelope[ChallengeRead],
    dependencies=WRITE,
    description="Ends an active challenge (409 otherwise; before its endDate only with ignoreEndDate) and "
    "makes its winnerNumber best participants with points winners: rewardUnlocked, with a "
    "rewardExpirationDate rewardExpirationSeconds from now.",
    **documented(126),
)
def terminate_challenge(
    session: DbSession,
    ctx: WriteCtx,
    challenge_id: Annotated[int, Path(alias="challengeId")],
    body: Annotated[TerminateBody, Body()],
) -> JSONResponse:
    challenge = load_item(session, challenges, {"challengeId": challenge_id})
    challenge_service.terminate(session, challenge, body.ignore_end_date, ctx)
    return one(challenge_service.represent(challenge))


class ParticipantsQuery(ListQuery):
    rewardUnlocked: bool | None = Field(None, description="Challenge reward unlocked")


@router.get(
    "/challenges/{challengeId}/visitor-challenges",
    response_model=ListEnvelope[VisitorChallengeRead],
    dependencies=READ,
    **documented(125),
)
def list_challenge_participants(
    request: Request,
    session: DbSession,
    challenge_id: Annotated[int, Path(alias="challengeId")],
    query: Annotated[ParticipantsQuery, Query()],
) -> JSONResponse:
    load_item(session, challenges, {"challengeId": challenge_id})
    fields = parse_fields(visitor_challenges, query.fields)
    stmt = select(VisitorChallenge).where(VisitorChallenge.challenge_id == challenge_id)
    if query.rewardUnlocked is not None:
        stmt = stmt.where(VisitorChallenge.reward_unlocked.is_(query.rewardUnlocked))
    stmt = apply_sort(visitor_challenges, stmt, query.sort)
    rows = list(session.scalars(stmt.offset(query.offset).limit(query.limit + 1)))
    represent = visitor_challenge_service.represent
    return page(request.url, rows, query, lambda row: select_fields(represent(row), fields))


@participation_router.post(
    "/visitors/{visitorId}/challenges/{visitorChallengeId}/points",
    response_model=DataEnvelope[VisitorChallengeRead],
    dependencies=WRITE,
    description="Adds to points (atomically: concurrent additions all count), counts an entry "
    "(totalEntryCount, lastEntryDate) and records an 'increment' history entry. 409 unless the challenge "
    "is active and between its startDate and endDate.",
    **documented(138),
)
def add_points(
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    visitor_challenge_id: Annotated[int, Path(alias="visitorChallengeId")],
    body: Annotated[PointsBody, Body()],
) -> JSONResponse:
    participation = load_item(
        session, visitor_challenges, {"visitorId": visitor_id, "visitorChallengeId": visitor_challenge_id}
    )
    visitor_challenge_service.add_points(session, participation, body.points, ctx)
    return one(visitor_challenge_service.represent(participation))


RankingsQuery = list_query_model(visitor_challenges, base=ListQuery)
RANKING_FIELDS = tuple(info.alias or name for name, info in RankingRead.model_fields.items())


def _fields(raw: str | None) -> list[str] | None:
    # CORE-CANDIDATE: parse_fields for a response schema that is not a resource's read schema.
    if raw is None:
        return None
    names = [part.strip() for part in raw.split(",")]
    for name in names:
        if name not in RANKING_FIELDS:
            raise BadRequest(
                f"Unknown field '{name}' in fields; known fields: {', '.join(sorted(RANKING_FIELDS))}.",
                field="fields",
                code="unknown_field",
            )
    return names


def _bonus_today(
    session: Session, participation: VisitorChallenge, challenge: Challenge, now: datetime
) -> bool:
    zone = ZoneInfo(challenge.timezone)
    midnight = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
    return bool(
        session.scalar(
            select(
                exists().where(
                    VisitorChallengeHistory.visitor_challenge_id == participation.visitor_challenge_id,
                    VisitorChallengeHistory.bonus_activated.is_(True),
                    VisitorChallengeHistory.participation_date >= midnight,
                )
            )
        )
    )


def _ranking(
    session: Session, participation: VisitorChallenge, challenge: Challenge, now: datetime
) -> dict[str, Any]:
    position = ranking.position(session, participation)
    top = ranking.top(session, challenge.challenge_id, min(max(challenge.winner_number, TOP_MIN), TOP_MAX))
    shown = {rank.visitor_challenge_id for rank in top}
    around = [
        rank
        for rank in ranking.neighbours(session, participation, position, AROUND)
        if rank.visitor_challenge_id not in shown
    ]

    def rank_item(rank: ranking.Rank) -> dict[str, Any]:
        return {
            "position": rank.position,
            "name": rank.name,
            "points": str(rank.points),
            "isVisitorRank": rank.visitor_challenge_id == participation.visitor_challenge_id,
        }

    return {
        "challenge": challenge_service.represent(challenge),
        "visitorChallenge": visitor_challenge_service.represent(participation),
        "topRanking": [rank_item(rank) for rank in top],
        "otherRanking": [rank_item(rank) for rank in around],
        "bonusActivatedToday": _bonus_today(session, participation, challenge, now),
        "visitorRankingPosition": position,
        "canLogPoints": can_log_points(challenge, now),
    }


@participation_router.get(
    "/visitors/{visitorId}/rankings",
    response_model=ListEnvelope[RankingRead],
    dependencies=READ,
    description=f"One item per challenge the visitor takes part in: its position (best points first, ties to "
    f"whoever reached the score first), the top max(winnerNumber, {TOP_MIN}) positions (at most {TOP_MAX}) "
    f"and the {AROUND} participants ahead of and behind the visitor not already in the top. Sorted and "
    "filtered as the visitor's challenges.",
    **documented(140),
)
def list_visitor_rankings(
    request: Request,
    session: DbSession,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    query: Annotated[RankingsQuery, Query()],  # type: ignore[valid-type]
) -> JSONResponse:
    q: Any = query
    path = {"visitorId": visitor_id}
    check_parent(session, visitor_challenges, path)
    fields = _fields(q.fields)
    stmt = filtered(visitor_challenges, scoped(visitor_challenges, select(VisitorChallenge), path), q)
    stmt = apply_sort(visitor_challenges, stmt, q.sort)
    rows = list(session.scalars(stmt.offset(q.offset).limit(q.limit + 1)))
    ids = {row.challenge_id for row in rows}
    found = {
        c.challenge_id: c for c in session.scalars(select(Challenge).where(Challenge.challenge_id.in_(ids)))
    }
    now = utcnow()
    return page(
        request.url,
        rows,
        q,
        lambda row: select_fields(_ranking(session, row, found[row.challenge_id], now), fields),
    )


routers = [router, participation_router]
