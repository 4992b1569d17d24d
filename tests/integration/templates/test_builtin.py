"""The built-in templates: shipped, valid, read-only, and an export re-imports through the import template."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from visitorhub.domains.vehicles.resources import vehicles
from visitorhub.domains.visitors.resources import external_ids, visitor_service
from visitorhub.integration.templates.builtin import builtin_templates
from visitorhub.integration.templates.execution import ImportOptions, run_import
from visitorhub.integration.templates.export import export_page
from visitorhub.integration.templates.loaders import dump_template, load_template
from visitorhub.models import ChangeLogEntry, Vehicle, Visitor

SERVER_SET = {"visitor_id", "barcode", "updated"}


def test_visitor_templates_ship_marked_builtin() -> None:
    templates = builtin_templates()
    assert {"visitors-import", "visitors-export"} <= set(templates)
    assert all(t.builtin and t.name == name and t.description for name, t in templates.items())
    assert builtin_templates() is templates  # cached


def test_visitors_import() -> None:
    template = builtin_templates()["visitors-import"]
    assert template.direction == "in"
    visitor, vehicle, external_id = template.entities
    assert (visitor.type, visitor.key) == ("Visitor", ["email"])
    email = next(f for f in visitor.fields if f.field == "email")
    assert [t.name for t in email.transforms] == ["trim", "lower"]
    assert (vehicle.type, vehicle.key) == ("Vehicle", ["licensePlate"])
    assert (external_id.type, external_id.key) == ("ExternalId", ["externalType", "externalId"])


def test_visitors_export() -> None:
    template = builtin_templates()["visitors-export"]
    assert template.direction == "out"
    assert [e.type for e in template.entities] == ["Visitor", "Vehicle", "ExternalId"]


def test_export_columns_are_the_import_columns() -> None:
    templates = builtin_templates()
    imported = {f.source for e in templates["visitors-import"].entities for f in e.fields}
    exported = {f.source for e in templates["visitors-export"].entities for f in e.fields}
    assert exported - imported == SERVER_SET
    assert imported <= exported


def test_the_description_lists_every_column() -> None:
    for template in builtin_templates().values():
        for source in {f.source for e in template.entities for f in e.fields}:
            assert source in template.description, (template.name, source)


def test_the_dump_of_a_builtin_loads_as_a_user_template() -> None:
    for name, template in builtin_templates().items():
        copy = load_template(yaml.safe_dump(dump_template(template)), "yaml", name=f"{name}-copy")
        assert copy.entities == template.entities
        assert copy.builtin is False


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def export_all(session: Session) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page, cursor = export_page(session, builtin_templates()["visitors-export"], None, cursor, 2)
        rows.extend(page)
        if cursor is None:
            return rows


def comparable(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple((k, v) for k, v in r.items() if k not in SERVER_SET) for r in rows)


def test_an_export_re_imports(session: Session) -> None:
    """Records made through the API (not only through the template) come back identical through a CSV."""
    ann = visitor_service.create(
        session,
        {
            # Lower-case: visitors-import lower-cases e-mails, so a mixed-case one would come back updated.
            "email": "ann.lee@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "gender": "f",
            "country_code": "FR",
            "acquisition_pc_code": "FR-SC-123",
            "phone": "+33 6 12 34 56 78",
            "address_street": "1, rue de la Paix",
            "address_zip_code": "75002",
            "address_city": "Paris",
            "birth_day": 12,
            "birth_month": 4,
            "birth_year": 1985,
            "last_visit_date": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        },
    )
    for plate, maker in (("AB-123-CD", "Renault"), ("xy 987 zz", None)):
        vehicles.service.create(
            session,
            {
                "visitor_id": ann.visitor_id,
                "license_plate": plate,
                "maker": maker,
                "model": "Clio" if maker else None,
                "color": "red",
                "license_plate_country": "FR",
                "year_of_manufacture": 2019,
            },
        )
    external_ids.service.create(
        session,
        {
            "visitor_id": ann.visitor_id,
            "external_type": "designa",
            "external_id": "D-1",
            "pc_code": "FR-SC-123",
        },
    )
    bob = visitor_service.create(
        session,
        {
            "email": "bob@example.com",
            "first_name": "Bob",
            "last_name": "Stone",
            "gender": "m",
            "country_code": "GB",
            "acquisition_pc_code": "GB-1",
        },
    )
    external_ids.service.create(
        session,
        {"visitor_id": bob.visitor_id, "external_type": "crm_id", "external_id": "C-2", "pc_code": None},
    )
    visitor_service.create(
        session,
        {
            "email": "cy@example.com",
            "first_name": "Cy",
            "last_name": "Nobody",
            "gender": "u",
            "country_code": "DE",
            "acquisition_pc_code": "DE-1",
        },
    )

    exported = export_all(session)
    assert len(exported) == 4  # Ann: two vehicles x one id; Bob: an id; Cy: nothing
    text = to_csv(exported)
    assert text.splitlines()[0].startswith("visitor_id,barcode,email,first_name,")
    csv_rows = list(csv.DictReader(io.StringIO(text)))

    # Into the same database: nothing to do.
    session.flush()  # the services' last change records (the session does not autoflush)
    seq = session.scalar(select(func.max(ChangeLogEntry.seq)))
    report = run_import(session, builtin_templates()["visitors-import"], csv_rows, ImportOptions())
    assert report.errors == []
    assert report.summary == {
        "Visitor": {"inserted": 0, "updated": 0, "unchanged": 4},
        "Vehicle": {"inserted": 0, "updated": 0, "unchanged": 2},
        "ExternalId": {"inserted": 0, "updated": 0, "unchanged": 3},
    }
    assert session.scalar(select(func.max(ChangeLogEntry.seq))) == seq

    # Into an empty database: the same records again.
    for visitor in list(session.scalars(select(Visitor))):
        visitor_service.delete(session, visitor)
    assert session.scalar(select(func.count()).select_from(Vehicle)) == 0
    report = run_import(
        session, builtin_templates()["visitors-import"], csv_rows, ImportOptions(chunk_size=2)
    )
    assert report.errors == []
    assert report.summary == {
        "Visitor": {"inserted": 3, "updated": 0, "unchanged": 1},
        "Vehicle": {"inserted": 2, "updated": 0, "unchanged": 0},
        "ExternalId": {"inserted": 2, "updated": 0, "unchanged": 1},
    }
    assert comparable(export_all(session)) == comparable(exported)
