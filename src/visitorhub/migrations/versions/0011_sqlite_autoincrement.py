"""sqlite autoincrement: on SQLite, tables whose integer key the database numbers become AUTOINCREMENT, so
that a deleted record's id is never handed out again (PostgreSQL: nothing to do, sequences never reuse)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from visitorhub.migrations.sqlite import autoincrement_tables

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    autoincrement_tables()


def downgrade() -> None:
    """Nothing to undo: AUTOINCREMENT only stops key reuse."""
