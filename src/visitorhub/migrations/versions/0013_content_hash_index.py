"""content hash indexes: a no-change re-import finds its unchanged records by their content hash

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables a template import writes (core.db.ContentHashMixin), as in 0012.
_HASHED = ("visitor", "vehicle", "external_id", "center", "visitor_center")


def upgrade() -> None:
    # Partial: records written other than by an import hold no hash, and take no room in the index.
    only_hashed = sa.text("content_hash IS NOT NULL")
    for table in _HASHED:
        op.create_index(
            f"ix_{table}_content_hash",
            table,
            ["content_hash"],
            sqlite_where=only_hashed,
            postgresql_where=only_hashed,
        )


def downgrade() -> None:
    for table in _HASHED:
        op.drop_index(f"ix_{table}_content_hash", table_name=table)
