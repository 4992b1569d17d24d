"""One run of a subscription: change log after the cursor -> frozen payloads -> POST -> acknowledge.

Why nothing is lost or reordered:
- A payload is built and stored (status pending, with its id and exact body) in a transaction that
  commits before the POST; a later run or a restart after a crash finds it and sends it again, the same
  bytes under the same id. A subscription has at most one pending payload, and sends it before building
  the next one.
- The cursor moves past a payload only in the transaction that records its 2xx (or its dead-lettering).
- No transaction is open during a POST, so a slow receiver never holds a database lock.
- One run at a time per subscription: a run holds a lease (owner + expiry) on the subscription row,
  renewed before every POST; the lease outlives one request (settings check it). A lease whose owner
  process is gone (same host, dead pid) is taken over at once, others when they expire.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    Table,
    Text,
    bindparam,
    case,
    cast,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings
from visitorhub.core.db import make_session_factory, unit_of_work, utcnow
from visitorhub.core.http import UnsafeTarget, check_url_on_send, make_client, send_pinned
from visitorhub.domains import all_resources
from visitorhub.errors import AppError, Conflict, NotFound
from visitorhub.integration.streams.auth import load_auth, request_headers
from visitorhub.integration.streams.service import DEAD, DELIVERED, PENDING, lag
from visitorhub.models.changelog import ChangeLogEntry
from visitorhub.models.stream import StreamDelivery, StreamDeliveryAttempt, StreamSubscription

log = logging.getLogger("visitorhub.streams")

EXCERPT_BYTES = 1000
Sessions = sessionmaker[Session]


# Sending ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What one POST came to."""

    delivered: bool
    http_status: int | None
    duration_ms: int
    error: str | None = None
    excerpt: str | None = None


class Sender:
    """POSTs payloads over one pooled client; one per thread that sends."""

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.streams_timeout_seconds
        self.allow_private = settings.allow_private_targets
        self.client = make_client(self.timeout)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> Attempt:
        began = time.perf_counter()

        def elapsed() -> int:
            return round((time.perf_counter() - began) * 1000)

        try:
            target = check_url_on_send(url, self.allow_private)
        except UnsafeTarget as exc:
            return Attempt(False, None, elapsed(), f"blocked: {exc}")
        except (OSError, UnicodeError) as exc:
            return Attempt(False, None, elapsed(), f"dns: the receiver's name does not resolve ({exc})")
        try:
            status, excerpt = send_pinned(self.client, target, body, headers, EXCERPT_BYTES)
        except httpx.TimeoutException:
            return Attempt(False, None, elapsed(), f"timeout: no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Attempt(False, None, elapsed(), f"connection: {type(exc).__name__}: {exc}"[:500])
        text = excerpt.decode("utf-8", errors="replace") or None
        if 200 <= status < 300:
            return Attempt(True, status, elapsed(), None, text)
        reason = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        return Attempt(False, status, elapsed(), reason, text)


# Leases ----------------------------------------------------------------------------------------------


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "-"


_PROCESS = f"{socket.gethostname()}/{_pid_namespace()}/{os.getpid()}"


def new_owner() -> str:
    """A lease owner: this process (host, pid namespace, pid) and a token of its own."""
    return f"{_PROCESS}/{uuid.uuid4().hex[:8]}"


def _owner_is_gone(owner: str) -> bool:
    """True when the owner was a process on this host (same pid namespace) that no longer exists."""
    host, _, rest = owner.partition("/")
    namespace, _, rest = rest.partition("/")
    pid, _, _token = rest.partition("/")
    here_host, here_namespace, here_pid = _PROCESS.split("/")
    if (host, namespace) != (here_host, here_namespace) or not pid.isdigit() or pid == here_pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False


def _lease_free(sub: StreamSubscription, now: datetime) -> bool:
    if sub.lease_owner is None or sub.lease_expires_at is None or sub.lease_expires_at <= now:
        return True
    return _owner_is_gone(sub.lease_owner)


# Payloads --------------------------------------------------------------------------------------------


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


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


Shaper = Callable[[dict[str, Any]], dict[str, Any]]

# The hot path (one payload after another) speaks Core on the session's connection: a handful of small
# statements per payload, without the ORM's per-object bookkeeping.
SUBSCRIPTIONS = cast_table(StreamSubscription)
DELIVERIES = cast_table(StreamDelivery)
ATTEMPTS = cast_table(StreamDeliveryAttempt)
CHANGES = cast_table(ChangeLogEntry)


def _prebuilt_statements() -> dict[str, Any]:
    """The per-payload statements, built once with bound parameters (building a statement costs more than
    running it on SQLite)."""
    d, s, c = DELIVERIES.c, SUBSCRIPTIONS.c, CHANGES.c

    def changes(data: Any) -> Any:
        return (
            select(c.seq, c.operation, c.entity_id, c.occurred_at, data)
            .where(c.entity == bindparam("entity"), c.seq > bindparam("after"))
            .where(c.occurred_at >= bindparam("since", type_=c.occurred_at.type))
            .order_by(c.seq)
            .limit(bindparam("size"))
        )

    return {
        # Without a template the JSON text is copied as is; a template needs the parsed value.
        "changes_raw": changes(cast(c.data, Text)),
        "changes_shaped": changes(c.data),
        "new_delivery": insert(DELIVERIES),
        "pending": select(d.id, d.attempts, d.record_count, d.first_seq, d.last_seq, d.payload)
        .where(d.subscription_id == bindparam("subscription_id"), d.status == PENDING)
        .order_by(d.first_seq)
        .limit(1),
        "renew": update(SUBSCRIPTIONS)
        .where(s.id == bindparam("subscription_id"), s.lease_owner == bindparam("owner"))
        .values(lease_expires_at=bindparam("until", type_=s.lease_expires_at.type)),
        "run_settings": select(
            s.entity, s.url, s.auth, s.cursor_seq, s.start_date, s.max_per_run, s.max_per_payload
        ).where(s.id == bindparam("subscription_id")),
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
        # Counters add what the attempt changed; the cursor only ever moves forward (to `cursor`, if larger).
        "subscription": update(SUBSCRIPTIONS)
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


_STATEMENTS = _prebuilt_statements()
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


def pending_payload(conn: Connection, subscription_id: int) -> Payload | None:
    """The payload built and not yet accepted: a subscription has at most one, and sends it first."""
    row = conn.execute(_STATEMENTS["pending"], {"subscription_id": subscription_id}).one_or_none()
    if row is None:
        return None
    return Payload(row.id, row.attempts, row.record_count, row.first_seq, row.last_seq, row.payload.encode())


@dataclass(frozen=True)
class Batch:
    """The records of the next payload, read and serialised, not yet stored."""

    key: tuple[int, int, datetime | None]  # (after seq, size, start date): what was read
    record_count: int
    first_seq: int
    last_seq: int
    body: bytes


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
    statement = _STATEMENTS["changes_shaped" if shape is not None else "changes_raw"]
    params = {"entity": entity, "after": after_seq, "since": start_date or _EPOCH, "size": size}
    rows = conn.execute(statement, params).all()
    if not rows:
        return None
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
            % (seq, operation.encode(), entity_json, id_json(entity_id), _iso(occurred_at).encode(), value)
        )
    body = b"[" + b",".join(records) + b"]"
    return Batch((after_seq, size, start_date), len(records), rows[0].seq, rows[-1].seq, body)


def store_payload(conn: Connection, subscription_id: int, batch: Batch) -> Payload:
    """Store a batch as the subscription's pending payload, under a new delivery id."""
    payload = Payload(
        f"dlv_{uuid.uuid4().hex}", 0, batch.record_count, batch.first_seq, batch.last_seq, batch.body
    )
    conn.execute(
        _STATEMENTS["new_delivery"],
        {
            "id": payload.delivery_id,
            "subscription_id": subscription_id,
            "status": PENDING,
            "attempts": 0,
            "record_count": payload.record_count,
            "first_seq": payload.first_seq,
            "last_seq": payload.last_seq,
            "payload": batch.body.decode(),
            "creation_date": utcnow(),
        },
    )
    return payload


class ReadAhead:
    """Reads the next batch while the current payload is on the wire (a POST mostly waits on the
    receiver). Nothing is stored ahead: the batch becomes a payload only in the transaction that records
    the current payload's acceptance, so there is still at most one pending payload, and a failure
    simply drops the batch. Reads run on their own read-only session (no write lock on SQLite)."""

    def __init__(self, sessions: Sessions, shape: Shaper | None) -> None:
        self.sessions = make_session_factory(sessions.kw["bind"], readonly=True)
        self.shape = shape
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="visitorhub-read-ahead")
        self.future: Future[Batch | None] | None = None

    @staticmethod
    def possible(sessions: Sessions) -> bool:
        """Only on an engine: sessions bound to one connection (tests) cannot share it across threads."""
        return isinstance(sessions.kw.get("bind"), Engine)

    def start(self, entity: str, after_seq: int, start_date: datetime | None, size: int) -> None:
        self.future = self.pool.submit(self._read, entity, after_seq, start_date, size)

    def _read(self, entity: str, after_seq: int, start_date: datetime | None, size: int) -> Batch | None:
        with unit_of_work(self.sessions) as session:
            return read_batch(session.connection(), entity, after_seq, start_date, size, self.shape)

    def take(self, key: tuple[int, int, datetime | None]) -> Batch | None:
        """The batch read ahead if it was read for `key` (else None: read it now)."""
        future, self.future = self.future, None
        if future is None:
            return None
        try:
            batch = future.result()
        except Exception:  # the inline read will meet the same problem and report it
            log.debug("streams.read_ahead_failed", exc_info=True)
            return None
        return batch if batch is not None and batch.key == key else None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def record_attempt(session: Session, delivery_id: str, attempt: Attempt, trigger: str) -> str:
    """Store one attempt and what follows from it: delivered (cursor moves on), failed, or dead (the
    attempt limit is reached: the payload is set aside, replayable, and the cursor moves on)."""
    conn = session.connection()
    row = conn.execute(_STATEMENTS["read"], {"delivery_id": delivery_id}).one_or_none()
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
        _STATEMENTS["delivery"],
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
        _STATEMENTS["attempt"],
        {
            "delivery_id": delivery_id,
            "number": number,
            "trigger": trigger,
            "outcome": "delivered" if attempt.delivered else "failed",
            "attempted_at": now,
            **details,
        },
    )
    conn.execute(
        _STATEMENTS["subscription"], {"subscription_id": row.subscription_id, "cursor": cursor, **counts}
    )
    return outcome


# Runs ------------------------------------------------------------------------------------------------


@dataclass
class PayloadOutcome:
    delivery_id: str
    attempt: int
    outcome: str
    http_status: int | None
    duration_ms: int
    record_count: int
    first_seq: int
    last_seq: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "deliveryId": self.delivery_id,
            "attempt": self.attempt,
            "outcome": self.outcome,
            "httpStatus": self.http_status,
            "durationMs": self.duration_ms,
            "recordCount": self.record_count,
            "firstSeq": self.first_seq,
            "lastSeq": self.last_seq,
            "error": self.error,
        }


@dataclass
class RunReport:
    subscription_id: int
    name: str
    stopped_because: str = "caught_up"
    payloads: list[PayloadOutcome] = field(default_factory=list)
    records_delivered: int = 0
    cursor: int = 0
    lag: int = 0
    error: str | None = None

    @property
    def outcome(self) -> str:
        if self.stopped_because == "busy":
            return "busy"
        failed = self.error is not None or any(p.outcome != "delivered" for p in self.payloads)
        return "failed" if failed else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscriptionId": self.subscription_id,
            "name": self.name,
            "outcome": self.outcome,
            "stoppedBecause": self.stopped_because,
            "error": self.error,
            "payloads": [p.as_dict() for p in self.payloads],
            "recordsDelivered": self.records_delivered,
            "cursor": self.cursor,
            "lag": self.lag,
        }


@dataclass(frozen=True)
class _Job:
    """What a POST needs, read in the transaction that prepared it (none is open while it runs)."""

    payload: Payload
    url: str
    headers: dict[str, str]


def _shaper(session: Session, sub: StreamSubscription) -> Shaper | None:
    if sub.template is None:
        return None
    from visitorhub.integration.streams.shaping import template_shaper

    return template_shaper(session, sub.template, sub.entity)


@dataclass
class _Run:
    """A run in progress: whose lease it holds, what it has sent, how it shapes records."""

    subscription_id: int
    owner: str
    settings: Settings
    shape: Shaper | None = None
    read_ahead: ReadAhead | None = None
    sent: int = 0

    def prepare(self, session: Session, none_pending: bool = False) -> _Job | str:
        """The next payload to send (the pending one first, else a new one), or why the run stops; renews
        the lease. `none_pending`: the caller has just settled the pending payload."""
        conn = session.connection()
        until = utcnow() + timedelta(seconds=self.settings.streams_lease_seconds)
        key = {"subscription_id": self.subscription_id}
        renewed = conn.execute(_STATEMENTS["renew"], {**key, "owner": self.owner, "until": until})
        sub = conn.execute(_STATEMENTS["run_settings"], key).one_or_none()
        if sub is None:
            return "deleted"
        if renewed.rowcount != 1:  # taken over after our lease expired
            return "lease_lost"
        remaining = sub.max_per_run - self.sent
        payload = None if none_pending else pending_payload(conn, self.subscription_id)
        if payload is None:
            if remaining <= 0:
                return "max_per_run"
            size = min(sub.max_per_payload, remaining)
            wanted = (sub.cursor_seq, size, sub.start_date)
            batch = self.read_ahead.take(wanted) if self.read_ahead is not None else None
            if batch is None:
                batch = read_batch(conn, sub.entity, sub.cursor_seq, sub.start_date, size, self.shape)
            if batch is None:
                return "caught_up"
            payload = store_payload(conn, self.subscription_id, batch)
        elif self.sent > 0 and payload.record_count > remaining:
            return "max_per_run"
        if self.read_ahead is not None:
            following = min(sub.max_per_payload, remaining - payload.record_count)
            if following > 0:
                self.read_ahead.start(sub.entity, payload.last_seq, sub.start_date, following)
        headers = request_headers(load_auth(sub.auth), payload.delivery_id, payload.body)
        return _Job(payload, sub.url, headers)


def run_subscription(
    sessions: Sessions,
    subscription_id: int,
    settings: Settings,
    sender: Sender,
    stop: threading.Event | None = None,
) -> RunReport:
    """One run: send payloads in seq order until caught up, `maxPerRun` records, a failure, or `stop`."""
    run = _Run(subscription_id, new_owner(), settings)
    with unit_of_work(sessions) as session:
        sub = session.get(StreamSubscription, subscription_id, with_for_update=True)
        if sub is None:
            raise NotFound(f"Subscription {subscription_id} does not exist.", field="subscriptionId")
        report = RunReport(subscription_id, sub.name)
        now = utcnow()
        if not _lease_free(sub, now):
            report.stopped_because = "busy"
            report.cursor, report.lag = sub.cursor_seq, lag(session, sub)
            return report
        try:
            # Resolved once a run: a template changed meanwhile applies from the next run on.
            run.shape = _shaper(session, sub)
        except AppError as exc:  # e.g. its template was deleted: a configuration error, reported
            report.stopped_because, report.error = "error", exc.message
            report.cursor, report.lag = sub.cursor_seq, lag(session, sub)
            log.error("streams.run_failed subscription=%s error=%s", report.name, exc.message)
            return report
        sub.lease_owner = run.owner
        sub.lease_expires_at = now + timedelta(seconds=settings.streams_lease_seconds)
        sub.last_run_at = now
    if ReadAhead.possible(sessions):
        run.read_ahead = ReadAhead(sessions, run.shape)
    try:
        _send_payloads(sessions, run, sender, stop, report)
    finally:
        if run.read_ahead is not None:
            run.read_ahead.close()
        with unit_of_work(sessions) as session:
            session.execute(
                update(StreamSubscription)
                .where(StreamSubscription.id == subscription_id, StreamSubscription.lease_owner == run.owner)
                .values(lease_owner=None, lease_expires_at=None)
            )
            sub = session.get(StreamSubscription, subscription_id)
            if sub is not None:
                report.cursor, report.lag = sub.cursor_seq, lag(session, sub)
    log.info(
        "streams.run subscription=%s outcome=%s stopped=%s payloads=%d records=%d lag=%d",
        report.name,
        report.outcome,
        report.stopped_because,
        len(report.payloads),
        report.records_delivered,
        report.lag,
    )
    return report


def _send_payloads(
    sessions: Sessions, run: _Run, sender: Sender, stop: threading.Event | None, report: RunReport
) -> None:
    """POST payload after payload. The transaction that records an answer also prepares the next payload:
    one commit per payload, and still none open during a POST."""
    with unit_of_work(sessions) as session:
        job = run.prepare(session)
    while isinstance(job, _Job):
        payload = job.payload
        attempt = sender.post(job.url, job.headers, payload.body)
        with unit_of_work(sessions) as session:
            outcome = record_attempt(session, payload.delivery_id, attempt, "run")
            report.payloads.append(
                PayloadOutcome(
                    payload.delivery_id,
                    payload.attempts + 1,
                    outcome,
                    attempt.http_status,
                    attempt.duration_ms,
                    payload.record_count,
                    payload.first_seq,
                    payload.last_seq,
                    attempt.error,
                )
            )
            if outcome != "delivered":
                job = "dead_letter" if outcome == "dead" else "failure"
            else:
                run.sent += payload.record_count
                report.records_delivered += payload.record_count
                stopping = stop is not None and stop.is_set()
                job = "shutdown" if stopping else run.prepare(session, none_pending=True)
    report.stopped_because = job


def replay_delivery(sessions: Sessions, delivery_id: str, sender: Sender) -> PayloadOutcome:
    """Send a past or dead-lettered payload again now: same body, same id. A pending one is sent by the
    runs, in order, so it cannot be replayed out of turn."""
    with unit_of_work(sessions) as session:
        delivery = session.get(StreamDelivery, delivery_id)
        if delivery is None:
            raise NotFound(f"Delivery {delivery_id} does not exist.", field="deliveryId")
        if delivery.status == PENDING:
            raise Conflict(
                f"Delivery {delivery_id} is still pending: the subscription's next run sends it "
                "(POST /integration/subscriptions/{subscriptionId}/run to run it now).",
                field="deliveryId",
                code="delivery_pending",
            )
        sub = session.get(StreamSubscription, delivery.subscription_id)
        assert sub is not None
        body = delivery.payload.encode()
        headers = request_headers(load_auth(sub.auth), delivery.id, body)
        url, attempt_number = sub.url, delivery.attempts + 1
        counts = (delivery.record_count, delivery.first_seq, delivery.last_seq)
    attempt = sender.post(url, headers, body)
    with unit_of_work(sessions) as session:
        outcome = record_attempt(session, delivery_id, attempt, "replay")
    return PayloadOutcome(
        delivery_id, attempt_number, outcome, attempt.http_status, attempt.duration_ms, *counts, attempt.error
    )


def run_all(
    sessions: Sessions,
    settings: Settings,
    sender: Sender,
    subscription_ids: list[int],
    stop: threading.Event | None = None,
) -> list[RunReport]:
    reports = []
    for subscription_id in subscription_ids:
        if stop is not None and stop.is_set():
            break
        try:
            reports.append(run_subscription(sessions, subscription_id, settings, sender, stop))
        except NotFound:  # deleted since it was listed
            continue
    return reports


def enabled_ids(sessions: Sessions) -> list[int]:
    with unit_of_work(sessions) as session:
        stmt = select(StreamSubscription.id).where(StreamSubscription.enabled.is_(True))
        return list(session.scalars(stmt.order_by(StreamSubscription.id)))


def make_sender(settings: Settings) -> Sender:
    return Sender(settings)
