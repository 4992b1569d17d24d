"""Payloads: the change log after a cursor as a JSON array of records, stored before it is sent, and the
attempts that settle it (delivered, failed, dead-lettered).

A payload is stored as its seq range: its records are rebuilt from the (immutable) change log whenever it
is sent again, the same bytes. Only a template-shaped body is kept as sent, since its template may change.

The hot path (one payload after another) speaks Core on the session's connection, with statements built
once: a handful of small statements per payload, without the ORM's per-object bookkeeping.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    Table,
    bindparam,
    case,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from visitorhub.core import changelog
from visitorhub.core.db import utcnow
from visitorhub.domains import all_resources
from visitorhub.integration.streams.sender import Attempt
from visitorhub.integration.streams.service import DEAD, DELIVERED, PENDING
from visitorhub.models.stream import (
    StreamDelivery,
    StreamDeliveryAttempt,
    StreamPayload,
    StreamSubscription,
)

log = logging.getLogger("visitorhub.streams")
Sessions = sessionmaker[Session]
Shaper = Callable[[dict[str, Any]], dict[str, Any]]


@cache
def _id_json(entity: str) -> Callable[[str], bytes]:
    """How an entity's change-log id (text) is written in a record: as the API writes that id."""
    for resource in all_resources().values():
        if resource.entity == entity:
            column = getattr(resource.service.model, resource.service.pk_attr)
            if column.type.python_type is int:
                return lambda entity_id: entity_id.encode()
    return orjson.dumps


def cast_table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


SUBSCRIPTIONS = cast_table(StreamSubscription)
DELIVERIES = cast_table(StreamDelivery)
ATTEMPTS = cast_table(StreamDeliveryAttempt)
PAYLOADS = cast_table(StreamPayload)


def _prebuilt_statements() -> dict[str, Any]:
    """The per-payload statements, built once with bound parameters (building a statement costs more than
    running it on SQLite)."""
    d, s, b = DELIVERIES.c, SUBSCRIPTIONS.c, PAYLOADS.c

    # A stored payload: what sending it needs (its records are rebuilt unless its body was kept).
    stored_payload = (
        select(d.id, d.attempts, d.record_count, d.first_seq, d.last_seq, d.since, s.entity, b.body)
        .join_from(DELIVERIES, SUBSCRIPTIONS, d.subscription_id == s.id)
        .outerjoin(PAYLOADS, b.delivery_id == d.id)
    )

    run_columns = (s.entity, s.url, s.cursor_seq, s.start_date, s.max_per_run, s.max_per_payload)
    renewed_lease = case(
        (s.lease_owner == bindparam("owner"), bindparam("until", type_=s.lease_expires_at.type)),
        else_=s.lease_expires_at,
    )
    return {
        # Without a template the JSON text is copied as is; a template needs the parsed value.
        "changes_raw": changelog.records_after(as_text=True),
        "changes_shaped": changelog.records_after(as_text=False),
        # A stored payload's records again, from its seq range (the change log never changes).
        "changes_range": changelog.records_between(),
        "stored": stored_payload.where(d.id == bindparam("delivery_id")),
        "new_delivery": insert(DELIVERIES),
        "new_payload": insert(PAYLOADS),
        "pending": stored_payload.where(d.subscription_id == bindparam("subscription_id"))
        .where(d.status == PENDING, d.first_seq > bindparam("after"))
        .order_by(d.first_seq)
        .limit(1),
        # Renews the lease when this run still holds it, and reads what the next payload needs.
        "renew": update(SUBSCRIPTIONS)
        .where(s.id == bindparam("subscription_id"))
        .values(lease_expires_at=renewed_lease)
        .returning(s.lease_owner, *run_columns),
        # This run's pending payload was accepted: the common case, settled in three statements.
        "delivered": update(DELIVERIES)
        .where(d.id == bindparam("delivery_id"), d.status == PENDING)
        .values(
            status=DELIVERED,
            attempts=bindparam("attempts"),
            http_status=bindparam("http_status"),
            duration_ms=bindparam("duration_ms"),
            error=None,
            response_excerpt=bindparam("response_excerpt"),
            last_attempt_at=bindparam("now", type_=d.last_attempt_at.type),
            delivered_at=bindparam("now", type_=d.delivered_at.type),
        ),
        "read": select(
            d.subscription_id,
            d.status,
            d.attempts,
            d.record_count,
            d.first_seq,
            d.last_seq,
            d.delivered_at,
            d.dead_at,
            s.max_attempts,
            s.name,
        )
        .join_from(DELIVERIES, SUBSCRIPTIONS, d.subscription_id == s.id)
        .where(d.id == bindparam("delivery_id"))
        .with_for_update(of=DELIVERIES),
        "delivery": update(DELIVERIES)
        .where(d.id == bindparam("delivery_id"))
        .values(
            {
                column: bindparam(column)
                for column in (
                    "status",
                    "attempts",
                    "http_status",
                    "duration_ms",
                    "error",
                    "response_excerpt",
                    "last_attempt_at",
                    "delivered_at",
                    "dead_at",
                )
            }
        ),
        "attempt": insert(ATTEMPTS),
        # The counters add what an attempt changed; the cursor only ever moves forward (to `cursor`, if
        # larger).
        "settled": update(SUBSCRIPTIONS)
        .where(s.id == bindparam("subscription_id"))
        .values(
            attempts_delivered=s.attempts_delivered + bindparam("delivered", type_=Integer),
            attempts_failed=s.attempts_failed + bindparam("failed", type_=Integer),
            payloads_dead=s.payloads_dead + bindparam("dead", type_=Integer),
            records_delivered=s.records_delivered + bindparam("records", type_=Integer),
            cursor_seq=case(
                (s.cursor_seq < bindparam("cursor", type_=BigInteger), bindparam("cursor", type_=BigInteger)),
                else_=s.cursor_seq,
            ),
        ),
    }


STATEMENTS = _prebuilt_statements()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Payload:
    """A stored payload: what a POST of it needs."""

    delivery_id: str
    attempts: int
    record_count: int
    first_seq: int
    last_seq: int
    body: bytes


@dataclass(frozen=True)
class RunSettings:
    """What building the next payload needs of the subscription, read afresh with every payload."""

    entity: str
    url: str
    cursor_seq: int
    start_date: datetime | None
    max_per_run: int
    max_per_payload: int


def _held(row: Any, owner: str) -> RunSettings | str:
    if row is None:
        return "deleted"
    if row.lease_owner != owner:  # taken over after our lease expired
        return "lease_lost"
    return RunSettings(*row[1:])


def renew_lease(conn: Connection, subscription_id: int, owner: str, until: datetime) -> RunSettings | str:
    """Extend this run's lease; the subscription's settings, or why the run must stop."""
    params = {"subscription_id": subscription_id, "owner": owner, "until": until}
    return _held(conn.execute(STATEMENTS["renew"], params).one_or_none(), owner)


def record_accepted(conn: Connection, subscription_id: int, payload: Payload, attempt: Attempt) -> bool:
    """The common case of record_attempt, in three statements: this run's pending payload was accepted
    (the cursor moves past it). False when it was not pending any more: record it the general way."""
    now = utcnow()
    number = payload.attempts + 1
    details = {
        "http_status": attempt.http_status,
        "duration_ms": attempt.duration_ms,
        "response_excerpt": attempt.excerpt,
    }
    params = {"delivery_id": payload.delivery_id, "attempts": number, "now": now, **details}
    if conn.execute(STATEMENTS["delivered"], params).rowcount != 1:
        return False
    conn.execute(
        STATEMENTS["attempt"],
        {
            "delivery_id": payload.delivery_id,
            "number": number,
            "trigger": "run",
            "outcome": "delivered",
            "error": None,
            "attempted_at": now,
            **details,
        },
    )
    conn.execute(
        STATEMENTS["settled"],
        {
            "subscription_id": subscription_id,
            "delivered": 1,
            "failed": 0,
            "dead": 0,
            "records": payload.record_count,
            "cursor": payload.last_seq,
        },
    )
    return True


def pending_payload(conn: Connection, subscription_id: int, after_seq: int) -> Payload | None:
    """The oldest payload built after `after_seq` and not yet accepted. Pending payloads cover
    consecutive seq ranges after the cursor, and are sent oldest first."""
    params = {"subscription_id": subscription_id, "after": after_seq}
    row = conn.execute(STATEMENTS["pending"], params).one_or_none()
    if row is None:
        return None
    return Payload(row.id, row.attempts, row.record_count, row.first_seq, row.last_seq, _body(conn, row))


def stored_body(conn: Connection, delivery_id: str) -> bytes | None:
    """A stored delivery's body, exactly as it is sent (None: no such delivery)."""
    row = conn.execute(STATEMENTS["stored"], {"delivery_id": delivery_id}).one_or_none()
    return None if row is None else _body(conn, row)


def _body(conn: Connection, row: Any) -> bytes:
    """A body kept as sent (template-shaped), or rebuilt from the change log: its records are the changes
    of the payload's seq range, which never change, framed the same way, so the bytes are the same."""
    if row.body is not None:
        return row.body.encode()  # type: ignore[no-any-return]
    params = {
        "entity": row.entity,
        "first": row.first_seq,
        "last": row.last_seq,
        "since": row.since or _EPOCH,
    }
    rows = conn.execute(STATEMENTS["changes_range"], params).all()
    if len(rows) != row.record_count:
        raise RuntimeError(
            f"the change log no longer holds the {row.record_count} records of seq {row.first_seq}.."
            f"{row.last_seq} ({len(rows)} found)"
        )
    return _frame(rows, row.entity, None)


@dataclass(frozen=True)
class Batch:
    """The records of the next payload, read and serialised, not yet stored."""

    record_count: int
    first_seq: int
    last_seq: int
    body: bytes
    since: datetime | None  # the start date the records were read with
    shaped: bool = False  # by a template: the body is kept (the template may change), not rebuilt


def read_batch(
    conn: Connection,
    entity: str,
    after_seq: int,
    start_date: datetime | None,
    size: int,
    shape: Shaper | None = None,
) -> Batch | None:
    """The changes after `after_seq` (at most `size`) as a JSON array of records; None when caught up.

    Without a template, each record's `data` is the change log's JSON text, copied into the body as is
    (no parse and re-serialise: the text is already compact JSON)."""
    statement = STATEMENTS["changes_shaped" if shape is not None else "changes_raw"]
    params = {"entity": entity, "after": after_seq, "since": start_date or _EPOCH, "size": size}
    rows = conn.execute(statement, params).all()
    if not rows:
        return None
    body = _frame(rows, entity, shape)
    return Batch(len(rows), rows[0].seq, rows[-1].seq, body, start_date, shaped=shape is not None)


def _frame(rows: Sequence[Any], entity: str, shape: Shaper | None) -> bytes:
    """Change-log rows (seq, operation, entity id, when, data) as the JSON array a receiver gets."""
    id_json = _id_json(entity)
    entity_json = orjson.dumps(entity)
    records = []
    for seq, operation, entity_id, occurred_at, value in rows:
        if shape is not None:
            value = orjson.dumps(shape(value) if value is not None else None)
        elif value is None:
            value = b"null"
        else:
            value = value.encode()
        records.append(
            b'{"seq":%d,"operation":"%s","entity":%s,"entityId":%s,"occurredAt":"%s","data":%s}'
            % (seq, operation.encode(), entity_json, id_json(entity_id), occurred_at.encode(), value)
        )
    return b"[" + b",".join(records) + b"]"


def store_payload(conn: Connection, subscription_id: int, batch: Batch) -> Payload:
    """Store a batch as the subscription's pending payload, under a new delivery id."""
    payload = Payload(
        f"dlv_{uuid.uuid4().hex}", 0, batch.record_count, batch.first_seq, batch.last_seq, batch.body
    )
    conn.execute(
        STATEMENTS["new_delivery"],
        {
            "id": payload.delivery_id,
            "subscription_id": subscription_id,
            "status": PENDING,
            "attempts": 0,
            "record_count": payload.record_count,
            "first_seq": payload.first_seq,
            "last_seq": payload.last_seq,
            "since": batch.since,
            "creation_date": utcnow(),
        },
    )
    if batch.shaped:
        conn.execute(
            STATEMENTS["new_payload"], {"delivery_id": payload.delivery_id, "body": batch.body.decode()}
        )
    return payload


def record_attempt(session: Session, delivery_id: str, attempt: Attempt, trigger: str) -> str:
    """Store one attempt and what follows from it: delivered (cursor moves on), failed, or dead (the
    attempt limit is reached: the payload is set aside, replayable, and the cursor moves on)."""
    conn = session.connection()
    row = conn.execute(STATEMENTS["read"], {"delivery_id": delivery_id}).one_or_none()
    if row is None:  # its subscription was deleted meanwhile
        return "delivered" if attempt.delivered else "failed"
    now = utcnow()
    number = row.attempts + 1
    status, delivered_at, dead_at, cursor = row.status, row.delivered_at, row.dead_at, 0
    counts = {"delivered": 0, "failed": 0, "dead": 0, "records": 0}
    outcome = "delivered" if attempt.delivered else "failed"
    if attempt.delivered:
        counts["delivered"], cursor = 1, row.last_seq
        if status != DELIVERED:
            status, delivered_at, counts["records"] = DELIVERED, now, row.record_count
    else:
        counts["failed"] = 1
        if status == PENDING and number >= row.max_attempts:
            status, dead_at, counts["dead"], cursor, outcome = DEAD, now, 1, row.last_seq, "dead"
            log.warning(
                "streams.dead_letter subscription=%s delivery=%s seq=%d..%d records=%d attempts=%d error=%s",
                row.name,
                delivery_id,
                row.first_seq,
                row.last_seq,
                row.record_count,
                number,
                attempt.error,
            )
    details = {
        "http_status": attempt.http_status,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "response_excerpt": attempt.excerpt,
    }
    conn.execute(
        STATEMENTS["delivery"],
        {
            "delivery_id": delivery_id,
            "status": status,
            "attempts": number,
            "last_attempt_at": now,
            "delivered_at": delivered_at,
            "dead_at": dead_at,
            **details,
        },
    )
    conn.execute(
        STATEMENTS["attempt"],
        {
            "delivery_id": delivery_id,
            "number": number,
            "trigger": trigger,
            "outcome": "delivered" if attempt.delivered else "failed",
            "attempted_at": now,
            **details,
        },
    )
    conn.execute(STATEMENTS["settled"], {"subscription_id": row.subscription_id, "cursor": cursor, **counts})
    return outcome
