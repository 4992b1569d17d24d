"""Name and e-mail search ignores case and accents in every script, on both databases, from an index."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import create_visitor
from visitorhub.core.db import make_engine
from visitorhub.core.search import fold
from visitorhub.migrations import alembic_config, upgrade


def _found(client: TestClient, query: str, by: str | None = None) -> set[str]:
    params = {"query": query, **({"queryBy": by} if by else {})}
    response = client.get("/visitors", params=params)
    assert response.status_code == 200, response.text
    return {item["email"] for item in response.json()["data"]}


@pytest.fixture
def people(client: TestClient) -> dict[str, str]:
    named = {
        "elodie": ("Élodie", "Lefèvre"),
        "nunez": ("María", "Ñúñez-Åström"),
        "olga": ("Ольга", "Смирнова"),
        "strasse": ("Jörg", "Straße"),
        "chloe": ("Chloé", "Dupont"),
    }
    emails = {}
    for key, (first, last) in named.items():
        emails[key] = create_visitor(client, firstName=first, lastName=last, email=f"{key}@example.com")[
            "email"
        ]
    return emails


@pytest.mark.parametrize("query", ["Élodie", "élodie", "ÉLODIE", "elodie", "elo", "ÉLO"])
def test_any_case_and_any_accent_find_a_first_name(
    client: TestClient, people: dict[str, str], query: str
) -> None:
    assert _found(client, query, "firstName") == {people["elodie"]}
    assert _found(client, query) == {people["elodie"]}


@pytest.mark.parametrize(
    ("query", "by", "who"),
    [
        ("ñúñez", "lastName", "nunez"),
        ("NUNEZ-ASTROM", "lastName", "nunez"),
        ("lefevre", "lastName", "elodie"),
        ("ольга", "firstName", "olga"),
        ("СМИРН", "lastName", "olga"),
        ("strasse", "lastName", "strasse"),
        ("jorg stra", "fullname", "strasse"),
        ("maria ñu", "fullname", "nunez"),
        ("CHLOE@", "email", "chloe"),
    ],
)
def test_every_script_is_folded(
    client: TestClient, people: dict[str, str], query: str, by: str, who: str
) -> None:
    assert _found(client, query, by) == {people[who]}


def test_a_changed_name_is_found_by_its_new_value_only(client: TestClient, people: dict[str, str]) -> None:
    visitor = client.get("/visitors", params={"email": people["chloe"]}).json()["data"][0]
    assert client.patch(f"/visitors/{visitor['visitorId']}", json={"lastName": "Über"}).status_code == 200
    assert _found(client, "uber", "lastName") == {people["chloe"]}
    assert _found(client, "dupont", "lastName") == set()


def test_the_search_is_served_by_the_index(session: Session) -> None:
    if session.get_bind().dialect.name != "sqlite":
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(
            row[0]
            for row in session.execute(
                text(
                    "EXPLAIN SELECT visitor_id FROM visitor WHERE first_name_folded >= :a AND first_name_folded < :b"
                ),
                {"a": "elo", "b": "elo\U0010ffff"},
            )
        )
        assert "ix_visitor_first_name_folded" in plan, plan
        return
    plan = " ".join(
        str(row[-1])
        for row in session.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT visitor_id FROM visitor WHERE first_name_folded >= :a AND first_name_folded < :b"
            ),
            {"a": "elo", "b": "elo\U0010ffff"},
        )
    )
    assert "ix_visitor_first_name_folded" in plan, plan


def test_fold() -> None:
    assert fold("Élodie Ñúñez-Åström") == "elodie nunez-astrom"
    assert fold("Straße") == fold("STRASSE") == "strasse"
    assert fold("Ольга") == "ольга"
    assert fold("北京") == "北京"


def test_the_migration_folds_the_visitors_already_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'before.db'}"
    command.upgrade(alembic_config(url), "0006")
    engine = make_engine(url)
    values: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "first": "Élodie",
        "last": "Ñúñez",
        "email": "Elodie@Example.com",
    }
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO center (pc_code, label, country, is_westfield, has_worker, has_multi_step, is_active,"
                " has_email_validation, has_basic_loyalty, has_registration, creation_date, update_date)"
                " VALUES ('FR-1', 'x', 'FR', 1, 0, 0, 0, 1, 0, 1, '2024-01-01', '2024-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO visitor (visitor_id, account_type, email, first_name, last_name, country_code,"
                " email_verified, email_invalid, phone_verified, phone_invalid, barcode, creation_date,"
                " update_date) VALUES (:id, 'full', :email, :first, :last, 'FR', 0, 0, 0, 0, '1', '2024-01-01',"
                " '2024-01-01')"
            ),
            values,
        )
    upgrade(url)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT email_folded, first_name_folded, last_name_folded FROM visitor")
        ).one()
    engine.dispose()
    assert tuple(row) == ("elodie@example.com", "elodie", "nunez")
