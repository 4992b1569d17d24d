"""The mirror: per connector and visitor, the remote record's id, revision and the hash of the body it
holds (as far as the hub knows), read and written a chunk at a time with Core statements."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from visitorhub.core.service import IN_LIST
from visitorhub.models import ConnectorRecord, Visitor

OK, PENDING, FAILED = "ok", "pending", "failed"
RECORDS: Table = ConnectorRecord.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Mirrored:
    """What the mirror holds for one visitor."""

    visitor_id: uuid.UUID
    business_id: str | None
    revision: int | None
    content_hash: str | None
    status: str
    failures: int


def _mirrored(row: Any) -> Mirrored:
    return Mirrored(row.visitor_id, row.business_id, row.revision, row.content_hash, row.status, row.failures)


_COLUMNS = (
    RECORDS.c.visitor_id,
    RECORDS.c.business_id,
    RECORDS.c.revision,
    RECORDS.c.content_hash,
    RECORDS.c.status,
    RECORDS.c.failures,
)


def rows_for(session: Session, connector_id: int, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Mirrored]:
    found: dict[uuid.UUID, Mirrored] = {}
    for start in range(0, len(ids), IN_LIST):
        stmt = select(*_COLUMNS).where(
            RECORDS.c.connector_id == connector_id, RECORDS.c.visitor_id.in_(ids[start : start + IN_LIST])
        )
        for row in session.execute(stmt):
            found[row.visitor_id] = _mirrored(row)
    return found


def to_retry(
    session: Session, connector_id: int, now: datetime | None, limit: int | None = None
) -> list[uuid.UUID]:
    """Visitors whose last attempt failed or whose outcome is unknown (a create cut short), oldest key
    first; with `now`, only those whose retry time has come (pending ones always)."""
    stmt = select(RECORDS.c.visitor_id).where(RECORDS.c.connector_id == connector_id, RECORDS.c.status != OK)
    if now is not None:
        stmt = stmt.where((RECORDS.c.retry_at.is_(None)) | (RECORDS.c.retry_at <= now))
    return list(session.scalars(stmt.order_by(RECORDS.c.visitor_id).limit(limit)))


def leftovers(
    session: Session, connector_id: int, kept: ColumnElement[bool], after: uuid.UUID | None, limit: int
) -> list[Mirrored]:
    """Mirrored visitors that no longer exist or that the filter (`kept`, on `visitor`) no longer keeps,
    in id order after `after`."""
    still_kept = exists().where(Visitor.visitor_id == RECORDS.c.visitor_id, kept)
    stmt = select(*_COLUMNS).where(RECORDS.c.connector_id == connector_id, ~still_kept)
    if after is not None:
        stmt = stmt.where(RECORDS.c.visitor_id > after)
    return [_mirrored(row) for row in session.execute(stmt.order_by(RECORDS.c.visitor_id).limit(limit))]


def count(session: Session, connector_id: int, status: str | None = None) -> int:
    stmt = select(func.count()).where(RECORDS.c.connector_id == connector_id)
    if status is not None:
        stmt = stmt.where(RECORDS.c.status == status)
    return session.scalar(stmt) or 0


def write(
    session: Session, connector_id: int, rows: Sequence[dict[str, Any]], forget: Iterable[uuid.UUID] = ()
) -> None:
    """Replace the rows of the visitors in `rows` (dicts of column values) and delete those of `forget`."""
    gone = [row["visitor_id"] for row in rows] + list(forget)
    for start in range(0, len(gone), IN_LIST):
        session.execute(
            delete(ConnectorRecord).where(
                ConnectorRecord.connector_id == connector_id,
                ConnectorRecord.visitor_id.in_(gone[start : start + IN_LIST]),
            )
        )
    if rows:
        session.execute(insert(ConnectorRecord), [{"connector_id": connector_id, **row} for row in rows])


def add_pending(session: Session, connector_id: int, ids: Sequence[uuid.UUID]) -> None:
    """Note creates about to be sent for visitors the mirror does not know yet: should the answer never
    be recorded (a crash), the next sync knows a remote record may exist for them."""
    if ids:
        session.execute(
            insert(ConnectorRecord),
            [
                {"connector_id": connector_id, "visitor_id": visitor_id, "status": PENDING, "failures": 0}
                for visitor_id in ids
            ],
        )


def forget_all(session: Session, connector_id: int) -> None:
    session.execute(delete(ConnectorRecord).where(ConnectorRecord.connector_id == connector_id))
