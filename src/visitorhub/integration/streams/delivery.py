"""One run of a subscription: change log after the cursor -> stored payloads -> POST -> acknowledge.

Why nothing is lost or reordered:
- A payload is stored (status pending, its id and seq range) in a transaction that commits before it is
  POSTed; a later run, or a restart after a crash, finds it and sends it again: the same records under
  the same id. Pending payloads cover consecutive seq ranges after the cursor and are sent oldest first;
  a payload is POSTed only once the one before it was accepted.
- The cursor moves past a payload only in the transaction that records its 2xx (or its dead-lettering).
- No transaction is open during a POST, so a slow receiver never holds a database lock.
- One run at a time per subscription: a run holds a lease on the subscription (leases.py).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from visitorhub.config import Settings
from visitorhub.core.db import get_or_404, unit_of_work, utcnow
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
    stored_body,
)
from visitorhub.integration.streams.schemas import PayloadOutcome, RunReport
from visitorhub.integration.streams.sender import Attempt, Sender
from visitorhub.integration.streams.service import PENDING, get_delivery, lag
from visitorhub.models.stream import StreamSubscription

log = logging.getLogger("visitorhub.streams")


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
    sub: RunSettings | None = None  # as of the last lease renewal
    lease_left_at: float = 0.0  # time.monotonic() when the lease must be renewed by
    built_up_to: int | None = None  # last seq of the newest payload this run stored: none waits after it

    def renew(self, conn: Connection) -> RunSettings | str:
        """Renew the lease when the next POST could outlast it (and read the settings again)."""
        timeout = self.settings.streams_timeout_seconds
        if self.sub is not None and self.lease_left_at - time.monotonic() > timeout + 1:
            return self.sub
        lease = self.settings.streams_lease_seconds
        renewed = renew_lease(conn, self.subscription_id, self.owner, utcnow() + timedelta(seconds=lease))
        if isinstance(renewed, RunSettings):
            self.sub, self.lease_left_at = renewed, time.monotonic() + lease
        return renewed

    def prepare(self, session: Session, after: Payload | None = None) -> _Job | str:
        """The payload to send after `after` (at the start: after the cursor), or why the run stops:
        the oldest one waiting, else a new one, stored."""
        conn = session.connection()
        sub = self.renew(conn)
        if isinstance(sub, str):
            return sub
        sent = self.sent + (after.record_count if after is not None else 0)  # accepted or on the wire
        remaining = sub.max_per_run - sent
        after_seq = after.last_seq if after is not None else sub.cursor_seq
        payload = None
        if self.built_up_to is None or after_seq < self.built_up_to:
            payload = pending_payload(conn, self.subscription_id, after_seq)
        if payload is None:
            if remaining <= 0:
                return "max_per_run"
            size = min(sub.max_per_payload, remaining)
            batch = read_batch(conn, sub.entity, after_seq, sub.start_date, size, self.shape)
            if batch is None:
                return "caught_up"
            payload = store_payload(conn, self.subscription_id, batch)
            self.built_up_to = payload.last_seq
        elif sent > 0 and payload.record_count > remaining:
            return "max_per_run"
        headers = request_headers(self.auth, payload.delivery_id, payload.body)
        return _Job(payload, sub.url, headers)

    def settle(self, session: Session, payload: Payload, attempt: Attempt, report: RunReport) -> str:
        """Record the answer to `payload` (and add it to the report); its outcome: delivered, failed or
        dead."""
        if attempt.delivered and record_accepted(
            session.connection(), self.subscription_id, payload, attempt
        ):
            outcome = "delivered"
        else:
            outcome = record_attempt(session, payload.delivery_id, attempt, "run")
        report.payloads.append(
            PayloadOutcome(
                delivery_id=payload.delivery_id,
                attempt=payload.attempts + 1,
                outcome=outcome,
                http_status=attempt.http_status,
                duration_ms=attempt.duration_ms,
                record_count=payload.record_count,
                first_seq=payload.first_seq,
                last_seq=payload.last_seq,
                error=attempt.error,
            )
        )
        if outcome == "delivered":
            self.sent += payload.record_count
            report.records_delivered += payload.record_count
        return outcome


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
        sub = get_or_404(
            session,
            StreamSubscription,
            subscription_id,
            with_for_update=True,
            what=f"Subscription {subscription_id}",
            field="subscriptionId",
        )
        report = RunReport(subscription_id=subscription_id, name=sub.name)
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
            latest = session.get(StreamSubscription, subscription_id)
            if latest is not None:
                report.cursor, report.lag = latest.cursor_seq, lag(session, latest)
    failed = report.outcome == "failed"
    reason = report.error or next((p.error for p in reversed(report.payloads) if p.error), None)
    log.log(
        logging.WARNING if failed else logging.INFO,
        "streams.run subscription=%s outcome=%s stopped=%s payloads=%d records=%d lag=%d%s",
        report.name,
        report.outcome,
        report.stopped_because,
        len(report.payloads),
        report.records_delivered,
        report.lag,
        f" error={reason}" if failed and reason else "",
    )
    return report


def _send_payloads(
    sessions: Sessions, run: _Run, sender: Sender, stop: threading.Event | None, report: RunReport
) -> None:
    """POST payload after payload, each once the one before is accepted. While one is on the wire, the
    previous answer is recorded and the next payload is built and stored, in one transaction (a crash then
    finds it and sends it, same id); once the receiver accepts one, the next leaves at once. No
    transaction is open during a POST; the receiver sees payloads strictly in order."""

    def stopping() -> bool:
        return stop is not None and stop.is_set()

    with unit_of_work(sessions) as session:
        job = run.prepare(session)
    if isinstance(job, str):
        report.stopped_because = job
        return
    flight = sender.submit(job.url, job.headers, job.payload.body)
    accepted: tuple[Payload, Attempt] | None = None  # the previous payload: a 2xx not recorded yet
    while True:
        with unit_of_work(sessions) as session:
            if accepted is not None:
                run.settle(session, *accepted, report)
            following = "shutdown" if stopping() else run.prepare(session, after=job.payload)
        attempt = flight.result()
        if attempt.refused:  # the policy refused the address: no attempt made, the payload waits
            report.stopped_because, report.error = "error", attempt.error
            return
        if attempt.delivered and isinstance(following, _Job) and not stopping():
            flight = sender.submit(following.url, following.headers, following.payload.body)
            accepted, job = (job.payload, attempt), following
            continue
        with unit_of_work(sessions) as session:  # the run ends with this answer
            outcome = run.settle(session, job.payload, attempt, report)
        if outcome != "delivered":
            report.stopped_because = "dead_letter" if outcome == "dead" else "failure"
        else:
            report.stopped_because = following if isinstance(following, str) else "shutdown"
        return


def replay_delivery(
    sessions: Sessions, delivery_id: str, settings: Settings, sender: Sender
) -> PayloadOutcome:
    """Send a past or dead-lettered payload again now: same body, same id. A pending one is sent by the
    runs, in order, so it cannot be replayed out of turn."""
    with unit_of_work(sessions) as session:
        delivery = get_delivery(session, delivery_id)
        if delivery.status == PENDING:
            raise Conflict(
                f"Delivery {delivery_id} is still pending: the subscription's next run sends it "
                f"(POST /integration/subscriptions/{delivery.subscription_id}/run to run it now).",
                field="deliveryId",
                code="delivery_pending",
            )
        sub = session.get(StreamSubscription, delivery.subscription_id)
        assert sub is not None
        try:
            auth = load_auth(sub.auth, secret_box(settings.secrets_key))
        except SecretUnavailable as exc:
            raise Conflict(f"Cannot replay: {exc}.", field="deliveryId", code="secret_unavailable") from None
        body = stored_body(session.connection(), delivery_id)
        assert body is not None
        headers = request_headers(auth, delivery.id, body)
        url, attempt_number = sub.url, delivery.attempts + 1
        seqs = {
            "record_count": delivery.record_count,
            "first_seq": delivery.first_seq,
            "last_seq": delivery.last_seq,
        }
    attempt = sender.post(url, headers, body)
    if attempt.refused:  # a configuration error, not an attempt: nothing is recorded
        raise Conflict(
            f"Cannot replay delivery {delivery_id}: the subscription's url is refused: {attempt.error}.",
            field="url",
            code="unsafe_url",
        )
    with unit_of_work(sessions) as session:
        outcome = record_attempt(session, delivery_id, attempt, "replay")
    return PayloadOutcome(
        delivery_id=delivery_id,
        attempt=attempt_number,
        outcome=outcome,
        http_status=attempt.http_status,
        duration_ms=attempt.duration_ms,
        error=attempt.error,
        **seqs,
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
