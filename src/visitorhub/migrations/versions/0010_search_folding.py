"""search folding: visitors' e-mail and names folded (case, accents) in indexed columns, replacing the
lower(name) indexes that SQLite could not serve for non-ASCII names

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-06 06:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from visitorhub.core.search import fold, folded_text

revision: str = "0010"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = {
    "email_folded": ("email", 320),
    "first_name_folded": ("first_name", 200),
    "last_name_folded": ("last_name", 200),
}
_BATCH = 5000


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy: SQLite adds and drops columns itself, and a batch would reflect the
    # table's expression indexes, which SQLAlchemy cannot).
    for name, (_source, length) in _COLUMNS.items():
        op.add_column("visitor", sa.Column(name, folded_text(length), nullable=True))
    visitor = sa.table(
        "visitor",
        sa.column("visitor_id", sa.Uuid()),
        *(sa.column(source, sa.String()) for source, _length in _COLUMNS.values()),
        *(sa.column(name, sa.String()) for name in _COLUMNS),
    )
    conn = op.get_bind()
    last = None
    while True:
        stmt = sa.select(visitor.c.visitor_id, visitor.c.email, visitor.c.first_name, visitor.c.last_name)
        if last is not None:
            stmt = stmt.where(visitor.c.visitor_id > last)
        rows = conn.execute(stmt.order_by(visitor.c.visitor_id).limit(_BATCH)).all()
        if not rows:
            break
        conn.execute(
            sa.update(visitor).where(visitor.c.visitor_id == sa.bindparam("id")),
            [
                {
                    "id": row.visitor_id,
                    "email_folded": fold(row.email),
                    "first_name_folded": fold(row.first_name),
                    "last_name_folded": fold(row.last_name) if row.last_name is not None else None,
                }
                for row in rows
            ],
        )
        last = rows[-1].visitor_id
    for name in _COLUMNS:
        op.create_index(f"ix_visitor_{name}", "visitor", [name])
    op.drop_index("ix_visitor_first_name_lower", table_name="visitor")
    op.drop_index("ix_visitor_last_name_lower", table_name="visitor")


def downgrade() -> None:
    op.create_index("ix_visitor_last_name_lower", "visitor", [sa.text("lower(last_name)")])
    op.create_index("ix_visitor_first_name_lower", "visitor", [sa.text("lower(first_name)")])
    for name in _COLUMNS:
        op.drop_index(f"ix_visitor_{name}", table_name="visitor")
    for name in _COLUMNS:
        op.drop_column("visitor", name)
