"""The change-log readers connectors need that `core.changelog` does not offer yet.

# CORE-CANDIDATE: `entities_after` belongs in core.changelog (the one module that reads the change log); it
# lives here until the integrator moves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core import changelog


class Change(NamedTuple):
    seq: int
    entity: str
    entity_id: str
    data: Any


# CORE-CANDIDATE
def entities_after(session: Session, after: int, entities: Sequence[str], limit: int) -> list[Change]:
    """Change records of any of `entities` after seq `after`, oldest first, at most `limit` of them:
    seq, entity, entity id and the representation (without building ORM objects)."""
    c = changelog.CHANGES.c
    stmt = (
        select(c.seq, c.entity, c.entity_id, c.data)
        .where(c.seq > after, c.entity.in_(list(entities)))
        .order_by(c.seq)
        .limit(limit)
    )
    return [Change(*row) for row in session.execute(stmt)]


def pending(session: Session, after: int, entities: Sequence[str]) -> int:
    """How many change records of `entities` come after seq `after` (the connector's lag)."""
    return sum(changelog.count_after(session, entity, after) for entity in entities)
