"""Declarations of challenges, visitors' participations (visitor-challenges) and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists

from visitorhub.core.resource import Filter, Resource, Unique, at_least, at_most, equals
from visitorhub.domains.challenges.schemas import (
    ChallengeCreate,
    ChallengeRead,
    VisitorChallengeCreate,
    VisitorChallengeHistoryRead,
    VisitorChallengeRead,
    VisitorChallengeUpdate,
)
from visitorhub.domains.challenges.service import ChallengeService, VisitorChallengeService
from visitorhub.domains.enums import ChallengeStatus, ChallengeType
from visitorhub.models import Challenge, VisitorChallenge, VisitorChallengeHistory

TRANSLATION = {"localeCode": "fr-FR", "value": "La Bonne Excuse"}


def challenge_is(condition: Any) -> Any:
    """A filter on the participation's challenge."""

    def apply(stmt: Select[Any], value: Any) -> Select[Any]:
        return stmt.where(
            exists().where(Challenge.challenge_id == VisitorChallenge.challenge_id, condition(value))
        )

    return apply


challenges = Resource(
    name="challenges",
    entity="Challenge",
    model=Challenge,
    read=ChallengeRead,
    create=ChallengeCreate,
    service_class=ChallengeService,
    key="challengeId",
    references={"pcCode": "centers"},
    sortable=("createdAt", "updatedAt", "startDate", "endDate", "genericName", "status"),
    default_sort="createdAt",
    filters=(
        Filter("pcCode", str, equals(Challenge.pc_code), "PcCode of the challenge"),
        Filter("type", ChallengeType, equals(Challenge.type), "Type of the challenge"),
        Filter("startDate", datetime, at_least(Challenge.start_date), "Challenges starting at or after it"),
        Filter("endDate", datetime, at_most(Challenge.end_date), "Challenges ending at or before it"),
        Filter("status", ChallengeStatus, equals(Challenge.status), "Status of the challenge"),
    ),
    operations={"create": 121, "list": 122, "update": 123, "get": 124},
    descriptions={
        "update": "status moves draft -> ready/active, ready -> active, ended -> archived (409 otherwise); "
        "active -> ended is POST /challenges/{challengeId}/terminate. An ended or archived challenge keeps "
        "its pcCode, type, dates, winnerNumber and rewardExpirationSeconds. A translated field given "
        "replaces the previous one.",
    },
    example={
        "pcCode": "FR-SC-123",
        "genericName": "challenge Les 4 Temps",
        "type": "step_counter",
        "startDate": "2020-01-01T00:00:00.000Z",
        "endDate": "2020-02-01T00:00:00.000Z",
        "timezone": "Europe/Paris",
        "winnerNumber": 1,
        "rewardExpirationSeconds": 86400,
        "status": "ready",
        "displayName": [TRANSLATION],
        "description": [TRANSLATION],
        "rewardDetail": [TRANSLATION],
    },
    example_update={"genericName": "challenge Les 4 Temps 2020", "status": "active"},
)

visitor_challenges = Resource(
    name="visitor-challenges",
    entity="VisitorChallenge",
    model=VisitorChallenge,
    read=VisitorChallengeRead,
    create=VisitorChallengeCreate,
    update=VisitorChallengeUpdate,
    service_class=VisitorChallengeService,
    parent="visitors",
    path="/visitors/{visitorId}/challenges",
    key="visitorChallengeId",
    references={"challengeId": "challenges"},
    unique=(
        Unique(
            ("visitorId", "challengeId"),
            message="Visitor {visitorId} already takes part in challenge {challengeId}.",
        ),
    ),
    sortable=("creationDate", "updateDate", "registeredDate", "points"),
    filters=(
        Filter("pcCode", str, challenge_is(lambda pc: Challenge.pc_code == pc), "PcCode of center"),
        Filter("type", ChallengeType, challenge_is(lambda kind: Challenge.type == kind), "Type of challenge"),
        Filter(
            "registerDateSince",
            datetime,
            at_least(VisitorChallenge.registered_date),
            "registeredDate >= this instant",
        ),
        Filter(
            "registerDateUntil",
            datetime,
            at_most(VisitorChallenge.registered_date),
            "registeredDate <= this instant",
        ),
    ),
    operations={"create": 135, "list": 136, "update": 137, "delete": 139},
    descriptions={
        "create": "The challenge must be ready or active; a visitor takes part once (409).",
        "delete": "Deletes the participation and its history.",
    },
    example={"challengeId": 1},
    example_update={"rewardReceived": False, "totalEntryCount": 3},
)

visitor_challenge_histories = Resource(
    name="visitor-challenge-histories",
    entity="VisitorChallengeHistory",
    model=VisitorChallengeHistory,
    read=VisitorChallengeHistoryRead,
    parent="visitors",
    path="/visitors/{visitorId}/challenge-histories",
    key="visitorChallengeHistoryId",
    sortable=("creationDate", "updateDate", "participationDate"),
    filters=(Filter("challengeId", int, equals(VisitorChallengeHistory.challenge_id), "ID of challenge"),),
    operations={"list": 141},
    tag="visitor-challenges",
)
visitor_challenge_service = visitor_challenges.service_as(VisitorChallengeService)
challenge_service = challenges.service_as(ChallengeService)
