"""Challenges (a centre's contest, e.g. a step counter), visitors' participations and their history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from visitorhub.core.db import Base, BigIntId, TimestampMixin
from visitorhub.models.visitor import Visitor


class Challenge(TimestampMixin, Base):
    __tablename__ = "challenge"

    challenge_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    pc_code: Mapped[str] = mapped_column(String(64), index=True)
    generic_name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[datetime]
    end_date: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    image_url: Mapped[str | None] = mapped_column(String(2048))
    winner_number: Mapped[int]
    reward_expiration_seconds: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), index=True)
    # [{localeCode, value, type, creationDate, updateDate}] (see domains/translations.py)
    display_name: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    description: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reward_detail: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    # The seed names a challenge's timestamps createdAt/updatedAt.
    created_at: Mapped[datetime] = synonym("creation_date")
    updated_at: Mapped[datetime] = synonym("update_date")


class VisitorChallenge(TimestampMixin, Base):
    """A visitor's participation in a challenge; `points` is the running total."""

    __tablename__ = "visitor_challenge"
    __table_args__ = (UniqueConstraint("visitor_id", "challenge_id"),)

    visitor_challenge_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("visitor.visitor_id", ondelete="CASCADE"), index=True
    )
    # Declared so the unit of work inserts a new visitor before records that point to it; never loaded.
    visitor: Mapped[Visitor] = relationship(lazy="raise", viewonly=False)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.challenge_id", ondelete="CASCADE"))
    points: Mapped[int] = mapped_column(default=0)
    # When `points` took its current value: the tie-break of the ranking.
    points_reached_at: Mapped[datetime]
    total_entry_count: Mapped[int] = mapped_column(default=0)
    bonus_entry_count: Mapped[int] = mapped_column(default=0)
    last_entry_date: Mapped[datetime | None]
    reward_unlocked: Mapped[bool] = mapped_column(default=False)
    reward_received: Mapped[bool] = mapped_column(default=False)
    reward_expiration_date: Mapped[datetime | None]
    registered_date: Mapped[datetime]


# The ranking: best first, ties to whoever reached the score first. Serves the top of the board, a
# participant's neighbours and the count of those ahead of them, without a sort.
Index(
    "ix_visitor_challenge_ranking",
    VisitorChallenge.challenge_id,
    VisitorChallenge.points.desc(),
    VisitorChallenge.points_reached_at,
    VisitorChallenge.visitor_challenge_id,
)


class VisitorChallengeHistory(TimestampMixin, Base):
    """One change of a participation's points: an increment, a value set by an update, or a bonus."""

    __tablename__ = "visitor_challenge_history"
    __table_args__ = (Index("ix_visitor_challenge_history_visitor_challenge", "visitor_id", "challenge_id"),)

    visitor_challenge_history_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visitor.visitor_id", ondelete="CASCADE"))
    challenge_id: Mapped[int]
    visitor_challenge_id: Mapped[int] = mapped_column(
        ForeignKey("visitor_challenge.visitor_challenge_id", ondelete="CASCADE"), index=True
    )
    points: Mapped[int]
    bonus_activated: Mapped[bool] = mapped_column(default=False)
    total_points: Mapped[int]
    participation_date: Mapped[datetime]
    origin: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
