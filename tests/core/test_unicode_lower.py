"""Values compared case-insensitively (unique over lower(): e-mails, catalogue values) fold every letter on
SQLite as on PostgreSQL (core.db.unicode_lower, migration 0014)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.cli.runner import run_cli
from tests.factories import visitor_body
from visitorhub.core.db import make_engine
from visitorhub.migrations import UpgradeStopped, upgrade


def test_emails_differing_by_the_case_of_an_accented_letter_are_one_visitor(client: TestClient) -> None:
    local = f"émile.{uuid.uuid4().hex[:8]}"
    first = client.post("/visitors", json=visitor_body(email=f"{local.capitalize()}@example.com"))
    assert first.status_code == 201, first.text
    second = client.post("/visitors", json=visitor_body(email=f"{local}@example.com"))
    assert second.status_code == 409, second.text
    assert second.json()["errors"][0]["field"] == "email"
    found = client.get("/visitors", params={"email": f"{local.upper()}@example.com"})
    assert [v["visitorId"] for v in found.json()["data"]] == [first.json()["data"]["visitorId"]]


def test_catalogue_values_differing_by_the_case_of_an_accented_letter_clash(client: TestClient) -> None:
    value = f"Électricité {uuid.uuid4().hex[:6]}"
    assert client.post("/service-targets", json={"value": value}).status_code == 201
    again = client.post("/service-targets", json={"value": value.lower()})
    assert again.status_code == 409, again.text


def _at_0013(tmp_path: Path, *values: str) -> tuple[str, Path]:
    """A database migrated to 0013, holding service targets written by SQLite's own lower()."""
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    upgrade(url, "0013")
    with sqlite3.connect(path) as conn:  # no visitorhub connection: the built-in lower() builds the index
        conn.executemany(
            "INSERT INTO service_target (value, creation_date, update_date) VALUES (?, '2026-01-01', '2026-01-01')",
            [(value,) for value in values],
        )
    return url, path


def _revision(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_the_upgrade_names_rows_that_now_collide_and_changes_nothing(tmp_path: Path) -> None:
    url, path = _at_0013(tmp_path, "Électricité", "électricité", "Eau")
    with pytest.raises(UpgradeStopped) as raised:
        upgrade(url)
    message = str(raised.value)
    assert "service_target" in message
    assert "uq_service_target_value_lower" in message
    assert "'électricité'" in message
    assert "nothing changed" in message
    assert _revision(path) == "0013"
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM service_target WHERE value = 'électricité'")
    upgrade(url)
    assert _revision(path) != "0013"


def test_the_upgrade_rebuilds_the_indexes_so_that_they_hold_from_then_on(tmp_path: Path) -> None:
    url, _path = _at_0013(tmp_path, "Électricité", "Eau")
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            assert conn.execute(text("SELECT lower('ÉLECTRICITÉ Ω')")).scalar_one() == "électricité ω"
            found = conn.execute(
                text("SELECT count(*) FROM service_target WHERE lower(value) = 'électricité'")
            ).scalar_one()
            assert found == 1  # the index answers with the new lower()
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO service_target (value, creation_date, update_date) "
                    "VALUES ('ÉLECTRICITÉ', '2026-01-01', '2026-01-01')"
                )
            )
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    finally:
        engine.dispose()


def test_the_cli_says_why_the_upgrade_stopped_in_a_message_not_a_traceback(tmp_path: Path) -> None:
    url, path = _at_0013(tmp_path, "Électricité", "ÉLECTRICITÉ")
    result = run_cli("db", "upgrade", url=url)
    assert result.returncode == 1
    assert result.stderr.startswith("Upgrade stopped, nothing changed")
    assert "'électricité'" in result.stderr
    assert "Traceback" not in result.stderr
    assert _revision(path) == "0013"
