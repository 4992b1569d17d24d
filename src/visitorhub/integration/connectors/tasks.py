"""Worker task: sync every enabled connector that is due (event ones every tick, batch ones every
intervalMinutes)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings
from visitorhub.core.db import unit_of_work, utcnow
from visitorhub.errors import Conflict, NotFound
from visitorhub.integration.connectors.sync import SyncOptions, sync_connector
from visitorhub.models import Connector
from visitorhub.worker.claims import claim_due
from visitorhub.worker.registry import TaskContext, periodic

log = logging.getLogger("visitorhub.connectors")

# One connector at a time: side-by-side workers share a burst of due connectors.
CLAIM_BATCH = 1


def claim_due_connectors(
    sessions: sessionmaker[Session], settings: Settings, limit: int = CLAIM_BATCH
) -> list[int]:
    """Enabled connectors whose time has come, with their next sync set: a poll from now for event
    connectors (the change log is looked at every few seconds), an interval from now for batch ones."""
    with unit_of_work(sessions) as session:
        now = utcnow()
        due = (
            select(Connector)
            .where(
                Connector.enabled.is_(True),
                or_(Connector.next_run_at.is_(None), Connector.next_run_at <= now),
            )
            .order_by(Connector.next_run_at, Connector.id)
            .limit(limit)
        )
        rows = claim_due(session, due)
        for row in rows:
            wait = (
                timedelta(seconds=settings.worker_poll_seconds)
                if row.schedule == "event"
                else timedelta(minutes=row.interval_minutes)
            )
            row.next_run_at = now + wait
        return [row.id for row in rows]


@periodic("connectors.sync_due")
def sync_due(ctx: TaskContext) -> None:
    synced: set[int] = set()
    while not ctx.stop.is_set():
        # Each connector at most once a tick: an event connector whose sync outlasts the poll is due
        # again at once, and would keep the other tasks waiting.
        due = claim_due_connectors(ctx.sessions, ctx.settings)
        if not due or synced.issuperset(due):
            return
        synced.update(due)
        for connector_id in due:
            try:
                sync_connector(
                    ctx.sessions,
                    connector_id,
                    ctx.settings,
                    SyncOptions(trigger="schedule", scheduled=True),
                    stop=ctx.stop,
                )
            except (Conflict, NotFound):  # synced by someone else right now, or deleted since
                continue
