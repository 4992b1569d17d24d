"""The outbox: append a change in the writer's transaction; read changes by sequence number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session, SessionTransaction

from visitorhub.core.db import utcnow
from visitorhub.models.changelog import ChangeLogEntry

OPERATIONS = ("create", "update", "delete")
_LOCK_KEY = "visitorhub.changelog_locked"
# Any constant works; it only has to be the same for every writer.
_PG_ADVISORY_LOCK_ID = 0x76686368616E6765


def _serialise_writers(session: Session) -> None:
    """On PostgreSQL, make commit order equal seq order, so a reader of `seq > cursor` never skips a row.

    Sequence values are handed out at insert time; without this, a transaction that took seq 11 could
    commit before one holding seq 10, and a stream that had read 11 would never see 10. The lock is
    held until the transaction ends. SQLite already allows a single writer at a time.
    """
    if session.info.get(_LOCK_KEY):
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_ADVISORY_LOCK_ID})
    session.info[_LOCK_KEY] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_lock(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_LOCK_KEY, None)


def append(
    session: Session, entity: str, entity_id: Any, operation: str, data: dict[str, Any] | None
) -> None:
    """Record one change; it commits or rolls back with the caller's transaction."""
    assert operation in OPERATIONS, operation
    _serialise_writers(session)
    session.add(
        ChangeLogEntry(
            entity=entity, entity_id=str(entity_id), operation=operation, occurred_at=utcnow(), data=data
        )
    )


def append_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk form of append for batch writers (rows: entity, entity_id, operation, data)."""
    if not rows:
        return
    _serialise_writers(session)
    # Flush entries added by append() first, so that seq follows call order when both are mixed.
    session.flush()
    now = utcnow()
    session.execute(
        insert(ChangeLogEntry),
        [{**row, "entity_id": str(row["entity_id"]), "occurred_at": now} for row in rows],
    )


def read_after(session: Session, after: int, limit: int, entity: str | None = None) -> list[ChangeLogEntry]:
    stmt = select(ChangeLogEntry).where(ChangeLogEntry.seq > after)
    if entity:
        stmt = stmt.where(ChangeLogEntry.entity == entity)
    return list(session.scalars(stmt.order_by(ChangeLogEntry.seq).limit(limit)))
