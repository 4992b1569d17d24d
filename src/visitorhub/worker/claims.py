"""Claiming due work so that several workers never take the same row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session


def claim_due(session: Session, stmt: Select[Any]) -> list[Any]:
    """The rows of `stmt`, locked until the session's transaction ends. On PostgreSQL, rows another
    worker holds are skipped (FOR UPDATE SKIP LOCKED) instead of waited for; SQLite has one writer at a
    time (BEGIN IMMEDIATE), so the clause is left out there."""
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))
