"""SQLite: the indexes over lower() rebuilt with a lower() that folds every letter (core.db.unicode_lower)

SQLite's built-in lower() folds ASCII letters only: its unique indexes over lower(email), lower(value)...
took `Émile@example.com` and `émile@example.com`, or `Électricité` and `électricité`, for two values where
PostgreSQL (and the services, which compare with Python's str.lower) see one. Every connection now defines
lower() as Python's; the indexes built with the old one are rebuilt. Rows that the new one makes equal
under a unique index stop the upgrade, named, before anything changes: which one to keep is the operator's
call (rename or delete the others, then upgrade again). PostgreSQL: nothing to do.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 19:30:00
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from alembic import op

from visitorhub.migrations import UpgradeStopped

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHOWN = 10  # colliding values named per index


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.dbapi_connection
    assert driver is not None
    indexes = driver.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '%lower(%' ORDER BY name"
    ).fetchall()
    problems = [problem for name, table, sql in indexes if (problem := _collisions(driver, name, table, sql))]
    if problems:
        raise UpgradeStopped(
            "Upgrade stopped, nothing changed: these rows hold values that differ only by the case of "
            "non-ASCII letters, which a unique index now takes for one value (as PostgreSQL does). Rename or "
            "delete all but one of each, then run `visitorhub db upgrade` again.\n" + "\n".join(problems)
        )
    for name, _table, _sql in indexes:
        driver.execute(f'REINDEX "{name}"')


def _collisions(driver: Any, name: str, table: str, sql: str) -> str | None:
    """The values that a unique index over lower() now finds more than once, as a line of the error
    (computed from the table: the index holds what the old lower() made)."""
    if not re.match(r"\s*CREATE\s+UNIQUE\s+INDEX", sql, re.IGNORECASE):
        return None
    expressions = sql[sql.index("(", sql.upper().index(" ON ")) + 1 : sql.rindex(")")]
    rows = driver.execute(
        f'SELECT {expressions}, count(*) FROM "{table}" NOT INDEXED GROUP BY {expressions} HAVING count(*) > 1 '
        f"LIMIT {SHOWN + 1}"
    ).fetchall()
    if not rows:
        return None
    shown = ", ".join(repr(row[:-1] if len(row) > 2 else row[0]) for row in rows[:SHOWN])
    more = " and more" if len(rows) > SHOWN else ""
    return f"- {table} ({name}, {expressions}): {shown}{more}"


def downgrade() -> None:
    pass  # the indexes stay as rebuilt: the old lower() is not what the connections define any more
