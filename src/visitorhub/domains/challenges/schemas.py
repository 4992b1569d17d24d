"""Challenge, visitor-challenge, ranking and history bodies, field for field as the seed shows them
(a challenge's timestamps are createdAt/updatedAt there)."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.enums import ChallengeHistoryAction, ChallengeStatus, ChallengeType
from visitorhub.domains.translations import ChallengeTranslationRead, Translations

Count = Annotated[int, Field(ge=0, le=2**31 - 1)]


def _timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{name}' is not an IANA time zone (such as Europe/Paris)") from None
    return name


Timezone = Annotated[
    str, Field(min_length=1, max_length=64, examples=["Europe/Paris"]), AfterValidator(_timezone)
]


class ChallengeCreate(ApiModel):
    pc_code: str = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    generic_name: str = Field(min_length=1, max_length=200, examples=["challenge Les 4 Temps"])
    type: ChallengeType
    start_date: datetime
    end_date: datetime = Field(description="After startDate.")
    timezone: Timezone = Field("UTC", description="The challenge's days (bonusActivatedToday) are in it.")
    image_url: str | None = Field(None, max_length=2048)
    winner_number: int = Field(ge=1, le=10_000, description="How many of the best participants win.")
    reward_expiration_seconds: int | None = Field(
        None, ge=1, description="How long a winner's reward stays valid; null: it does not expire."
    )
    status: ChallengeStatus = Field(
        description="A new challenge is draft, ready or active; then ready -> active, active -> ended (only "
        "through POST /challenges/{challengeId}/terminate), ended -> archived."
    )
    display_name: Translations
    description: Translations
    reward_detail: Translations


class ChallengeRead(ApiModel):
    pc_code: str
    generic_name: str
    type: ChallengeType
    start_date: datetime
    end_date: datetime
    timezone: str
    image_url: str | None
    winner_number: int
    reward_expiration_seconds: int | None
    status: ChallengeStatus
    display_name: list[ChallengeTranslationRead]
    description: list[ChallengeTranslationRead]
    reward_detail: list[ChallengeTranslationRead]
    challenge_id: int
    created_at: datetime
    updated_at: datetime


class TerminateBody(ApiModel):
    ignore_end_date: bool = Field(description="End the challenge even though its endDate is still to come.")


class VisitorChallengeCreate(ApiModel):
    challenge_id: int = Field(description="A challenge that is ready or active.")
    registered_at: datetime = not_null(description="Shown as registeredDate; default now.")


class VisitorChallengeUpdate(ApiModel):
    points: Count = not_null(
        description="Sets the total (recorded in the history as 'set'); only while the challenge is active."
    )
    total_entry_count: Count = not_null()
    bonus_entry_count: Count = not_null(description="Raising it records a 'bonus' history entry.")
    last_entry_date: datetime | None = None
    reward_unlocked: bool = not_null()
    reward_received: bool = not_null(description="Only for an unlocked reward.")


class VisitorChallengeRead(ApiModel):
    visitor_id: uuid.UUID
    challenge_id: int
    points: int
    total_entry_count: int
    bonus_entry_count: int
    last_entry_date: datetime | None
    reward_unlocked: bool
    reward_received: bool
    reward_expiration_date: datetime | None = Field(
        description="Until when a winner's reward is valid (set when the challenge is terminated)."
    )
    registered_date: datetime
    creation_date: datetime
    update_date: datetime
    visitor_challenge_id: int


class PointsBody(ApiModel):
    points: int = Field(ge=1, le=1_000_000_000, description="Points to add to the participation's total.")


class RankRead(ApiModel):
    position: int
    name: str = Field(description="First name and initial of the last name.")
    points: str = Field(description="The participant's points (a string, as the seed shows it).")
    is_visitor_rank: bool


class RankingRead(ApiModel):
    challenge: ChallengeRead
    visitor_challenge: VisitorChallengeRead
    top_ranking: list[RankRead]
    other_ranking: list[RankRead]
    bonus_activated_today: bool
    visitor_ranking_position: int
    can_log_points: bool


class VisitorChallengeHistoryRead(ApiModel):
    visitor_challenge_history_id: int
    challenge_id: int
    visitor_id: uuid.UUID
    visitor_challenge_id: int
    points: int = Field(description="The change of the total.")
    bonus_activated: bool
    total_points: int = Field(description="The total after the change.")
    participation_date: datetime
    origin: str | None
    action: ChallengeHistoryAction
    creation_date: datetime
    update_date: datetime
