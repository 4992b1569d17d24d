"""Ids are never handed out again after a delete, on SQLite too (AUTOINCREMENT) and on every path."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import create_vehicle, create_visitor
from visitorhub.core.db import Base, make_engine, new_uuid
from visitorhub.core.service import WriteContext
from visitorhub.domains.vehicles.resources import vehicles
from visitorhub.migrations import alembic_config, upgrade


def test_every_database_numbered_key_is_autoincrement_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ids.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        sql = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
    engine.dispose()
    numbered = [t.name for t in Base.metadata.sorted_tables if t.autoincrement_column is not None]
    assert numbered
    assert [name for name in numbered if "AUTOINCREMENT" not in sql[name].upper()] == []


def test_a_deleted_keys_id_is_not_reused(client: TestClient) -> None:
    created = client.post("/keys", json={"name": "short-lived", "scope": "read"}).json()["data"]
    assert client.delete(f"/keys/{created['id']}").status_code == 204
    again = client.post("/keys", json={"name": "next", "scope": "read"}).json()["data"]
    assert again["id"] > created["id"]


def test_batch_inserts_skip_the_ids_of_deleted_records(client: TestClient, session: Session) -> None:
    """The batch path numbers new records itself on SQLite: past the largest id ever handed out."""
    visitor = create_visitor(client)
    last = create_vehicle(client, visitor["visitorId"])
    deleted_id = last["vehicleId"]
    session.execute(text("DELETE FROM vehicle WHERE vehicle_id = :id"), {"id": deleted_id})  # a purge
    planned = vehicles.service.plan_create(
        session,
        {"visitor_id": uuid.UUID(visitor["visitorId"]), "license_plate": "NEW-1"},
        WriteContext(),
    )
    record = vehicles.service.new_record(planned)
    vehicles.service.insert_many(session, [record])
    assert record.vehicle_id > deleted_id


def test_the_migration_keeps_rows_references_and_the_highest_id(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'before.db'}"
    command.upgrade(alembic_config(url), "0010")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stream_subscription (id, name, stream, entity, url, auth, interval_minutes, max_per_run,"
                " max_per_payload, max_attempts, enabled, cursor_seq, attempts_delivered, attempts_failed,"
                " payloads_dead, records_delivered, creation_date, update_date) VALUES (7, 's', 'visitors',"
                " 'Visitor', 'https://example.com', '{}', 15, 500, 50, 12, 1, 0, 0, 0, 0, 0, '2024-01-01',"
                " '2024-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO stream_delivery (id, subscription_id, status, attempts, record_count, first_seq,"
                " last_seq, creation_date) VALUES ('dlv_1', 7, 'pending', 0, 1, 1, 1, '2024-01-01')"
            )
        )
    upgrade(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM stream_delivery")).scalar() == 1  # not cascaded away
        assert (
            conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'stream_subscription'")).scalar()
            == 7
        )
        indexes = {
            row[0] for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
        }
    engine.dispose()
    assert {"uq_external_id_visitor_type_pc", "uq_external_id_type_value_pc"} <= indexes


def test_visitor_ids_are_time_ordered_uuids(client: TestClient) -> None:
    """Version 7, in creation order: new visitors append to the primary-key index (core.db.new_uuid)."""
    ids = [uuid.UUID(create_visitor(client)["visitorId"]) for _ in range(5)]
    assert {visitor_id.version for visitor_id in ids} == {7}
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_uuids_made_within_one_millisecond_still_increase() -> None:
    made = [new_uuid() for _ in range(2000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    # The first 48 bits are the time in milliseconds: close to now.
    assert abs((made[0].int >> 80) - time.time() * 1000) < 60_000
