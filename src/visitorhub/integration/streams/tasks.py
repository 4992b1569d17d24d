"""Worker task: run every subscription that is due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from visitorhub.core.db import unit_of_work, utcnow
from visitorhub.integration.streams.delivery import run_all
from visitorhub.integration.streams.sender import Sender
from visitorhub.models.stream import StreamSubscription
from visitorhub.worker.claims import claim_due
from visitorhub.worker.registry import TaskContext, periodic

# Claim one subscription at a time: side-by-side workers then share a burst of due subscriptions instead of
# the first one taking them all.
CLAIM_BATCH = 1


def claim_due_subscriptions(sessions: sessionmaker[Session], limit: int = CLAIM_BATCH) -> list[int]:
    """Enabled subscriptions whose time has come, with their next run set an interval from now: a
    subscription is claimed by one worker per interval."""
    with unit_of_work(sessions) as session:
        now = utcnow()
        due = (
            select(StreamSubscription)
            .where(
                StreamSubscription.enabled.is_(True),
                or_(StreamSubscription.next_run_at.is_(None), StreamSubscription.next_run_at <= now),
            )
            .order_by(StreamSubscription.next_run_at, StreamSubscription.id)
            .limit(limit)
        )
        subs = claim_due(session, due)
        for sub in subs:
            sub.next_run_at = now + timedelta(minutes=sub.interval_minutes)
        return [sub.id for sub in subs]


@periodic("streams.run_due")
def run_due(ctx: TaskContext) -> None:
    sender = ctx.keep("streams.sender", lambda: Sender(ctx.settings))
    while not ctx.stop.is_set():
        due = claim_due_subscriptions(ctx.sessions)
        if not due:
            return
        run_all(ctx.sessions, ctx.settings, sender, due, ctx.stop)
