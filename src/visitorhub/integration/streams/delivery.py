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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings
from visitorhub.core.db import unit_of_work, utcnow
from visitorhub.core.http import UnsafeTarget, check_url_on_send, make_client, send_pinned
from visitorhub.domains import all_resources
from visitorhub.errors import AppError, Conflict, NotFound
from visitorhub.integration.streams.auth import load_auth, request_headers
from visitorhub.integration.streams.service import DEAD, DELIVERED, PENDING, lag, open_delivery
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


def _id_casts() -> dict[str, Callable[[str], Any]]:
    """Entity -> how its change-log id (text) is written in a record: as the API writes that id."""
    casts: dict[str, Callable[[str], Any]] = {}
    for resource in all_resources().values():
        service = resource.service
        column = getattr(service.model, service.pk_attr)
        casts[resource.entity] = int if column.type.python_type is int else str
    return casts


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


Shaper = Callable[[dict[str, Any]], dict[str, Any]]


def build_delivery(
    session: Session, sub: StreamSubscription, size: int, shape: Shaper | None = None
) -> StreamDelivery | None:
    """The next payload after the cursor (at most `size` records), stored pending; None when caught up."""
    log_ = ChangeLogEntry
    stmt = select(log_.seq, log_.operation, log_.entity_id, log_.occurred_at, log_.data).where(
        log_.entity == sub.entity, log_.seq > sub.cursor_seq
    )
    if sub.start_date is not None:
        stmt = stmt.where(log_.occurred_at >= sub.start_date)
    rows = session.execute(stmt.order_by(log_.seq).limit(size)).all()
    if not rows:
        return None
    cast = _id_casts().get(sub.entity, str)
    records = [
        {
            "seq": seq,
            "operation": operation,
            "entity": sub.entity,
            "entityId": cast(entity_id),
            "occurredAt": _iso(occurred_at),
            "data": shape(data) if shape is not None and data is not None else data,
        }
        for seq, operation, entity_id, occurred_at, data in rows
    ]
    delivery = StreamDelivery(
        id=f"dlv_{uuid.uuid4().hex}",
        subscription_id=sub.id,
        status=PENDING,
        attempts=0,
        record_count=len(records),
        first_seq=rows[0].seq,
        last_seq=rows[-1].seq,
        payload=orjson.dumps(records).decode(),
        creation_date=utcnow(),
    )
    session.add(delivery)
    session.flush()
    return delivery


def record_attempt(session: Session, delivery_id: str, attempt: Attempt, trigger: str) -> str:
    """Store one attempt and what follows from it: delivered (cursor moves on), failed, or dead (the
    attempt limit is reached: the payload is set aside, replayable, and the cursor moves on)."""
    delivery = session.get(StreamDelivery, delivery_id)
    if delivery is None:  # its subscription was deleted meanwhile
        return "delivered" if attempt.delivered else "failed"
    sub = session.get(StreamSubscription, delivery.subscription_id)
    assert sub is not None
    now = utcnow()
    delivery.attempts += 1
    delivery.http_status = attempt.http_status
    delivery.duration_ms = attempt.duration_ms
    delivery.error = attempt.error
    delivery.response_excerpt = attempt.excerpt
    delivery.last_attempt_at = now
    session.add(
        StreamDeliveryAttempt(
            delivery_id=delivery.id,
            number=delivery.attempts,
            trigger=trigger,
            outcome="delivered" if attempt.delivered else "failed",
            http_status=attempt.http_status,
            duration_ms=attempt.duration_ms,
            error=attempt.error,
            response_excerpt=attempt.excerpt,
            attempted_at=now,
        )
    )
    outcome = "delivered" if attempt.delivered else "failed"
    if attempt.delivered:
        sub.attempts_delivered += 1
        if delivery.status != DELIVERED:
            delivery.status = DELIVERED
            delivery.delivered_at = now
            sub.records_delivered += delivery.record_count
        sub.cursor_seq = max(sub.cursor_seq, delivery.last_seq)
    else:
        sub.attempts_failed += 1
        if delivery.status == PENDING and delivery.attempts >= sub.max_attempts:
            delivery.status = DEAD
            delivery.dead_at = now
            sub.payloads_dead += 1
            sub.cursor_seq = max(sub.cursor_seq, delivery.last_seq)
            outcome = "dead"
            log.warning(
                "streams.dead_letter subscription=%s delivery=%s seq=%d..%d records=%d attempts=%d error=%s",
                sub.name,
                delivery.id,
                delivery.first_seq,
                delivery.last_seq,
                delivery.record_count,
                delivery.attempts,
                attempt.error,
            )
    session.flush()
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

    delivery_id: str
    url: str
    headers: dict[str, str]
    body: bytes
    attempt: int
    record_count: int
    first_seq: int
    last_seq: int


def _shaper(session: Session, sub: StreamSubscription) -> Shaper | None:
    if sub.template is None:
        return None
    from visitorhub.integration.streams.shaping import template_shaper

    return template_shaper(session, sub.template, sub.entity)


def _prepare(session: Session, subscription_id: int, owner: str, sent: int, settings: Settings) -> _Job | str:
    """The next payload to send (pending first, else a new one), or why the run stops."""
    sub = session.get(StreamSubscription, subscription_id)
    if sub is None:
        return "deleted"
    if sub.lease_owner != owner:
        return "lease_lost"
    remaining = sub.max_per_run - sent
    delivery = open_delivery(session, sub)
    if delivery is None:
        if remaining <= 0:
            return "max_per_run"
        delivery = build_delivery(session, sub, min(sub.max_per_payload, remaining), _shaper(session, sub))
        if delivery is None:
            return "caught_up"
    elif sent > 0 and delivery.record_count > remaining:
        return "max_per_run"
    sub.lease_expires_at = utcnow() + timedelta(seconds=settings.streams_lease_seconds)
    body = delivery.payload.encode()
    return _Job(
        delivery_id=delivery.id,
        url=sub.url,
        headers=request_headers(load_auth(sub.auth), delivery.id, body),
        body=body,
        attempt=delivery.attempts + 1,
        record_count=delivery.record_count,
        first_seq=delivery.first_seq,
        last_seq=delivery.last_seq,
    )


def run_subscription(
    sessions: Sessions,
    subscription_id: int,
    settings: Settings,
    sender: Sender,
    stop: threading.Event | None = None,
) -> RunReport:
    """One run: send payloads in seq order until caught up, `maxPerRun` records, a failure, or `stop`."""
    owner = new_owner()
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
        sub.lease_owner = owner
        sub.lease_expires_at = now + timedelta(seconds=settings.streams_lease_seconds)
        sub.last_run_at = now
    try:
        _send_payloads(sessions, subscription_id, owner, settings, sender, stop, report)
    except AppError as exc:  # e.g. its template was deleted: a configuration error, reported
        report.stopped_because, report.error = "error", exc.message
        log.error("streams.run_failed subscription=%s error=%s", report.name, exc.message)
    finally:
        with unit_of_work(sessions) as session:
            session.execute(
                update(StreamSubscription)
                .where(StreamSubscription.id == subscription_id, StreamSubscription.lease_owner == owner)
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
    sessions: Sessions,
    subscription_id: int,
    owner: str,
    settings: Settings,
    sender: Sender,
    stop: threading.Event | None,
    report: RunReport,
) -> None:
    sent = 0
    while True:
        if stop is not None and stop.is_set():
            report.stopped_because = "shutdown"
            return
        with unit_of_work(sessions) as session:
            job = _prepare(session, subscription_id, owner, sent, settings)
        if isinstance(job, str):
            report.stopped_because = job
            return
        attempt = sender.post(job.url, job.headers, job.body)
        with unit_of_work(sessions) as session:
            outcome = record_attempt(session, job.delivery_id, attempt, "run")
        report.payloads.append(
            PayloadOutcome(
                job.delivery_id,
                job.attempt,
                outcome,
                attempt.http_status,
                attempt.duration_ms,
                job.record_count,
                job.first_seq,
                job.last_seq,
                attempt.error,
            )
        )
        if outcome != "delivered":
            report.stopped_because = "dead_letter" if outcome == "dead" else "failure"
            return
        sent += job.record_count
        report.records_delivered += job.record_count


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
