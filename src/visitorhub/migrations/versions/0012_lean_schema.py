"""lean schema: content hashes of imported records; indexes no query needs are dropped (docs/indexes.md)

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables a template import writes (core.db.ContentHashMixin).
_HASHED = ("visitor", "vehicle", "external_id", "center", "visitor_center")
# (table, index, columns): each one written on every insert, read by no query (docs/indexes.md says why).
_DROPPED = (
    ("visitor", "ix_visitor_account_type", ["account_type"]),
    ("visitor", "ix_visitor_origin_type", ["origin_type"]),
    ("vehicle", "ix_vehicle_creation_date", ["creation_date"]),
    ("vehicle", "ix_vehicle_deletion_date", ["deletion_date"]),
    ("change_log", "ix_change_log_entity_entity_id", ["entity", "entity_id"]),
    ("center", "ix_center_is_active", ["is_active"]),
    ("visitor_center", "ix_visitor_center_is_smartparker", ["is_smartparker"]),
)


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy: SQLite adds a nullable column in place).
    for table in _HASHED:
        op.add_column(table, sa.Column("content_hash", sa.BigInteger(), nullable=True))
    for table, index, _columns in _DROPPED:
        op.drop_index(index, table_name=table)


def downgrade() -> None:
    for table, index, columns in _DROPPED:
        op.create_index(index, table, columns)
    for table in _HASHED:
        op.drop_column(table, "content_hash")
