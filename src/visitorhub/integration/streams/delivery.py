"""One run of a subscription: change log after the cursor -> frozen payloads -> POST -> acknowledge.

Why nothing is lost or reordered:
- A payload is built and stored (status pending, with its id and exact body) in a transaction that
  commits before the POST; a later run or a restart after a crash finds it and sends it again, the same
  bytes under the same id. A subscription has at most one pending payload, and sends it before building
  the next one.
- The cursor moves past a payload only in the transaction that records its 2xx (or its dead-lettering).
- No transaction is open during a POST, so a slow receiver never holds a database lock.
- One run at a time per subscription: a run holds a lease on the subscription (leases.py).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from visitorhub.config import Settings
from visitorhub.core.db import unit_of_work, utcnow
from visitorhub.core.secrets import SecretUnavailable, secret_box
from visitorhub.errors import AppError, Conflict, NotFound
from visitorhub.integration.streams.auth import NoAuth, ReceiverAuth, load_auth, request_headers
from visitorhub.integration.streams.leases import lease_free, new_owner
from visitorhub.integration.streams.payloads import (
    Payload,
    RunSettings,
    Sessions,
    Shaper,
    pending_payload,
    read_batch,
    record_accepted,
    record_attempt,
    renew_lease,
    store_payload,
)
from visitorhub.integration.streams.sender import Attempt, Sender
from visitorhub.integration.streams.service import PENDING, lag
from visitorhub.models.stream import StreamDelivery, StreamPayload, StreamSubscription

log = logging.getLogger("visitorhub.streams")


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
    auth: ReceiverAuth = field(default_factory=NoAuth)
    shape: Shaper | None = None
    sent: int = 0

    @property
    def lease_until(self) -> datetime:
        return utcnow() + timedelta(seconds=self.settings.streams_lease_seconds)

    def prepare(self, session: Session, sub: RunSettings | str | None = None) -> _Job | str:
        """The next payload to send (the pending one first, else a new one), or why the run stops.
        `sub`: the settings read as the previous payload was accepted (then none is pending, and the lease
        was renewed); otherwise the lease is renewed here."""
        conn = session.connection()
        none_pending = sub is not None
        if sub is None:
            sub = renew_lease(conn, self.subscription_id, self.owner, self.lease_until)
        if isinstance(sub, str):
            return sub
        remaining = sub.max_per_run - self.sent
        payload = None if none_pending else pending_payload(conn, self.subscription_id)
        if payload is None:
            if remaining <= 0:
                return "max_per_run"
            size = min(sub.max_per_payload, remaining)
            batch = read_batch(conn, sub.entity, sub.cursor_seq, sub.start_date, size, self.shape)
            if batch is None:
                return "caught_up"
            payload = store_payload(conn, self.subscription_id, batch)
        elif self.sent > 0 and payload.record_count > remaining:
            return "max_per_run"
        headers = request_headers(self.auth, payload.delivery_id, payload.body)
        return _Job(payload, sub.url, headers)

    def settle(
        self, session: Session, payload: Payload, attempt: Attempt
    ) -> tuple[str, RunSettings | str | None]:
        """Record the answer to `payload`: its outcome, and (accepted) the settings for the next one."""
        if attempt.delivered:
            conn = session.connection()
            accepted = record_accepted(
                conn, self.subscription_id, payload, attempt, self.owner, self.lease_until
            )
            if accepted is not None:
                return "delivered", accepted
        return record_attempt(session, payload.delivery_id, attempt, "run"), None


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
        if not lease_free(sub, now):
            report.stopped_because = "busy"
            report.cursor, report.lag = sub.cursor_seq, lag(session, sub)
            return report
        try:
            # Resolved once a run: auth or a template changed meanwhile apply from the next run on.
            run.auth = load_auth(sub.auth, secret_box(settings.secrets_key))
            run.shape = _shaper(session, sub)
        except (AppError, SecretUnavailable) as exc:  # a configuration error (template gone, key missing)
            message = exc.message if isinstance(exc, AppError) else str(exc)
            report.stopped_because, report.error = "error", message
            report.cursor, report.lag = sub.cursor_seq, lag(session, sub)
            log.error("streams.run_failed subscription=%s error=%s", report.name, message)
            return report
        sub.lease_owner = run.owner
        sub.lease_expires_at = now + timedelta(seconds=settings.streams_lease_seconds)
        sub.last_run_at = now
    try:
        _send_payloads(sessions, run, sender, stop, report)
    finally:
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
            outcome, settings = run.settle(session, payload, attempt)
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
                job = "shutdown" if stopping else run.prepare(session, settings)
    report.stopped_because = job


def replay_delivery(
    sessions: Sessions, delivery_id: str, settings: Settings, sender: Sender
) -> PayloadOutcome:
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
        try:
            auth = load_auth(sub.auth, secret_box(settings.secrets_key))
        except SecretUnavailable as exc:
            raise Conflict(f"Cannot replay: {exc}.", field="deliveryId", code="secret_unavailable") from None
        stored = session.get(StreamPayload, delivery_id)
        assert stored is not None
        body = stored.body.encode()
        headers = request_headers(auth, delivery.id, body)
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
