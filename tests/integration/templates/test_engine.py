"""The template engine on a real database: import semantics (simulate, verbose, stopOnError, all-or-nothing
rows, no-change re-runs, chunking, conflicts) and incremental export."""

from __future__ import annotations

import gc
import json
import uuid
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import Session

from visitorhub.core import changelog
from visitorhub.core.batch import BULK_SETTINGS, PlannerStatistics, bulk_collections
from visitorhub.core.db import Base
from visitorhub.domains.centers.resources import centers, visitor_center_service
from visitorhub.domains.vehicles.resources import vehicles
from visitorhub.domains.visitors.resources import external_ids, visitor_service
from visitorhub.integration.templates import execution
from visitorhub.integration.templates.builtin import builtin_templates
from visitorhub.integration.templates.execution import ImportOptions, run_import
from visitorhub.integration.templates.export import _as_stored, export_page
from visitorhub.integration.templates.loaders import load_template
from visitorhub.integration.templates.report import ImportReport
from visitorhub.integration.templates.spec import Template
from visitorhub.models import Center, ChangeLogEntry, ExternalId, Vehicle, Visitor, VisitorCenter

IMPORT = builtin_templates()["visitors-import"]
EXPORT = builtin_templates()["visitors-export"]


def template(raw: dict[str, Any]) -> Template:
    return load_template(json.dumps({"name": "t", **raw}), "json")


def row(n: int, **overrides: Any) -> dict[str, Any]:
    """One CSV-like row of visitors-import: visitor n with a vehicle and a CRM id."""
    values: dict[str, Any] = {
        "email": f"ann{n}@example.com",
        "first_name": "Ann",
        "last_name": f"Lee {n}",
        "gender": "f",
        "country_code": "fr",
        "center": "FR-SC-123",
        "license_plate": f"AB-{n:03d}-CD",
        "vehicle_maker": "Renault",
        "external_id_type": "crm_id",
        "external_id": f"crm-{n}",
    }
    values.update(overrides)
    return values


def bare(n: int, **overrides: Any) -> dict[str, Any]:
    """A row with the visitor only (no vehicle, no external id)."""
    values = {k: v for k, v in row(n).items() if not k.startswith(("license", "vehicle", "external"))}
    values.update(overrides)
    return values


def run(session: Session, rows: list[dict[str, Any]], tpl: Template = IMPORT, **options: Any) -> ImportReport:
    return run_import(session, tpl, rows, ImportOptions(**options))


@contextmanager
def statements_run(session: Session) -> Iterator[list[str]]:
    """The SQL statements the session's connection runs inside the block."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", seen)


def run_with(tpl: Template, session: Session, rows: list[dict[str, Any]], **options: Any) -> ImportReport:
    return run(session, rows, tpl, **options)


def count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def counts(session: Session) -> dict[str, int]:
    return {m.__name__: count(session, m) for m in (Visitor, Vehicle, ExternalId, ChangeLogEntry)}


def emails(session: Session) -> set[str]:
    return set(session.scalars(select(Visitor.email)))


def last_seq(session: Session) -> int:
    session.flush()  # change records a service added (the session does not autoflush)
    return session.scalar(select(func.max(ChangeLogEntry.seq))) or 0


def log_after(session: Session, seq: int) -> list[ChangeLogEntry]:
    return list(
        session.scalars(select(ChangeLogEntry).where(ChangeLogEntry.seq > seq).order_by(ChangeLogEntry.seq))
    )


def comparable(report: ImportReport) -> dict[str, Any]:
    """The report in JSON form, each id replaced by the order of its first appearance: two runs insert
    records under different ids (fresh UUIDs, sequence values), but must touch the same records."""
    data: dict[str, Any] = json.loads(json.dumps(report.as_json()))
    labels: dict[tuple[str, Any], str] = {}
    for op in data["operations"]:
        if op["id"] is not None:
            op["id"] = labels.setdefault((op["entity"], op["id"]), f"{op['entity']}#{len(labels)}")
    return data


def visitor_by_email(session: Session, email: str) -> Visitor:
    return session.scalars(select(Visitor).where(Visitor.email == email)).one()


def create_visitor(session: Session, email: str, **values: Any) -> Visitor:
    body = {
        "email": email,
        "first_name": "Existing",
        "last_name": "Visitor",
        "gender": "m",
        "country_code": "FR",
        "acquisition_pc_code": "FR-SC-123",
        **values,
    }
    return visitor_service.create(session, body)


@pytest.fixture
def existing(session: Session) -> uuid.UUID:
    """The id of ann0, imported before the test with its vehicle and CRM id (an id, not the record: the
    engine detaches what it loaded)."""
    report = run(session, [row(0)])
    assert report.failed == 0, report.errors
    return visitor_by_email(session, "ann0@example.com").visitor_id


class TestImport:
    def test_inserts_visitor_with_vehicle_and_external_id(self, session: Session) -> None:
        report = run(session, [row(1, email="  Ann1@Example.COM "), row(2)])
        assert report.as_json() == {
            "simulate": False,
            "stopOnError": False,
            "stopped": False,
            "processed": 2,
            "failed": 0,
            "summary": {
                "Visitor": {"inserted": 2, "updated": 0, "unchanged": 0},
                "Vehicle": {"inserted": 2, "updated": 0, "unchanged": 0},
                "ExternalId": {"inserted": 2, "updated": 0, "unchanged": 0},
            },
            "errors": [],
            "operations": [],
        }
        visitor = visitor_by_email(session, "ann1@example.com")
        assert (visitor.first_name, visitor.country_code, visitor.gender) == ("Ann", "FR", "f")
        vehicle = session.scalars(select(Vehicle).where(Vehicle.visitor_id == visitor.visitor_id)).one()
        assert (vehicle.license_plate, vehicle.license_plate_normalized) == ("AB-001-CD", "AB001CD")
        ext = session.scalars(select(ExternalId).where(ExternalId.visitor_id == visitor.visitor_id)).one()
        assert (ext.external_type, ext.external_id, ext.pc_code) == ("crm_id", "crm-1", None)

    def test_a_row_without_vehicle_or_external_id_touches_neither(self, session: Session) -> None:
        report = run(
            session,
            [bare(1), row(2, license_plate="", vehicle_maker=" ", external_id_type="", external_id="")],
        )
        assert report.failed == 0, report.errors
        assert report.summary == {"Visitor": {"inserted": 2, "updated": 0, "unchanged": 0}}
        assert count(session, Vehicle) == count(session, ExternalId) == 0

    def test_matches_a_visitor_whatever_the_case_of_its_email(self, session: Session) -> None:
        visitor = create_visitor(session, "Ann.Lee@Example.com")
        report = run(session, [bare(1, email="ann.lee@example.com", first_name="Annie")], verbose=True)
        assert report.failed == 0, report.errors
        assert report.as_json()["operations"][0]["operation"] == "update"
        assert report.as_json()["operations"][0]["id"] == str(visitor.visitor_id)
        assert count(session, Visitor) == 1

    def test_child_linked_by_a_mapped_parent_id(self, session: Session, existing: uuid.UUID) -> None:
        tpl = template(
            {
                "direction": "in",
                "entities": [
                    {
                        "type": "Vehicle",
                        "key": ["licensePlate"],
                        "fields": [
                            {"source": "owner", "field": "visitorId"},
                            {"source": "plate", "field": "licensePlate"},
                            {"source": "colour", "field": "color"},
                        ],
                    }
                ],
            }
        )
        owner = str(existing)
        report = run_with(
            tpl,
            session,
            [
                {"owner": owner, "plate": "AB-000-CD", "colour": "red"},
                {"owner": owner, "plate": "NEW-1"},
                {"owner": "nobody", "plate": "NEW-2"},
            ],
        )
        assert report.summary == {"Vehicle": {"inserted": 1, "updated": 1, "unchanged": 0}}
        assert report.as_json()["errors"] == [
            {"index": 2, "field": "owner", "message": "owner: 'nobody' is not a valid Visitor id"}
        ]
        plates = session.execute(
            select(Vehicle.license_plate, Vehicle.color).order_by(Vehicle.license_plate)
        ).all()
        assert [tuple(p) for p in plates] == [("AB-000-CD", "red"), ("NEW-1", None)]

    def test_defaults_fill_what_the_row_lacks(self, session: Session) -> None:
        tpl = template(
            {
                "direction": "in",
                "entities": [
                    {
                        "type": "Visitor",
                        "key": ["email"],
                        "defaults": {
                            "countryCode": "BE",
                            "gender": "u",
                            "acquisitionPcCode": "BE-1",
                            "lastName": "-",
                        },
                        "fields": [
                            {"source": "mail", "field": "email"},
                            {"source": "name", "field": "firstName"},
                            {"source": "country", "field": "countryCode"},
                        ],
                    }
                ],
            }
        )
        report = run_with(
            tpl,
            session,
            [{"mail": "a@example.com", "name": "A"}, {"mail": "b@example.com", "name": "B", "country": "FR"}],
        )
        assert report.failed == 0, report.errors
        assert [visitor_by_email(session, e).country_code for e in ("a@example.com", "b@example.com")] == [
            "BE",
            "FR",
        ]

    def test_insert_switch_off_reports_unmatched_rows(self, session: Session, existing: uuid.UUID) -> None:
        tpl = template(
            {
                "direction": "in",
                "entities": [
                    {
                        "type": "Visitor",
                        "insert": False,
                        "key": ["email"],
                        "fields": [
                            {"source": "mail", "field": "email"},
                            {"source": "first", "field": "firstName"},
                        ],
                    }
                ],
            }
        )
        report = run_with(
            tpl,
            session,
            [{"mail": "ann0@example.com", "first": "Anna"}, {"mail": "zoe@example.com", "first": "Zoe"}],
        )
        assert report.summary == {"Visitor": {"inserted": 0, "updated": 1, "unchanged": 0}}
        assert report.as_json()["errors"] == [
            {
                "index": 1,
                "field": "mail",
                "message": "no Visitor matches {'email': 'zoe@example.com'}, and the template does not insert "
                "Visitor records",
            }
        ]

    def test_update_switch_off_leaves_matches_unchanged(self, session: Session, existing: uuid.UUID) -> None:
        tpl = template(
            {
                "direction": "in",
                "entities": [
                    {
                        "type": "Visitor",
                        "update": False,
                        "key": ["email"],
                        "fields": [
                            {"source": "mail", "field": "email"},
                            {"source": "first", "field": "firstName"},
                        ],
                    }
                ],
            }
        )
        before = last_seq(session)
        report = run_with(tpl, session, [{"mail": "ann0@example.com", "first": "Anna"}])
        assert report.summary == {"Visitor": {"inserted": 0, "updated": 0, "unchanged": 1}}
        assert session.scalar(select(Visitor.first_name).where(Visitor.email == "ann0@example.com")) == "Ann"
        assert log_after(session, before) == []

    def test_nested_outside_names(self, session: Session) -> None:
        tpl = template(
            {
                "direction": "in",
                "entities": [
                    {
                        "type": "Visitor",
                        "key": ["email"],
                        "defaults": {"gender": "u", "countryCode": "FR", "acquisitionPcCode": "FR-1"},
                        "fields": [
                            {"source": "contact.email", "field": "email"},
                            {"source": "contact.name.first", "field": "firstName"},
                            {"source": "contact.name.last", "field": "lastName"},
                        ],
                    }
                ],
            }
        )
        report = run_with(
            tpl, session, [{"contact": {"email": "n@example.com", "name": {"first": "Nat", "last": "Ho"}}}]
        )
        assert report.failed == 0, report.errors
        assert visitor_by_email(session, "n@example.com").last_name == "Ho"


class TestVerbose:
    def test_one_line_per_entity_touched(self, session: Session, existing: uuid.UUID) -> None:
        rows = [row(0, first_name="Anna"), row(1), bare(2, gender="x")]
        report = run(session, rows, verbose=True)
        ann1 = visitor_by_email(session, "ann1@example.com")
        vehicle = session.scalars(select(Vehicle).where(Vehicle.visitor_id == ann1.visitor_id)).one()
        ext = session.scalars(select(ExternalId).where(ExternalId.visitor_id == ann1.visitor_id)).one()
        old_vehicle = session.scalars(select(Vehicle).where(Vehicle.visitor_id == existing)).one()
        old_ext = session.scalars(select(ExternalId).where(ExternalId.visitor_id == existing)).one()
        assert json.loads(json.dumps(report.as_json()["operations"])) == [
            {
                "index": 0,
                "entity": "Visitor",
                "operation": "update",
                "key": {"email": "ann0@example.com"},
                "id": str(existing),
            },
            {
                "index": 0,
                "entity": "Vehicle",
                "operation": "unchanged",
                "key": {"licensePlate": "AB-000-CD"},
                "id": old_vehicle.vehicle_id,
            },
            {
                "index": 0,
                "entity": "ExternalId",
                "operation": "unchanged",
                "key": {"externalType": "crm_id", "externalId": "crm-0"},
                "id": old_ext.id,
            },
            {
                "index": 1,
                "entity": "Visitor",
                "operation": "insert",
                "key": {"email": "ann1@example.com"},
                "id": str(ann1.visitor_id),
            },
            {
                "index": 1,
                "entity": "Vehicle",
                "operation": "insert",
                "key": {"licensePlate": "AB-001-CD"},
                "id": vehicle.vehicle_id,
            },
            {
                "index": 1,
                "entity": "ExternalId",
                "operation": "insert",
                "key": {"externalType": "crm_id", "externalId": "crm-1"},
                "id": ext.id,
            },
            {"index": 2, "entity": "Visitor", "operation": "failed", "key": None, "id": None},
        ]

    def test_without_verbose_no_operations(self, session: Session) -> None:
        report = run(session, [row(1)])
        assert report.as_json()["operations"] == []
        assert report.as_json()["operations"] == []


def mixed_rows() -> list[dict[str, Any]]:
    """Inserts, an update, an unchanged row, failures of each kind and a conflict that only the database sees."""
    return [
        row(1),
        row(0, first_name="Anna", vehicle_maker="Peugeot"),  # update of the existing visitor and vehicle
        bare(2, gender="alien"),  # transform failure
        row(3, vehicle_year="1700"),  # vehicle invalid: the whole row fails
        row(0),  # back to the stored values, after row 1 of this file changed them
        row(4, external_id="crm-1"),  # crm-1 is row 0's, pending in the same chunk: a database conflict
        row(1, last_name="Lee-Smith"),  # same key as row 0: updates its insert
        bare(6),
        row(7, external_id="crm-0"),  # crm-0 belongs to the existing visitor: the service refuses it
    ]


class TestSimulate:
    @pytest.mark.parametrize("chunk_size", [500, 4, 1])
    @pytest.mark.parametrize("stop_on_error", [False, True])
    def test_same_report_as_a_real_run_and_writes_nothing(
        self, session: Session, existing: uuid.UUID, chunk_size: int, stop_on_error: bool
    ) -> None:
        before = counts(session)
        seq = last_seq(session)
        options: dict[str, Any] = {"verbose": True, "chunk_size": chunk_size, "stop_on_error": stop_on_error}
        simulated = run(session, mixed_rows(), simulate=True, **options)
        assert counts(session) == before
        assert last_seq(session) == seq
        assert session.scalar(select(Visitor.first_name).where(Visitor.email == "ann0@example.com")) == "Ann"
        assert session.scalar(select(Vehicle.maker).where(Vehicle.visitor_id == existing)) == "Renault"

        real = run(session, mixed_rows(), **options)
        assert simulated.simulate is True
        assert real.simulate is False
        assert {**comparable(simulated), "simulate": False} == comparable(real)
        assert counts(session) != before

    def test_the_report_is_the_one_expected(self, session: Session, existing: uuid.UUID) -> None:
        report = run(session, mixed_rows(), simulate=True)
        assert report.processed == 9
        assert report.failed == 4
        assert [e["index"] for e in report.as_json()["errors"]] == [2, 3, 5, 8]
        assert report.summary == {
            "Visitor": {"inserted": 2, "updated": 3, "unchanged": 0},
            "Vehicle": {"inserted": 1, "updated": 2, "unchanged": 1},
            "ExternalId": {"inserted": 1, "updated": 0, "unchanged": 3},
        }


class TestRowsAreAllOrNothing:
    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            (
                {"vehicle_year": "1700"},
                "vehicle_year",
                "vehicle_year: Input should be greater than or equal to 1800 (got '1700')",
            ),
            (
                {"license_plate_country": "ZZ"},
                "license_plate_country",
                "license_plate_country: Input should be",
            ),
            (
                {"license_plate": "", "vehicle_color": "red"},
                "license_plate",
                "license_plate: key value missing",
            ),
            ({"external_id": ""}, "external_id", "external_id: key value missing"),
            ({"external_id_type": "twitter"}, "external_id_type", "external_id_type: Input should be"),
            ({"gender": "x"}, "gender", "gender: 'x' is not one of m, f, u, male, female, unknown"),
            ({"email": "not-an-email"}, "email", "email: value is not a valid email address"),
            ({"birth_month": "13"}, "birth_month", "birth_month: Input should be less than or equal to 12"),
            (
                {"last_visit": "yesterday"},
                "last_visit",
                "last_visit: 'yesterday' is not a date in the format",
            ),
            (
                {"first_name": " "},
                "first_name",
                "first_name: required to create a Visitor, but the row has no value and no default",
            ),
        ],
    )
    def test_an_invalid_part_fails_the_whole_row(
        self, session: Session, overrides: dict[str, Any], field: str, message: str
    ) -> None:
        seq = last_seq(session)
        report = run(session, [row(1, **overrides), row(2)])
        assert (report.processed, report.failed) == (2, 1)
        assert len(report.as_json()["errors"]) == 1
        error = report.as_json()["errors"][0]
        assert (error["index"], error["field"]) == (0, field)
        assert error["message"].startswith(message), error["message"]
        assert emails(session) == {"ann2@example.com"}
        assert count(session, Vehicle) == count(session, ExternalId) == 1
        assert {e.entity_id for e in log_after(session, seq) if e.entity == "Visitor"} == {
            str(visitor_by_email(session, "ann2@example.com").visitor_id)
        }

    def test_a_service_conflict_on_the_last_entity_fails_the_row(
        self, session: Session, existing: uuid.UUID
    ) -> None:
        before = counts(session)
        report = run(session, [row(1, external_id="crm-0")])
        assert report.as_json()["errors"] == [
            {
                "index": 0,
                "field": "external_id",
                "message": "external_id: crm_id id crm-0 already belongs to another visitor.",
            }
        ]
        assert report.summary == {}
        assert counts(session) == before

    def test_an_update_that_breaks_a_rule_fails_the_row(self, session: Session, existing: uuid.UUID) -> None:
        create_visitor(session, "taken@example.com")
        tpl = template(
            {
                "direction": "in",
                "entities": [
                    {
                        "type": "Visitor",
                        "key": ["lastName", "firstName"],
                        "fields": [
                            {"source": "last", "field": "lastName"},
                            {"source": "first", "field": "firstName"},
                            {"source": "mail", "field": "email"},
                        ],
                    }
                ],
            }
        )
        report = run_with(tpl, session, [{"last": "Lee 0", "first": "Ann", "mail": "TAKEN@example.com"}])
        assert report.as_json()["errors"] == [
            {
                "index": 0,
                "field": "mail",
                "message": "mail: A visitor with email TAKEN@example.com already exists.",
            }
        ]
        assert (
            session.scalar(select(Visitor.email).where(Visitor.visitor_id == existing)) == "ann0@example.com"
        )


class TestStopOnError:
    def test_without_it_failing_rows_are_reported_and_the_others_applied(self, session: Session) -> None:
        rows = [row(0), bare(1, gender="?"), row(2), row(3, vehicle_year="old"), row(4)]
        report = run(session, rows, chunk_size=2)
        assert (report.processed, report.failed, report.stopped) == (5, 2, False)
        assert [(e["index"], e["field"]) for e in report.as_json()["errors"]] == [
            (1, "gender"),
            (3, "vehicle_year"),
        ]
        assert emails(session) == {"ann0@example.com", "ann2@example.com", "ann4@example.com"}

    @pytest.mark.parametrize("chunk_size", [500, 3, 2])
    def test_with_it_processing_stops_at_the_first_failing_row(
        self, session: Session, chunk_size: int
    ) -> None:
        rows = [row(0), row(1), row(2), bare(3, gender="?"), row(4), bare(5, gender="?"), row(6)]
        report = run(session, rows, stop_on_error=True, verbose=True, chunk_size=chunk_size)
        assert (report.processed, report.failed, report.stopped) == (4, 1, True)
        assert [e["index"] for e in report.as_json()["errors"]] == [3]
        assert {op["index"] for op in report.as_json()["operations"]} == {0, 1, 2, 3}
        assert emails(session) == {"ann0@example.com", "ann1@example.com", "ann2@example.com"}
        assert count(session, Vehicle) == 3

    def test_with_it_a_database_conflict_stops_too(self, session: Session) -> None:
        rows = [row(0), row(1), row(2, external_id="crm-1"), row(3)]
        report = run(session, rows, stop_on_error=True)
        assert (report.processed, report.failed, report.stopped) == (3, 1, True)
        assert [(e["index"], e["field"]) for e in report.as_json()["errors"]] == [(2, "external_id")]
        assert emails(session) == {"ann0@example.com", "ann1@example.com"}

    def test_a_run_without_failures_is_not_stopped(self, session: Session) -> None:
        report = run(session, [row(0), row(1)], stop_on_error=True)
        assert (report.processed, report.failed, report.stopped, report.stop_on_error) == (2, 0, False, True)


class TestNoChange:
    def test_reimporting_identical_data_changes_nothing(self, session: Session) -> None:
        rows = [row(0), row(1), bare(2), row(3, last_visit="2024-01-02 03:04:05", birth_year="1990")]
        first = run(session, rows)
        assert first.failed == 0, first.errors
        seq = last_seq(session)
        stamps = dict(session.execute(select(Visitor.email, Visitor.update_date)).all())
        again = run(session, rows, chunk_size=2)
        assert again.failed == 0
        assert again.summary == {
            "Visitor": {"inserted": 0, "updated": 0, "unchanged": 4},
            "Vehicle": {"inserted": 0, "updated": 0, "unchanged": 3},
            "ExternalId": {"inserted": 0, "updated": 0, "unchanged": 3},
        }
        assert log_after(session, seq) == []
        assert dict(session.execute(select(Visitor.email, Visitor.update_date)).all()) == stamps

    def test_differences_the_transforms_remove_are_no_change(
        self, session: Session, existing: uuid.UUID
    ) -> None:
        seq = last_seq(session)
        report = run(
            session,
            [
                row(
                    0,
                    email=" ANN0@example.com",
                    first_name=" Ann ",
                    country_code="Fr",
                    gender="Female",
                    external_id_type="CRM_ID",
                )
            ],
        )
        assert report.summary == {
            "Visitor": {"inserted": 0, "updated": 0, "unchanged": 1},
            "Vehicle": {"inserted": 0, "updated": 0, "unchanged": 1},
            "ExternalId": {"inserted": 0, "updated": 0, "unchanged": 1},
        }
        assert log_after(session, seq) == []


class TestContentHashes:
    """A re-import compares the hash of what the template last wrote with the row's, without loading the
    records; a record changed since by anything else is compared in full."""

    def test_an_unchanged_reimport_reads_no_record_and_writes_nothing(self, session: Session) -> None:
        rows = [row(n) for n in range(6)]
        assert run(session, rows).failed == 0
        assert None not in session.scalars(select(Visitor.content_hash)).all()
        assert None not in session.scalars(select(Vehicle.content_hash)).all()
        seq = last_seq(session)
        stamps = dict(session.execute(select(Vehicle.license_plate, Vehicle.update_date)).all())
        with statements_run(session) as statements:
            again = run(session, rows, verbose=True)
        assert again.summary["Visitor"] == {"inserted": 0, "updated": 0, "unchanged": 6}
        assert again.summary["Vehicle"] == {"inserted": 0, "updated": 0, "unchanged": 6}
        operations = again.as_json()["operations"]
        assert [op["operation"] for op in operations] == ["unchanged"] * 18
        # Each names its record's id, typed as the API gives it (found by hash, read as text).
        ids = {
            entity: {op["id"] for op in operations if op["entity"] == entity}
            for entity in ("Visitor", "Vehicle")
        }
        assert ids["Visitor"] == {str(v) for v in session.scalars(select(Visitor.visitor_id))}
        assert ids["Vehicle"] == set(session.scalars(select(Vehicle.vehicle_id)))
        # Keys, ids and hashes only: no column a diff would need was read, nothing was written.
        assert not [s for s in statements if "first_name" in s or "license_plate_country" in s]
        assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        assert log_after(session, seq) == []
        assert dict(session.execute(select(Vehicle.license_plate, Vehicle.update_date)).all()) == stamps

    def test_each_hash_is_looked_up_once_the_probes_included(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A chunk's first rows are looked up first (the probe); the rest of the chunk asks for the others."""
        monkeypatch.setattr(execution, "_PROBE", 2)
        rows = [row(n) for n in range(5)]
        assert run(session, rows).failed == 0
        asked: list[int] = []

        def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
            if "FROM visitor" in statement and "content_hash" in statement.split("WHERE", 1)[-1]:
                values = parameters.values() if isinstance(parameters, dict) else parameters
                array = next(v for v in values if isinstance(v, str) and v[:1] in "[{")
                asked.append(len(json.loads(array)) if array[0] == "[" else array.count(",") + 1)

        event.listen(session.get_bind(), "before_cursor_execute", seen)
        try:
            again = run(session, rows)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", seen)
        assert again.summary["Visitor"] == {"inserted": 0, "updated": 0, "unchanged": 5}
        assert asked == [2, 3]

    def test_rows_without_content_hashes_skip_the_hash_lookup_and_keep_the_outcome(
        self, session: Session
    ) -> None:
        """content_hashes=False (channels: only new or changed records are applied) compares in full: a row
        that changes nothing is still unchanged, and nothing is written."""
        rows = [row(n) for n in range(4)]
        assert run(session, rows).failed == 0
        seq = last_seq(session)
        with statements_run(session) as statements:
            again = run(session, rows, content_hashes=False)
        assert again.summary["Visitor"] == {"inserted": 0, "updated": 0, "unchanged": 4}
        assert again.summary["Vehicle"] == {"inserted": 0, "updated": 0, "unchanged": 4}
        assert [s for s in statements if "first_name" in s]  # records were loaded and compared in full
        assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        assert log_after(session, seq) == []

    def test_a_record_changed_through_the_api_since_is_set_back(
        self, session: Session, existing: uuid.UUID
    ) -> None:
        visitor = visitor_by_email(session, "ann0@example.com")
        visitor_service.update(session, visitor, {"first_name": "Changed"})
        assert visitor.content_hash is None  # every other write clears it
        seq = last_seq(session)
        report = run(session, [row(0)])
        assert report.summary["Visitor"] == {"inserted": 0, "updated": 1, "unchanged": 0}
        assert report.summary["Vehicle"] == {"inserted": 0, "updated": 0, "unchanged": 1}
        assert [(e.entity, e.operation, e.data["firstName"]) for e in log_after(session, seq)] == [
            ("Visitor", "update", "Ann")
        ]
        session.expire_all()
        assert visitor_by_email(session, "ann0@example.com").content_hash is not None

    def test_a_changed_cell_updates_and_moves_the_hash(self, session: Session, existing: uuid.UUID) -> None:
        before = session.scalar(select(Vehicle.content_hash).where(Vehicle.visitor_id == existing))
        report = run(session, [row(0, vehicle_maker="Peugeot")])
        assert report.summary["Vehicle"] == {"inserted": 0, "updated": 1, "unchanged": 0}
        assert report.summary["Visitor"] == {"inserted": 0, "updated": 0, "unchanged": 1}
        session.expire_all()
        after = session.scalar(select(Vehicle.content_hash).where(Vehicle.visitor_id == existing))
        assert after is not None
        assert after != before
        assert run(session, [row(0, vehicle_maker="Peugeot")]).summary["Vehicle"]["unchanged"] == 1

    def test_another_template_compares_in_full(self, session: Session, existing: uuid.UUID) -> None:
        other = template(
            {
                "direction": "in",
                "entities": [{"type": "Visitor", "key": ["email"], "fields": [
                    {"source": "email", "field": "email"}, {"source": "first_name", "field": "firstName"}]}],
            }
        )  # fmt: skip
        seq = last_seq(session)
        report = run(session, [{"email": "ann0@example.com", "first_name": "Ann"}], other)
        assert report.summary["Visitor"] == {"inserted": 0, "updated": 0, "unchanged": 1}
        report = run(session, [{"email": "ann0@example.com", "first_name": "Other"}], other)
        assert report.summary["Visitor"] == {"inserted": 0, "updated": 1, "unchanged": 0}
        assert [e.operation for e in log_after(session, seq)] == ["update"]

    def test_stop_on_error_counts_no_row_after_the_failing_one(self, session: Session) -> None:
        rows = [row(n) for n in range(4)]
        assert run(session, rows).failed == 0
        rows[1] = row(1, country_code="not a country")
        report = run(session, rows, stop_on_error=True)
        assert (report.processed, report.failed, report.stopped) == (2, 1, True)
        assert report.summary["Visitor"]["unchanged"] == 1

    def test_two_rows_with_one_key_are_applied_in_order(self, session: Session, existing: uuid.UUID) -> None:
        report = run(session, [row(0, first_name="Zoe"), row(0)])
        assert report.summary["Visitor"] == {"inserted": 0, "updated": 2, "unchanged": 0}
        session.expire_all()
        assert visitor_by_email(session, "ann0@example.com").first_name == "Ann"

    def test_a_row_found_unchanged_then_changed_by_a_later_row(
        self, session: Session, existing: uuid.UUID
    ) -> None:
        """The first row's records hold its hashes, but a later row of the chunk has the same key: both are
        applied in order (the first unchanged, the second an update), not the first skipped after it."""
        report = run(session, [row(0), row(0, first_name="Zoe"), row(1)], verbose=True)
        visitors = [
            (op["index"], op["operation"])
            for op in report.as_json()["operations"]
            if op["entity"] == "Visitor"
        ]
        assert visitors == [(0, "unchanged"), (1, "update"), (2, "insert")]
        session.expire_all()
        assert visitor_by_email(session, "ann0@example.com").first_name == "Zoe"

    def test_identical_rows_are_all_unchanged(self, session: Session, existing: uuid.UUID) -> None:
        seq = last_seq(session)
        report = run(session, [row(0), row(0), row(0)])
        assert report.summary["Visitor"] == {"inserted": 0, "updated": 0, "unchanged": 3}
        assert report.summary["Vehicle"] == {"inserted": 0, "updated": 0, "unchanged": 3}
        assert log_after(session, seq) == []

    def test_a_deleted_record_is_created_again(self, session: Session, existing: uuid.UUID) -> None:
        vehicle = session.scalars(select(Vehicle).where(Vehicle.visitor_id == existing)).one()
        vehicles.service.purge(session, vehicle)
        session.flush()
        report = run(session, [row(0)])
        assert report.summary["Visitor"] == {"inserted": 0, "updated": 0, "unchanged": 1}
        assert report.summary["Vehicle"] == {"inserted": 1, "updated": 0, "unchanged": 0}

    def test_a_child_holding_the_hash_under_another_parent_is_not_taken(
        self, session: Session, existing: uuid.UUID
    ) -> None:
        """A child's hash leaves out its parent: a child found by it must hang from the record the row's
        parent entity found, or the row is matched by key."""
        other = create_visitor(session, "other@example.com")
        plate_hash = session.scalar(select(Vehicle.content_hash).where(Vehicle.visitor_id == existing))
        stray = vehicles.service.create(
            session, {"visitor_id": other.visitor_id, "license_plate": "ZZ-999-ZZ", "maker": "Fiat"}
        )
        session.flush()
        # What no write path does: the stray vehicle holds the row's vehicle hash, the row's own one none.
        session.execute(update(Vehicle).where(Vehicle.visitor_id == existing).values(content_hash=None))
        session.execute(
            update(Vehicle).where(Vehicle.vehicle_id == stray.vehicle_id).values(content_hash=plate_hash)
        )
        own = session.scalar(select(Vehicle.vehicle_id).where(Vehicle.visitor_id == existing))
        report = run(session, [row(0)], verbose=True)
        touched = [op for op in report.as_json()["operations"] if op["entity"] == "Vehicle"]
        assert [(op["operation"], op["id"]) for op in touched] == [("unchanged", own)]

    def test_the_lookup_is_answered_by_the_hash_index(self, session: Session, existing: uuid.UUID) -> None:
        with warnings.catch_warnings():  # expression indexes are not reflected, and say so
            warnings.simplefilter("ignore", SAWarning)
            indexes = {
                table: {ix["name"] for ix in inspect(session.connection()).get_indexes(table)}
                for table in ("visitor", "vehicle", "external_id", "center", "visitor_center")
            }
        assert all(f"ix_{table}_content_hash" in names for table, names in indexes.items()), indexes
        with statements_run(session) as statements:
            assert run(session, [row(0)]).summary["Visitor"]["unchanged"] == 1
        lookups = [s for s in statements if "content_hash IN" in s or "content_hash = ANY" in s]
        assert len(lookups) == 3  # one per entity of the template, none by key
        if session.get_bind().dialect.name == "sqlite":
            plan = (
                session.connection()
                .exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT visitor_id FROM visitor WHERE content_hash IN (1, 2)"
                )
                .all()
            )
            assert "ix_visitor_content_hash" in " ".join(str(step) for step in plan)


def chunk_scenario() -> list[dict[str, Any]]:
    return [
        row(0),
        row(1),
        row(2),
        row(2, first_name="Second"),  # same key as the previous row, in the next chunk of 3
        row(4),
        row(4, license_plate="ZZ-444-ZZ"),  # same visitor, second vehicle, same chunk
        bare(6, gender="?"),
        row(7, external_id="crm-1"),  # conflict with a row of an earlier chunk
        row(8, external_id="crm-9"),
        row(9, external_id="crm-9"),  # conflict with the previous row, pending in the same chunk
        row(1, vehicle_color="blue"),
    ]


def snapshot(session: Session) -> dict[str, Any]:
    visitors = session.execute(select(Visitor.email, Visitor.first_name).order_by(Visitor.email)).all()
    vehicles = session.execute(
        select(Vehicle.license_plate, Vehicle.color).order_by(Vehicle.license_plate)
    ).all()
    ids = session.execute(select(ExternalId.external_id).order_by(ExternalId.external_id)).scalars().all()
    log = session.execute(
        select(ChangeLogEntry.entity, ChangeLogEntry.operation).order_by(ChangeLogEntry.seq)
    ).all()
    return {"visitors": visitors, "vehicles": vehicles, "ids": ids, "log": log}


class TestChunks:
    def test_rows_spanning_several_chunks_behave_the_same(self, session: Session) -> None:
        outer = session.begin_nested()
        whole = run(session, chunk_scenario(), verbose=True, chunk_size=500)
        expected = snapshot(session)
        outer.rollback()
        session.expunge_all()
        assert count(session, Visitor) == 0

        chunked = run(session, chunk_scenario(), verbose=True, chunk_size=3)
        assert comparable(chunked) == comparable(whole)
        assert snapshot(session) == expected
        assert [e.index for e in whole.errors] == [6, 7, 9]
        assert whole.summary["Visitor"] == {"inserted": 5, "updated": 1, "unchanged": 2}
        assert whole.summary["Vehicle"] == {"inserted": 6, "updated": 1, "unchanged": 1}


class TestSameKeyTwice:
    def test_second_row_updates_the_first_rows_insert(self, session: Session) -> None:
        seq = last_seq(session)
        report = run(
            session,
            [row(1), row(1, first_name="Anna", vehicle_color="red"), row(1, first_name="Anna")],
            verbose=True,
        )
        assert report.summary == {
            "Visitor": {"inserted": 1, "updated": 1, "unchanged": 1},
            "Vehicle": {"inserted": 1, "updated": 1, "unchanged": 1},
            "ExternalId": {"inserted": 1, "updated": 0, "unchanged": 2},
        }
        visitor = visitor_by_email(session, "ann1@example.com")
        assert visitor.first_name == "Anna"
        assert count(session, Visitor) == count(session, Vehicle) == count(session, ExternalId) == 1
        ids = {op["id"] for op in report.as_json()["operations"] if op["entity"] == "Visitor"}
        assert ids == {str(visitor.visitor_id)}
        log = [(e.entity, e.operation) for e in log_after(session, seq)]
        assert log == [
            ("Visitor", "create"),
            ("Vehicle", "create"),
            ("ExternalId", "create"),
            ("Visitor", "update"),
            ("Vehicle", "update"),
        ]

    def test_emails_differing_only_in_case_are_the_same_key(self, session: Session) -> None:
        tpl = template(
            {
                "direction": "in",
                "entities": [
                    {
                        "type": "Visitor",
                        "key": ["email"],
                        "defaults": {
                            "gender": "u",
                            "countryCode": "FR",
                            "acquisitionPcCode": "FR-1",
                            "lastName": "X",
                        },
                        "fields": [
                            {"source": "mail", "field": "email"},
                            {"source": "first", "field": "firstName"},
                        ],
                    }
                ],
            }
        )
        report = run_with(
            tpl,
            session,
            [{"mail": "Zoe@example.com", "first": "Zoe"}, {"mail": "zoe@example.com", "first": "Zoé"}],
        )
        assert report.failed == 0, report.errors
        assert report.summary == {"Visitor": {"inserted": 1, "updated": 1, "unchanged": 0}}
        assert session.execute(select(Visitor.email, Visitor.first_name)).all() == [
            ("zoe@example.com", "Zoé")
        ]


class TestDatabaseConflicts:
    """Conflicts the planning cannot see (rows pending in the same chunk) surface on flush: the chunk is
    replayed row by row, and only the conflicting row fails."""

    def test_an_external_id_used_by_another_row_of_the_chunk(self, session: Session) -> None:
        seq = last_seq(session)
        report = run(session, [row(0), row(1, external_id="crm-0"), row(2)], verbose=True)
        assert report.as_json()["errors"] == [
            {
                "index": 1,
                "field": "external_id",
                "message": "external_id: crm_id id crm-0 already belongs to another visitor.",
            }
        ]
        assert report.summary["Visitor"] == {"inserted": 2, "updated": 0, "unchanged": 0}
        assert emails(session) == {"ann0@example.com", "ann2@example.com"}
        assert count(session, Vehicle) == count(session, ExternalId) == 2
        owner = session.scalar(select(ExternalId.visitor_id).where(ExternalId.external_id == "crm-0"))
        assert owner == visitor_by_email(session, "ann0@example.com").visitor_id
        assert [(e.entity, e.operation) for e in log_after(session, seq)] == [
            ("Visitor", "create"),
            ("Vehicle", "create"),
            ("ExternalId", "create"),
        ] * 2

    def test_a_replayed_chunk_still_updates_an_earlier_rows_insert(self, session: Session) -> None:
        report = run(session, [row(0), row(1, external_id="crm-0"), row(0, first_name="Anna")])
        assert [e["index"] for e in report.as_json()["errors"]] == [1]
        assert report.summary["Visitor"] == {"inserted": 1, "updated": 1, "unchanged": 0}
        assert visitor_by_email(session, "ann0@example.com").first_name == "Anna"

    def test_same_external_id_at_another_centre_is_no_conflict(self, session: Session) -> None:
        report = run(
            session,
            [row(0, external_id_center="FR-1"), row(1, external_id="crm-0", external_id_center="FR-2")],
        )
        assert report.failed == 0, report.errors
        assert count(session, ExternalId) == 2

    def test_a_reference_to_a_missing_record(self, session: Session, existing: uuid.UUID) -> None:
        tpl = template(
            {
                "direction": "in",
                "entities": [
                    {
                        "type": "Vehicle",
                        "key": ["licensePlate"],
                        "fields": [
                            {"source": "owner", "field": "visitorId"},
                            {"source": "plate", "field": "licensePlate"},
                        ],
                    }
                ],
            }
        )
        rows = [
            {"owner": str(existing), "plate": "P-1"},
            {"owner": str(uuid.uuid4()), "plate": "P-2"},
            {"owner": str(existing), "plate": "P-3"},
        ]
        report = run_with(tpl, session, rows)
        assert [(e["index"], e["field"]) for e in report.as_json()["errors"]] == [(1, None)]
        assert "a referenced record does not exist" in report.as_json()["errors"][0]["message"]
        plates = set(session.scalars(select(Vehicle.license_plate)))
        assert plates == {"AB-000-CD", "P-1", "P-3"}


class TestChangeRecords:
    def test_inserts_are_logged_as_creates_of_each_entity(self, session: Session) -> None:
        seq = last_seq(session)
        run(session, [row(1)])
        visitor = visitor_by_email(session, "ann1@example.com")
        vehicle = session.scalars(select(Vehicle)).one()
        ext = session.scalars(select(ExternalId)).one()
        log = log_after(session, seq)
        assert [(e.entity, e.operation, e.entity_id) for e in log] == [
            ("Visitor", "create", str(visitor.visitor_id)),
            ("Vehicle", "create", str(vehicle.vehicle_id)),
            ("ExternalId", "create", str(ext.id)),
        ]
        assert log[0].data == changelog.compact(visitor_service.represent(visitor))
        assert log[1].data == changelog.compact(vehicles.service.represent(vehicle))
        assert log[2].data == changelog.compact(external_ids.service.represent(ext))

    def test_updates_are_logged_with_the_new_values(self, session: Session, existing: uuid.UUID) -> None:
        seq = last_seq(session)
        run(session, [row(0, first_name="Anna", vehicle_color="green")])
        log = log_after(session, seq)
        assert [(e.entity, e.operation) for e in log] == [("Visitor", "update"), ("Vehicle", "update")]
        assert log[0].entity_id == str(existing)
        assert log[0].data is not None
        assert log[0].data["firstName"] == "Anna"
        assert log[1].data is not None
        assert log[1].data["color"] == "green"

    def test_failed_rows_leave_no_record(self, session: Session) -> None:
        seq = last_seq(session)
        run(session, [row(1, vehicle_year="x"), row(2, external_id="crm-2"), row(3, external_id="crm-2")])
        assert {e.entity_id for e in log_after(session, seq) if e.entity == "Visitor"} == {
            str(visitor_by_email(session, "ann2@example.com").visitor_id)
        }


# Export ----------------------------------------------------------------------------------------------


def export_all(
    session: Session, tpl: Template = EXPORT, since: datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page, cursor = export_page(session, tpl, since, cursor, limit)
        rows.extend(page)
        if cursor is None:
            return rows


OLD = datetime(2020, 1, 1, tzinfo=UTC)
NEW = datetime(2024, 6, 1, tzinfo=UTC)


def age_everything(session: Session) -> None:
    for model in (Visitor, Vehicle, ExternalId):
        session.execute(update(model).values(update_date=OLD))


class TestExport:
    def test_one_row_per_visitor_and_child(self, session: Session) -> None:
        run(session, [row(1), row(1, license_plate="ZZ-1"), bare(2)])
        rows = sorted(export_all(session), key=lambda r: (r["email"], r["license_plate"] or ""))
        assert [(r["email"], r["license_plate"], r["external_id"]) for r in rows] == [
            ("ann1@example.com", "AB-001-CD", "crm-1"),
            ("ann1@example.com", "ZZ-1", "crm-1"),
            ("ann2@example.com", None, None),
        ]
        assert rows[0]["visitor_id"] == str(visitor_by_email(session, "ann1@example.com").visitor_id)
        assert set(rows[2]) == set(rows[0])

    def test_since_filters_by_root_or_child_change(self, session: Session) -> None:
        run(session, [row(1), row(2), row(3), bare(4)])
        age_everything(session)
        session.execute(update(Visitor).where(Visitor.email == "ann1@example.com").values(update_date=NEW))
        owner2 = visitor_by_email(session, "ann2@example.com").visitor_id
        session.execute(update(Vehicle).where(Vehicle.visitor_id == owner2).values(update_date=NEW))
        owner4 = visitor_by_email(session, "ann4@example.com").visitor_id
        external_ids.service.create(
            session, {"visitor_id": owner4, "external_type": "partner", "external_id": "p-4", "pc_code": None}
        )
        since = datetime(2024, 1, 1, tzinfo=UTC)
        assert sorted(r["email"] for r in export_all(session, since=since)) == [
            "ann1@example.com",
            "ann2@example.com",
            "ann4@example.com",
        ]
        assert export_all(session, since=datetime(2099, 1, 1, tzinfo=UTC)) == []
        assert len(export_all(session, since=datetime(2019, 1, 1, tzinfo=UTC))) == 4

    def test_since_uses_the_instant_not_the_wall_clock(self, session: Session) -> None:
        run(session, [bare(1)])
        age_everything(session)
        session.execute(update(Visitor).values(update_date=datetime(2024, 1, 1, 12, 0, tzinfo=UTC)))
        from datetime import timedelta, timezone

        paris = timezone(timedelta(hours=1))
        assert len(export_all(session, since=datetime(2024, 1, 1, 12, 30, tzinfo=paris))) == 1
        assert export_all(session, since=datetime(2024, 1, 1, 13, 30, tzinfo=paris)) == []

    @pytest.mark.parametrize("limit", [1, 2, 3, 5, 6])
    def test_the_cursor_pages_until_none(self, session: Session, limit: int) -> None:
        run(session, [bare(n) for n in range(5)])
        pages = []
        cursor = None
        while True:
            page, cursor = export_page(session, EXPORT, None, cursor, limit)
            pages.append(page)
            assert len(page) <= limit
            if cursor is None:
                break
        seen = [r["email"] for page in pages for r in page]
        assert sorted(seen) == [f"ann{n}@example.com" for n in range(5)]
        assert len(pages) == 5 // limit + 1

    def test_the_cursor_with_since(self, session: Session) -> None:
        run(session, [bare(n) for n in range(6)])
        age_everything(session)
        session.execute(
            update(Visitor)
            .where(Visitor.email.in_(["ann1@example.com", "ann3@example.com", "ann5@example.com"]))
            .values(update_date=NEW)
        )
        since = datetime(2024, 1, 1, tzinfo=UTC)
        assert sorted(r["email"] for r in export_all(session, since=since, limit=1)) == [
            "ann1@example.com",
            "ann3@example.com",
            "ann5@example.com",
        ]

    def test_a_deleted_child_marks_its_row_changed(self, session: Session) -> None:
        run(session, [row(1), row(2), row(3)])
        age_everything(session)
        since = datetime(2024, 1, 1, tzinfo=UTC)
        assert export_all(session, since=since) == []
        owner2 = visitor_by_email(session, "ann2@example.com").visitor_id
        (crm2,) = session.scalars(select(ExternalId).where(ExternalId.visitor_id == owner2))
        external_ids.service.delete(session, crm2)
        session.flush()  # the change record
        rows = export_all(session, since=since)
        assert [(r["email"], r["license_plate"], r["external_id"]) for r in rows] == [
            ("ann2@example.com", "AB-002-CD", None)
        ]
        # A deletion before `since` is no change after it.
        session.execute(
            update(ChangeLogEntry).where(ChangeLogEntry.operation == "delete").values(occurred_at=OLD)
        )
        assert export_all(session, since=since) == []
        assert len(export_all(session, since=datetime(2019, 1, 1, tzinfo=UTC))) == 3

    def test_deleted_children_of_every_child_entity(self, session: Session) -> None:
        """VisitorCenter links too; and a deleted visitor's children (whose parent is gone) add no row."""
        tpl = template(
            {
                "direction": "out",
                "entities": [
                    {"type": "Visitor", "fields": [{"source": "email", "field": "email"}]},
                    {"type": "VisitorCenter", "fields": [{"source": "centre", "field": "pcCode"}]},
                    {"type": "ExternalId", "fields": [{"source": "crm", "field": "externalId"}]},
                ],
            }
        )
        run(session, [row(n) for n in range(4)])
        for n in range(4):
            visitor_center_service.create(
                session,
                {
                    "visitor_id": visitor_by_email(session, f"ann{n}@example.com").visitor_id,
                    "pc_code": "FR-SC-1",
                },
            )
        age_everything(session)
        session.execute(update(VisitorCenter).values(update_date=OLD))
        since = datetime(2024, 1, 1, tzinfo=UTC)
        assert export_all(session, tpl, since=since) == []
        (link,) = session.scalars(
            select(VisitorCenter).where(
                VisitorCenter.visitor_id == visitor_by_email(session, "ann1@example.com").visitor_id
            )
        )
        visitor_center_service.delete(session, link)
        visitor_service.delete(session, visitor_by_email(session, "ann2@example.com"))
        session.flush()  # the change records
        assert export_all(session, tpl, since=since) == [
            {"email": "ann1@example.com", "centre": None, "crm": "crm-1"}
        ]

    def test_the_cursor_with_deleted_children(self, session: Session) -> None:
        run(session, [row(n) for n in range(8)])
        age_everything(session)
        since = datetime(2024, 1, 1, tzinfo=UTC)
        changed = {f"ann{n}@example.com" for n in (1, 2, 4, 7)}
        for n in (1, 4):  # a deleted external id
            owner = visitor_by_email(session, f"ann{n}@example.com").visitor_id
            external_ids.service.delete(
                session, session.scalars(select(ExternalId).where(ExternalId.visitor_id == owner)).one()
            )
        session.flush()  # the change records
        session.execute(
            update(Visitor)
            .where(Visitor.email.in_(["ann2@example.com", "ann7@example.com"]))
            .values(update_date=NEW)
        )
        for limit in (1, 2, 3, 5):
            rows = export_all(session, since=since, limit=limit)
            assert sorted(r["email"] for r in rows) == sorted(changed)

    @pytest.mark.parametrize(
        ("model", "field"),
        [(Visitor, "visitorId"), (Vehicle, "vehicleId"), (Center, "pcCode")],
    )
    def test_ids_in_change_records_match_the_stored_keys(
        self, session: Session, model: type[Base], field: str
    ) -> None:
        """How deletions are traced back to their parents: an id read from a change record's data equals
        the stored key (a UUID, an integer, a string) in SQL."""
        run(session, [row(1)])
        centers.service.create(
            session, {"pc_code": "FR-SC-9", "label": "Nine", "country": "FR", "is_westfield": False}
        )
        session.flush()
        service = {Visitor: visitor_service, Vehicle: vehicles.service, Center: centers.service}[model]
        record = session.scalars(
            select(model).order_by(model.creation_date.desc())
        ).first()  # not a reference centre
        entry = session.scalars(
            select(ChangeLogEntry).where(
                ChangeLogEntry.entity == service.entity,
                ChangeLogEntry.entity_id == str(service.entity_id(record)),
            )
        ).first()
        assert entry is not None
        key = getattr(model, service.pk_attr)
        stored = _as_stored(ChangeLogEntry.data[field], key, session.get_bind().dialect)
        matched = select(stored).where(ChangeLogEntry.seq == entry.seq)
        assert session.scalars(select(model).where(key.in_(matched))).all() == [record]

    def test_dotted_names_make_nested_objects_and_dates_are_formatted(self, session: Session) -> None:
        run(session, [row(1, last_visit="2024-02-03 04:05:06")])
        tpl = template(
            {
                "direction": "out",
                "entities": [
                    {
                        "type": "Visitor",
                        "fields": [
                            {"source": "contact.email", "field": "email", "transforms": ["upper"]},
                            {"source": "contact.name.first", "field": "firstName"},
                            {
                                "source": "contact.name.full",
                                "field": "firstName",
                                "transforms": [{"concat": {"with": ["lastName"]}}],
                            },
                            {
                                "source": "visit.last",
                                "field": "lastVisitDate",
                                "transforms": [{"date": {"format": "%d/%m/%Y %Hh%M"}}],
                            },
                            {
                                "source": "visit.created",
                                "field": "creationDate",
                                "transforms": [{"date": {"format": "%Y"}}],
                            },
                            {"source": "id", "field": "visitorId"},
                        ],
                    },
                    {
                        "type": "Vehicle",
                        "fields": [
                            {
                                "source": "car.plate",
                                "field": "licensePlate",
                                "transforms": [{"split": {"separator": "-", "index": 1}}],
                            }
                        ],
                    },
                ],
            }
        )
        (exported,) = export_all(session, tpl)
        assert exported == {
            "contact": {"email": "ANN1@EXAMPLE.COM", "name": {"first": "Ann", "full": "Ann Lee 1"}},
            "visit": {"last": "03/02/2024 04h05", "created": str(datetime.now(UTC).year)},
            "id": str(visitor_by_email(session, "ann1@example.com").visitor_id),
            "car": {"plate": "001"},
        }

    def test_a_visitor_without_children_has_empty_child_columns(self, session: Session) -> None:
        run(session, [bare(1)])
        tpl = template(
            {
                "direction": "out",
                "entities": [
                    {"type": "Visitor", "fields": [{"source": "mail", "field": "email"}]},
                    {
                        "type": "Vehicle",
                        "fields": [{"source": "car.plate", "field": "licensePlate", "transforms": ["upper"]}],
                    },
                ],
            }
        )
        assert export_all(session, tpl) == [{"mail": "ann1@example.com", "car": {"plate": None}}]


class TestDefaults:
    TEMPLATE: dict[str, Any] = {
        "direction": "in",
        "entities": [
            {
                "type": "Visitor",
                "key": "email",
                "defaults": {"gender": "u", "countryCode": "FR", "acquisitionPcCode": "FR-SC-1"},
                "fields": [
                    {"source": "email", "field": "email"},
                    {"source": "first", "field": "firstName"},
                    {"source": "last", "field": "lastName"},
                    {"source": "gender", "field": "gender"},
                ],
            }
        ],
    }

    def test_defaults_fill_a_new_record(self, session: Session) -> None:
        run_with(template(self.TEMPLATE), session, [{"email": "d1@example.com", "first": "D", "last": "One"}])
        visitor = session.scalars(select(Visitor).where(Visitor.email == "d1@example.com")).one()
        assert (visitor.gender, visitor.country_code) == ("u", "FR")

    def test_defaults_never_overwrite_stored_values(self, session: Session) -> None:
        tpl = template(self.TEMPLATE)
        run_with(tpl, session, [{"email": "d2@example.com", "first": "D", "last": "Two", "gender": "f"}])
        report = run_with(tpl, session, [{"email": "d2@example.com", "first": "D", "last": "Two"}])
        assert report.summary["Visitor"] == {"inserted": 0, "updated": 0, "unchanged": 1}
        visitor = session.scalars(select(Visitor).where(Visitor.email == "d2@example.com")).one()
        assert visitor.gender == "f"


class TestCollections:
    """Imports pause the garbage collector's automatic passes while they run and collect between chunks
    instead (core.batch._CollectionPause); the process's setting is back afterwards."""

    def test_paused_during_an_import_and_restored(self, session: Session) -> None:
        assert gc.isenabled()
        seen: list[bool] = []
        run_import(
            session,
            IMPORT,
            [row(1), row(2)],
            ImportOptions(chunk_size=1),
            progress=lambda _n: seen.append(gc.isenabled()),
        )
        assert seen == [False, False]
        assert gc.isenabled()

    def test_cycles_left_by_a_chunk_are_collected_before_the_next(self, session: Session) -> None:
        """Garbage only the collector can free (reference cycles) does not pile up while it is paused."""
        collected: list[int] = []

        def seen(phase: str, info: dict[str, int]) -> None:
            if phase == "stop" and not gc.isenabled():  # a collection made while automatic ones are paused
                collected.append(info["collected"])

        def rows() -> Iterator[dict[str, Any]]:
            for n in range(3):
                for _ in range(bulk_collections.young):  # a chunk's worth of cycles
                    cycle: list[Any] = []
                    cycle.append(cycle)
                yield row(n)

        gc.callbacks.append(seen)
        try:
            report = run_import(session, IMPORT, rows(), ImportOptions(chunk_size=1))
        finally:
            gc.callbacks.remove(seen)
        assert report.failed == 0
        assert sum(collected) >= 2 * bulk_collections.young  # collected between chunks, while paused
        assert gc.isenabled()

    def test_a_few_cycles_holding_much_are_collected_soon(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """One cycle may hold a whole chunk (the session's per-chunk objects): collected by the next pass
        due by time, however few objects it counts."""

        class Held:
            pass

        monkeypatch.setattr(bulk_collections, "young_every", 0.0)
        alive: list[bool] = []

        def rows() -> Iterator[dict[str, Any]]:
            made: list[weakref.ref[Held]] = []
            for n in range(5):
                # The rows are read a chunk ahead (core.batch.read_ahead): when row n is read, the chunk
                # of row n - 3 has been written and collect() has run after it.
                if n >= 3:
                    alive.append(made[n - 3]() is not None)
                cycle: list[Any] = [Held()]
                cycle.append(cycle)
                made.append(weakref.ref(cycle[0]))
                del cycle
                yield row(n)

        assert run_import(session, IMPORT, rows(), ImportOptions(chunk_size=1)).failed == 0
        assert alive == [False, False]

    def test_restored_when_the_rows_fail(self, session: Session) -> None:
        def rows() -> Iterator[dict[str, Any]]:
            yield row(1)
            raise OSError("the file went away")

        with pytest.raises(OSError, match="went away"):
            run_import(session, IMPORT, rows())
        assert gc.isenabled()

    def test_overlapping_imports_restore_when_the_last_ends(self) -> None:
        with bulk_collections():
            with bulk_collections():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()

    def test_a_process_that_disabled_collection_keeps_it_disabled(self) -> None:
        gc.disable()
        try:
            with bulk_collections():
                assert not gc.isenabled()
            assert not gc.isenabled()
        finally:
            gc.enable()


class TestPlannerStatistics:
    """PostgreSQL: an import ANALYZEs the tables it grows (core.batch.PlannerStatistics), so that its
    lookups by content hash are planned on the hash's index; SQLite needs none."""

    def test_tables_grown_by_an_import_are_analyzed(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(PlannerStatistics, "GROWTH", 4)
        monkeypatch.setattr(PlannerStatistics, "FINAL", 1)
        with statements_run(session) as statements:
            report = run(session, [row(n) for n in range(10)], chunk_size=2)
        assert report.failed == 0
        analyzed = [s for s in statements if s.startswith("ANALYZE")]
        if session.get_bind().dialect.name != "postgresql":
            assert analyzed == []
            return
        # Grown from (nearly) empty: analyzed as each table doubles, and at the end.
        assert {s.split()[-1].strip('"') for s in analyzed} == {"visitor", "vehicle", "external_id"}
        held = session.connection().exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE relname = 'visitor'"
        )
        assert held.scalar() >= 10  # the rows this transaction inserted count

    def test_a_small_import_analyzes_nothing(self, session: Session) -> None:
        with statements_run(session) as statements:
            assert run(session, [row(n) for n in range(3)]).failed == 0
        assert not [s for s in statements if s.startswith("ANALYZE")]

    def test_a_simulation_analyzes_nothing(self, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(PlannerStatistics, "GROWTH", 1)
        monkeypatch.setattr(PlannerStatistics, "FINAL", 1)
        with statements_run(session) as statements:
            assert run(session, [row(n) for n in range(3)], simulate=True).failed == 0
        assert not [s for s in statements if s.startswith("ANALYZE")]


class TestBulkPragmas:
    """An import's connection gets the bulk settings while it runs (SQLite: core.db.BULK_PRAGMAS' cache;
    PostgreSQL: a plan for each statement, core.batch.BULK_SETTINGS), its own settings after."""

    @staticmethod
    def setting(session: Session) -> str:
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            return str(connection.exec_driver_sql("PRAGMA cache_size").scalar())
        shown = [connection.exec_driver_sql(f"SHOW {name}").scalar() for name in BULK_SETTINGS]
        return " ".join(str(value) for value in shown)

    @staticmethod
    def bulk(session: Session) -> str:
        if session.get_bind().dialect.name == "sqlite":
            return "-65536"
        return "force_custom_plan 1.1"  # a plan per statement; random reads costed as cached ones

    def test_set_while_importing_and_restored(self, session: Session) -> None:
        before = self.setting(session)
        seen: list[str] = []
        report = run_import(
            session, IMPORT, [row(1), row(2)], ImportOptions(chunk_size=1),
            progress=lambda _n: seen.append(self.setting(session)),
        )  # fmt: skip
        assert report.failed == 0
        assert seen == [self.bulk(session)] * 2
        assert self.setting(session) == before != self.bulk(session)

    def test_restored_when_the_rows_fail(self, session: Session) -> None:
        before = self.setting(session)

        def rows() -> Iterator[dict[str, Any]]:
            yield row(1)
            raise OSError("the file went away")

        with pytest.raises(OSError, match="went away"):
            run_import(session, IMPORT, rows())
        assert self.setting(session) == before
