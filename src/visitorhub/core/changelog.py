"""The outbox: append a change in the writer's transaction; read changes by sequence number.

This module is the only one that writes change records, and the only one that reads them: `/changes`,
incremental exports (`since`), streams and connectors all go through the readers below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Table,
    Text,
    bindparam,
    cast,
    event,
    func,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.functions import FunctionElement

from visitorhub.core.db import JsonText, insert_rows, json_dumps, utcnow
from visitorhub.models.changelog import ChangeLogEntry

OPERATIONS = ("create", "update", "delete")
_LOCK_KEY = "visitorhub.changelog_locked"
# Any constant works; it only has to be the same for every writer.
_PG_ADVISORY_LOCK_ID = 0x76686368616E6765
CHANGES: Table = ChangeLogEntry.__table__  # type: ignore[assignment]
_APPENDED = ("entity", "entity_id", "operation", "occurred_at", "data")


# Writing ------------------------------------------------------------------------------------------------


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
    append_many(session, [{"entity": entity, "entity_id": entity_id, "operation": operation, "data": data}])


def compact(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A representation as the change log keeps it: its fields without those whose value is null (a third to
    two fifths of an imported visitor's or vehicle's bytes). Readers get it back as stored: a field that is
    absent was null."""
    if data is None:
        return None
    return {name: value for name, value in data.items() if value is not None}


def encode_data(data: dict[str, Any] | None) -> JsonText:
    """The stored JSON text of a representation (compact; the JSON column's own encoding, core.db)."""
    return JsonText(json_dumps(compact(data)))


def _stored(data: dict[str, Any] | JsonText | None) -> dict[str, Any] | JsonText | None:
    return data if isinstance(data, JsonText) else compact(data)


def append_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Record changes (rows: entity, entity_id, operation, data: a representation, or its stored text as
    encode_data or CrudService.represent_stored make it) in order, in one statement."""
    if not rows:
        return
    _serialise_writers(session)
    now = utcnow()
    for row in rows:
        assert row["operation"] in OPERATIONS, row["operation"]
    # One executemany on the session's connection, without the ORM's bulk bookkeeping (core.db.insert_rows).
    insert_rows(
        session.connection(bind_arguments={"mapper": ChangeLogEntry}),
        CHANGES,
        _APPENDED,
        [(row["entity"], str(row["entity_id"]), row["operation"], now, _stored(row["data"])) for row in rows],
    )


# Reading ------------------------------------------------------------------------------------------------


def read_after(session: Session, after: int, limit: int, entity: str | None = None) -> list[ChangeLogEntry]:
    """Changes after seq `after`, oldest first (the `/changes` page)."""
    stmt = select(ChangeLogEntry).where(ChangeLogEntry.seq > after)
    if entity:
        stmt = stmt.where(ChangeLogEntry.entity == entity)
    return list(session.scalars(stmt.order_by(ChangeLogEntry.seq).limit(limit)))


class Change(NamedTuple):
    seq: int
    entity: str
    entity_id: str
    data: Any


def changes_after(session: Session, after: int, entities: Sequence[str], limit: int) -> list[Change]:
    """Change records of any of `entities` after seq `after`, oldest first, at most `limit` of them:
    seq, entity, entity id and the representation, without building ORM objects (connectors)."""
    c = CHANGES.c
    stmt = (
        select(c.seq, c.entity, c.entity_id, c.data)
        .where(c.seq > after, c.entity.in_(list(entities)))
        .order_by(c.seq)
        .limit(limit)
    )
    return [Change(*row) for row in session.execute(stmt)]


def newest_seq(session: Session, entity: str | None = None) -> int:
    """The last seq handed out (of `entity`'s changes, when given); 0 before the first change."""
    stmt = select(func.max(ChangeLogEntry.seq))
    if entity is not None:
        stmt = stmt.where(ChangeLogEntry.entity == entity)
    return session.scalar(stmt) or 0


def count_after(session: Session, entities: str | Sequence[str], after: int) -> int:
    """How many changes of `entities` come after seq `after` (served by the (entity, seq) index)."""
    names = [entities] if isinstance(entities, str) else list(entities)
    return sum(
        session.scalar(select(func.count()).where(ChangeLogEntry.entity == name, ChangeLogEntry.seq > after))
        or 0
        for name in names
    )


def seq_before(session: Session, instant: datetime | None) -> int:
    """A cursor that starts at the first change at or after `instant` (None: after every change so far)."""
    if instant is not None:
        first = session.scalar(
            select(ChangeLogEntry.seq)
            .where(ChangeLogEntry.occurred_at >= instant)
            .order_by(ChangeLogEntry.occurred_at, ChangeLogEntry.seq)
            .limit(1)
        )
        if first is not None:
            return first - 1
    return newest_seq(session)


def deleted_since(
    session: Session, entity: str, since: datetime, value: Callable[[Any], ColumnElement[Any]]
) -> Select[Any] | None:
    """SELECT value(data) of `entity`'s delete records after `since` (a deleted record is gone, but its
    delete record keeps its last representation); None when nothing at all changed since then."""
    # Every change record after `since` has a seq >= the smallest of theirs: with it, the (entity, seq)
    # index bounds the search to the records since then.
    first_seq = session.scalar(select(func.min(ChangeLogEntry.seq)).where(ChangeLogEntry.occurred_at > since))
    if first_seq is None:
        return None
    return select(value(ChangeLogEntry.data)).where(
        ChangeLogEntry.entity == entity,
        ChangeLogEntry.seq >= first_seq,
        ChangeLogEntry.occurred_at > since,
        ChangeLogEntry.operation == "delete",
    )


class utc_iso(FunctionElement[str]):
    """A UTC timestamp column as ISO 8601 text with microseconds ("2026-12-01T10:15:02.123456Z"), made
    by the database: reading a payload's 50 timestamps then costs no parsing and formatting in Python."""

    type = String()
    inherit_cache = True


@compiles(utc_iso, "sqlite")
def _utc_iso_sqlite(element: utc_iso, compiler: Any, **kw: Any) -> str:
    # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC (SQLAlchemy's SQLite DATETIME format).
    return f"(replace({compiler.process(element.clauses, **kw)}, ' ', 'T') || 'Z')"


@compiles(utc_iso, "postgresql")
def _utc_iso_postgresql(element: utc_iso, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def records_statement(as_text: bool) -> Select[Any]:
    """An entity's change records, oldest first, as rows (seq, operation, entity_id, occurredAt as ISO
    text, data), with bound parameters: `entity`, and `since` (records at or after it). `data` is the
    stored JSON text when `as_text` (copied into payloads as is), the parsed value otherwise."""
    c = CHANGES.c
    data = cast(c.data, Text) if as_text else c.data
    return (
        select(c.seq, c.operation, c.entity_id, utc_iso(c.occurred_at), data)
        .where(c.entity == bindparam("entity"))
        .where(c.occurred_at >= bindparam("since", type_=c.occurred_at.type))
        .order_by(c.seq)
    )


def records_after(as_text: bool) -> Select[Any]:
    """records_statement after seq `after`, at most `size` of them."""
    return records_statement(as_text).where(CHANGES.c.seq > bindparam("after")).limit(bindparam("size"))


def records_between() -> Select[Any]:
    """records_statement (as text) with seq from `first` to `last`: a stored payload's records again."""
    c = CHANGES.c
    return records_statement(True).where(c.seq >= bindparam("first"), c.seq <= bindparam("last"))
