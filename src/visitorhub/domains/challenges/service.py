"""Challenge rules: the status lifecycle, termination with its winners, translated texts; participation
rules: joining, points added atomically with their history, and the ranking."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.db import as_utc, utcnow
from visitorhub.core.resource import Resource
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.domains.challenges import ranking
from visitorhub.domains.enums import ChallengeHistoryAction, ChallengeStatus
from visitorhub.domains.translations import stored_translations
from visitorhub.errors import Conflict, InvalidInput
from visitorhub.models import Challenge, VisitorChallenge, VisitorChallengeHistory

S = ChallengeStatus
# Status -> the statuses a PATCH may move it to (ended is reached through terminate only).
NEXT_STATUS: dict[str, tuple[str, ...]] = {
    S.draft: (S.ready, S.active),
    S.ready: (S.active,),
    S.active: (),
    S.ended: (S.archived,),
    S.archived: (),
}
INITIAL_STATUS = (S.draft, S.ready, S.active)
JOINABLE = (S.ready, S.active)
TRANSLATED = ("display_name", "description", "reward_detail")
# What an ended or archived challenge keeps: its rules and results are settled.
SETTLED = ("pc_code", "type", "start_date", "end_date", "winner_number", "reward_expiration_seconds")
_TERMINATING = "visitorhub.terminating"  # session.info: the challenge terminate() is ending


def _check_dates(start: datetime, end: datetime) -> None:
    if as_utc(end) <= as_utc(start):
        raise InvalidInput(
            f"endDate {end.isoformat()} must be after startDate {start.isoformat()}.",
            field="endDate",
            code="date_order",
        )


def can_log_points(challenge: Challenge, now: datetime) -> bool:
    return challenge.status == S.active and as_utc(challenge.start_date) <= now <= as_utc(challenge.end_date)


class ChallengeService(CrudService[Challenge]):
    def _translate(self, values: dict[str, Any], obj: Challenge | None) -> None:
        now = utcnow()
        for attr in TRANSLATED:
            if values.get(attr) is not None:
                previous = getattr(obj, attr) if obj is not None else None
                values[attr] = stored_translations(values[attr], previous, now, kind=to_camel(attr))

    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        if values["status"] not in INITIAL_STATUS:
            raise InvalidInput(
                f"A new challenge is {', '.join(INITIAL_STATUS)}, not {values['status']}.",
                field="status",
                code="invalid_status",
            )
        _check_dates(values["start_date"], values["end_date"])
        self._translate(values, None)
        return values

    def prepare_update(
        self, session: Session, obj: Challenge, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        status = changes.get("status")
        if status is not None and status != obj.status:
            terminating = session.info.get(_TERMINATING) == obj.challenge_id
            allowed = NEXT_STATUS[obj.status]
            if status == S.ended and not terminating:
                raise Conflict(
                    f"Challenge {obj.challenge_id} ends through POST /challenges/{obj.challenge_id}/terminate, "
                    "which also picks its winners.",
                    field="status",
                    code="illegal_transition",
                )
            if status not in allowed and not terminating:
                raise Conflict(
                    f"Challenge {obj.challenge_id} cannot go from {obj.status} to {status}; from {obj.status} "
                    f"it may go to: {', '.join(allowed) or 'nothing'}.",
                    field="status",
                    code="illegal_transition",
                )
        if obj.status in (S.ended, S.archived):
            for attr in SETTLED:
                if attr in changes and changes[attr] != getattr(obj, attr):
                    raise Conflict(
                        f"Challenge {obj.challenge_id} is {obj.status}: {to_camel(attr)} cannot change.",
                        field=to_camel(attr),
                        code="settled",
                    )
        _check_dates(changes.get("start_date", obj.start_date), changes.get("end_date", obj.end_date))
        self._translate(changes, obj)
        return changes

    def terminate(
        self, session: Session, challenge: Challenge, ignore_end_date: bool, ctx: WriteContext
    ) -> None:
        """End an active challenge and make its `winnerNumber` best participants (with points) winners,
        their reward valid `rewardExpirationSeconds` from now."""
        # Waits for the point increments in flight (they hold the challenge row FOR SHARE) and makes new
        # ones wait for this transaction, so the winners are picked on final scores.
        session.refresh(challenge, with_for_update=True)
        if challenge.status != S.active:
            raise Conflict(
                f"Challenge {challenge.challenge_id} is {challenge.status}: only an active challenge can be "
                "terminated.",
                field="status",
                code="not_active",
            )
        now = utcnow()
        if now < as_utc(challenge.end_date) and not ignore_end_date:
            raise Conflict(
                f"Challenge {challenge.challenge_id} runs until {as_utc(challenge.end_date).isoformat()}: pass "
                "ignoreEndDate=true to end it now.",
                field="ignoreEndDate",
                code="not_over",
            )
        session.info[_TERMINATING] = challenge.challenge_id
        try:
            self.update(session, challenge, {"status": S.ended.value}, ctx)
        finally:
            session.info.pop(_TERMINATING, None)
        expires = (
            now + timedelta(seconds=challenge.reward_expiration_seconds)
            if challenge.reward_expiration_seconds
            else None
        )
        winners = session.scalars(
            select(VisitorChallenge)
            .where(VisitorChallenge.challenge_id == challenge.challenge_id, VisitorChallenge.points > 0)
            .order_by(*ranking.BEST_FIRST)
            .limit(challenge.winner_number)
        )
        participations = _participations()
        for winner in list(winners):
            participations.service.update(
                session, winner, {"reward_unlocked": True, "reward_expiration_date": expires}, ctx
            )


def _participations() -> Resource:
    from visitorhub.domains.challenges.resources import visitor_challenges

    return visitor_challenges


def _histories() -> Resource:
    from visitorhub.domains.challenges.resources import visitor_challenge_histories

    return visitor_challenge_histories


class VisitorChallengeService(CrudService[VisitorChallenge]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        challenge = session.get(Challenge, values["challenge_id"])  # unknown: the reference check's 422
        if challenge is not None and challenge.status not in JOINABLE:
            raise Conflict(
                f"Challenge {challenge.challenge_id} is {challenge.status}: visitors join a ready or active "
                "challenge.",
                field="challengeId",
                code="not_joinable",
            )
        now = utcnow()
        values["registered_date"] = values.pop("registered_at", None) or now
        values.setdefault("points", 0)
        values["points_reached_at"] = now
        return values

    def prepare_update(
        self, session: Session, obj: VisitorChallenge, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        # Like an addition, an update waits for a terminate in progress (and makes it wait), so the two
        # never lock the same rows in opposite orders.
        challenge = self._challenge(session, obj, lock=True)
        if "points" in changes and changes["points"] != obj.points:
            if challenge.status != S.active:
                raise Conflict(
                    f"Challenge {challenge.challenge_id} is {challenge.status}: points change only while it is "
                    "active.",
                    field="points",
                    code="not_active",
                )
            changes["points_reached_at"] = utcnow()
        unlocked = changes.get("reward_unlocked", obj.reward_unlocked)
        if changes.get("reward_received", obj.reward_received) and not unlocked:
            raise InvalidInput(
                "rewardReceived needs an unlocked reward (rewardUnlocked true).",
                field="rewardReceived",
                code="reward_locked",
            )
        return changes

    def update(
        self,
        session: Session,
        obj: VisitorChallenge,
        changes: dict[str, Any],
        ctx: WriteContext | None = None,
    ) -> bool:
        """The update, plus a history entry when it sets the points or raises bonusEntryCount."""
        ctx = ctx or WriteContext()
        before_points, before_bonus = obj.points, obj.bonus_entry_count
        if not super().update(session, obj, changes, ctx):
            return False
        if obj.points != before_points:
            self._history(session, obj, obj.points - before_points, ChallengeHistoryAction.set, False, ctx)
        if obj.bonus_entry_count > before_bonus:
            self._history(session, obj, 0, ChallengeHistoryAction.bonus, True, ctx)
        return True

    def add_points(self, session: Session, obj: VisitorChallenge, points: int, ctx: WriteContext) -> None:
        """Add `points` to the total, count an entry and record it in the history, through the write path.
        The participation's row is locked first (FOR UPDATE): concurrent additions queue there and each
        reads the total the previous one committed, so none is lost (SQLite has one writer at a time)."""
        challenge = self._challenge(session, obj, lock=True)
        now = utcnow()
        if not can_log_points(challenge, now):
            raise Conflict(
                f"Challenge {challenge.challenge_id} is {challenge.status}, from "
                f"{as_utc(challenge.start_date).isoformat()} to {as_utc(challenge.end_date).isoformat()}: "
                "points are added to an active challenge between its startDate and endDate.",
                field="points",
                code="not_active",
            )
        session.refresh(obj, with_for_update=True)
        changes = {
            "points": obj.points + points,
            "total_entry_count": obj.total_entry_count + 1,
            "last_entry_date": now,
        }
        super().update(session, obj, changes, ctx)  # the plain update: its history line is an increment
        self._history(session, obj, points, ChallengeHistoryAction.increment, False, ctx, now)

    def purge(self, session: Session, obj: VisitorChallenge, ctx: WriteContext | None = None) -> None:
        """Deleted with its history (each entry through its service, so each deletion is logged)."""
        self._challenge(session, obj, lock=True)
        histories = _histories()
        for entry in session.scalars(
            select(VisitorChallengeHistory).where(
                VisitorChallengeHistory.visitor_challenge_id == obj.visitor_challenge_id
            )
        ):
            histories.service.purge(session, entry, ctx)
        super().purge(session, obj, ctx)

    def _challenge(self, session: Session, obj: VisitorChallenge, lock: bool = False) -> Challenge:
        stmt = select(Challenge).where(Challenge.challenge_id == obj.challenge_id)
        if lock:
            # FOR SHARE: many writers at once, but none while terminate() holds the row (PostgreSQL;
            # SQLite has one writer at a time anyway). Fresh values, not the identity map's.
            stmt = stmt.with_for_update(read=True).execution_options(populate_existing=True)
        challenge = session.scalars(stmt).one()
        return challenge

    def _history(
        self,
        session: Session,
        obj: VisitorChallenge,
        points: int,
        action: ChallengeHistoryAction,
        bonus: bool,
        ctx: WriteContext,
        at: datetime | None = None,
    ) -> None:
        _histories().service.create(
            session,
            {
                "visitor_id": obj.visitor_id,
                "challenge_id": obj.challenge_id,
                "visitor_challenge_id": obj.visitor_challenge_id,
                "points": points,
                "bonus_activated": bonus,
                "total_points": obj.points,
                "participation_date": at or utcnow(),
                "origin": ctx.actor or "api",
                "action": action.value,
            },
            ctx,
        )
