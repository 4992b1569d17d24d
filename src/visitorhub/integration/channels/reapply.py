"""Reapplying a channel's records: its quarantined ones after a template fix, or those it stored before it
had a template, through its current template, a committed chunk at a time in the writer's turn."""

from __future__ import annotations

from visitorhub.core.db import unit_of_work
from visitorhub.core.service import WriteContext
from visitorhub.errors import Conflict
from visitorhub.integration.channels import receiving, service
from visitorhub.integration.channels.committer import GroupCommitter
from visitorhub.integration.channels.schemas import ReapplyError, ReapplyReport


def reapply(writer: GroupCommitter, channel_id: int, status: str) -> ReapplyReport:
    """Every record of the channel in `status` through its template, one committed chunk at a time (each
    in the writer's turn, between payloads); raises Conflict when the channel has no template."""
    outcome = receiving.Outcome()
    after: str | None = None
    while True:
        with writer.turn(), unit_of_work(writer.sessions) as session:
            channel = service.get_channel(session, channel_id)
            if channel.template is None:
                raise Conflict(
                    f"Channel '{channel.name}' has no template to apply its records with; set one first.",
                    field="template",
                    code="no_template",
                )
            ctx = WriteContext(actor=f"channel:{channel.name}")
            after = receiving.reapply_chunk(session, channel, status, after, ctx, outcome)
        if after is None:
            break
    errors = [ReapplyError(record_id=rid, source_id=sid, error=error) for rid, sid, error in outcome.errors]
    return ReapplyReport(
        status=status,
        reapplied=outcome.accepted,
        applied=outcome.applied,
        quarantined=outcome.quarantined,
        errors=errors,
    )
