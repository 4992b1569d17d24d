"""Migration helpers for what SQLite cannot alter in place."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op


def autoincrement_tables() -> None:
    """Rebuild, on SQLite, every table with a database-numbered integer key that is not AUTOINCREMENT yet
    (core.db.never_reuse_ids declares it for the models), keeping its rows, indexes and highest key."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    tables = conn.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ).all()
    for name, sql in tables:
        if "AUTOINCREMENT" in (sql or "").upper():
            continue
        columns = conn.execute(sa.text(f'PRAGMA table_info("{name}")')).all()
        keys = [column for column in columns if column.pk]
        if len(keys) != 1 or keys[0].type.upper() != "INTEGER":
            continue
        # Indexes on expressions cannot be reflected: keep their SQL and create them again afterwards.
        expression_indexes = [
            row.sql
            for row in conn.execute(
                sa.text(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
                ),
                {"t": name},
            )
            if "(" in row.sql.split(" ON ", 1)[1] and _has_expression(row.sql)
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Skipped unsupported reflection of expression-based index"
            with op.batch_alter_table(name, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass
        for index_sql in expression_indexes:
            conn.execute(
                sa.text(
                    index_sql.replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS").replace(
                        "CREATE INDEX", "CREATE INDEX IF NOT EXISTS"
                    )
                )
            )
        top = conn.execute(sa.text(f'SELECT max("{keys[0].name}") FROM "{name}"')).scalar()
        if top is not None:
            conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": name})
            conn.execute(
                sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"), {"t": name, "s": top}
            )


def _has_expression(index_sql: str) -> bool:
    """An index over something else than plain columns (lower(email), coalesce(pc_code, ''))."""
    columns = index_sql.split(" ON ", 1)[1].split("(", 1)[1].rsplit(")", 1)[0]
    return "(" in columns
