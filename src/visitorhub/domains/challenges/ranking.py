"""A challenge's ranking: best points first, ties to whoever reached the score first (then the older
participation). Every query here is a range of the index ix_visitor_challenge_ranking (challenge, points
desc, reached at, id), walked forwards or backwards, never a sort of the participants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from visitorhub.models import Visitor, VisitorChallenge

VC = VisitorChallenge
BEST_FIRST = (VC.points.desc(), VC.points_reached_at.asc(), VC.visitor_challenge_id.asc())
WORST_FIRST = (VC.points.asc(), VC.points_reached_at.desc(), VC.visitor_challenge_id.desc())


@dataclass(frozen=True)
class Rank:
    position: int
    visitor_challenge_id: int
    first_name: str
    last_name: str | None
    points: int

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name[0]}." if self.last_name else self.first_name


def _tie_ahead(vc: VisitorChallenge) -> Any:
    """Same points, reached earlier (or at the same instant by an older participation)."""
    return and_(
        VC.points == vc.points,
        or_(
            VC.points_reached_at < vc.points_reached_at,
            and_(
                VC.points_reached_at == vc.points_reached_at,
                VC.visitor_challenge_id < vc.visitor_challenge_id,
            ),
        ),
    )


def _tie_behind(vc: VisitorChallenge) -> Any:
    return and_(
        VC.points == vc.points,
        or_(
            VC.points_reached_at > vc.points_reached_at,
            and_(
                VC.points_reached_at == vc.points_reached_at,
                VC.visitor_challenge_id > vc.visitor_challenge_id,
            ),
        ),
    )


def position(session: Session, vc: VisitorChallenge) -> int:
    """1 + the participants ranked ahead of `vc` (two counts, each a range of the index)."""
    count = select(func.count()).select_from(VC).where(VC.challenge_id == vc.challenge_id)
    better = session.scalar(count.where(VC.points > vc.points)) or 0
    tied = session.scalar(count.where(_tie_ahead(vc))) or 0
    return better + tied + 1


def _ranked(stmt: Select[Any]) -> Select[Any]:
    return stmt.join(Visitor, Visitor.visitor_id == VC.visitor_id).add_columns(
        Visitor.first_name, Visitor.last_name
    )


def _rows(session: Session, stmt: Select[Any]) -> list[tuple[VisitorChallenge, str, str | None]]:
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


def top(session: Session, challenge_id: int, count: int) -> list[Rank]:
    """The first `count` positions."""
    stmt = _ranked(select(VC).where(VC.challenge_id == challenge_id).order_by(*BEST_FIRST).limit(count))
    return [
        Rank(index, vc.visitor_challenge_id, first, last, vc.points)
        for index, (vc, first, last) in enumerate(_rows(session, stmt), start=1)
    ]


def neighbours(session: Session, vc: VisitorChallenge, at: int, count: int) -> list[Rank]:
    """Up to `count` participants ahead of `vc`, `vc` itself (at position `at`) and up to `count` behind,
    best first."""
    same = VC.challenge_id == vc.challenge_id

    def walk(tie: Any, beyond: Any, order: tuple[Any, ...]) -> list[tuple[VisitorChallenge, str, str | None]]:
        # The ties first, then the other scores: each a range of the index, limited to what is missing.
        rows = _rows(session, _ranked(select(VC).where(same, tie).order_by(*order).limit(count)))
        if len(rows) < count:
            rest = _ranked(select(VC).where(same, beyond).order_by(*order).limit(count - len(rows)))
            rows += _rows(session, rest)
        return rows

    ahead = walk(_tie_ahead(vc), VC.points > vc.points, WORST_FIRST)
    behind = walk(_tie_behind(vc), VC.points < vc.points, BEST_FIRST)
    me = _rows(session, _ranked(select(VC).where(VC.visitor_challenge_id == vc.visitor_challenge_id)))
    ranks = [
        Rank(at - distance, row.visitor_challenge_id, first, last, row.points)
        for distance, (row, first, last) in enumerate(ahead, start=1)
    ][::-1]
    ranks += [Rank(at, vc.visitor_challenge_id, first, last, vc.points) for _row, first, last in me]
    ranks += [
        Rank(at + distance, row.visitor_challenge_id, first, last, row.points)
        for distance, (row, first, last) in enumerate(behind, start=1)
    ]
    return ranks
