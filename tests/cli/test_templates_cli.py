"""`visitorhub templates|import|export` on a database of the module's own, shared by its tests (each uses
its own e-mails); run in-process, but for the terminal's progress bar."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from tests.cli.runner import run_cli, run_cli_process
from tests.conftest import new_database
from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
from visitorhub.domains.visitors.resources import external_ids, visitor_service
from visitorhub.models import ChangeLogEntry, ExternalId, Vehicle, Visitor

SEED_XML = (
    '<In Description="PlanningPME contacts">'
    '<Type Name="Visitor" ShouldInsert="true" ShouldUpdate="true" Key="email">'
    '<Default Field="countryCode" Value="FR"/><Default Field="gender" Value="u"/>'
    '<Default Field="acquisitionPcCode" Value="FR-SC-123"/></Type>'
    '<Property Name="Nom usage" Type="Visitor" Field="lastName"/>'
    '<Property Name="Prénom" Type="Visitor" Field="firstName"/>'
    '<Property Name="Email" Type="Visitor" Field="email" Transform="trim,lower"/></In>'
)
NESTED_EXPORT = """\
direction: out
description: Contacts with nested names
entities:
  - type: Visitor
    fields:
      - {source: contact.email, field: email}
      - {source: contact.name, field: lastName}
  - type: Vehicle
    fields:
      - {source: car.plate, field: licensePlate}
"""
HEADER = "email,first_name,last_name,gender,country_code,center,license_plate,vehicle_year"


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The module's own database, as the commands commit for real: a temporary SQLite file, or, when the
    suite runs on PostgreSQL (VISITORHUB_TEST_DATABASE_URL), a database of its own on that server; migrated,
    with the reference centres (tests/cli/test_cli.py proves `db upgrade` itself)."""
    with new_database(tmp_path_factory.mktemp("templates-cli")) as url:
        yield url


@pytest.fixture(scope="module")
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def count(engine: Engine, model: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def visitor_emails(engine: Engine, prefix: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(Visitor.email).where(Visitor.email.startswith(prefix))))


def cells(output: str, needle: str) -> list[str]:
    """The cells of the first table line of `output` that contains `needle`."""
    line = next(line for line in output.splitlines() if needle in line)
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


def csv_rows(prefix: str, n: int, **overrides: str) -> str:
    lines = [HEADER]
    for i in range(n):
        values = {
            "email": f"{prefix}{i}@example.com",
            "first_name": "Ann",
            "last_name": f"Lee{i}",
            "gender": "f",
            "country_code": "FR",
            "center": "FR-SC-123",
            "license_plate": f"{prefix.upper()}-{i}" if i % 2 == 0 else "",
            "vehicle_year": "2020" if i % 2 == 0 else "",
        }
        values.update({k.split(":")[0]: v for k, v in overrides.items() if k.endswith(f":{i}")})
        lines.append(",".join(values[column] for column in HEADER.split(",")))
    return "\n".join(lines) + "\n"


def json_rows(prefix: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "email": f"{prefix}{i}@example.com",
            "first_name": "Ann",
            "last_name": f"Lee{i}",
            "gender": "female",
            "country_code": "fr",
            "center": "FR-SC-123",
        }
        for i in range(n)
    ]


# templates ----------------------------------------------------------------------------------------------


def test_list_shows_the_builtins(db_url: str) -> None:
    result = run_cli("templates", "list", url=db_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    imports = next(line for line in lines if "visitors-import" in line)
    assert "in" in imports.split()
    assert "yes" in imports
    assert "Visitor, Vehicle, ExternalId" in imports
    assert any("visitors-export" in line for line in lines)


def test_validate_a_valid_file(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "planning.xml"
    path.write_text(SEED_XML, encoding="utf-8")
    result = run_cli("templates", "validate", path, url=db_url)
    assert result.returncode == 0, result.stderr
    assert "valid in template 'planning' (Visitor)" in result.stdout
    # Validate saves nothing. (The module's tests share a database: another may have saved planning-cli.)
    listed = run_cli("templates", "list", url=db_url).stdout
    assert not re.search(r"\bplanning\b(?!-)", listed), listed


@pytest.mark.parametrize(
    ("file_name", "text", "element", "fragment"),
    [
        (
            "t.yaml",
            "direction: in\nentities:\n  - type: Visitor\n    key: [email]\n"
            "    fields:\n      - {source: mail, field: email, transforms: [rot13]}\n",
            "entities[0].fields[0].transforms[0]",
            "unknown transform 'rot13'",
        ),
        (
            "t.json",
            json.dumps({"direction": "in", "entities": [{"type": "Customer"}]}),
            "entities[0].type",
            "unknown entity 'Customer'",
        ),
        ("t.xml", SEED_XML.replace(' Key="email"', ""), "entities[0].key", "needs key fields"),
    ],
)
def test_validate_names_the_element(
    db_url: str, tmp_path: Path, file_name: str, text: str, element: str, fragment: str
) -> None:
    path = tmp_path / file_name
    path.write_text(text, encoding="utf-8")
    result = run_cli("templates", "validate", path, url=db_url)
    assert result.returncode == 1
    assert f"{element}: " in result.stderr
    assert fragment in result.stderr


def test_validate_refuses_other_extensions(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text(SEED_XML)
    result = run_cli("templates", "validate", path, url=db_url)
    assert result.returncode == 2
    assert ".xml, .yaml, .yml or .json" in result.stderr


def test_put_show_and_replace(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "planning-cli.xml"
    path.write_text(SEED_XML, encoding="utf-8")
    created = run_cli("templates", "put", path, url=db_url)
    assert created.returncode == 0, created.stderr
    assert "Created in template 'planning-cli' (Visitor)." in created.stdout
    replaced = run_cli("templates", "put", path, url=db_url)
    assert "Updated in template 'planning-cli'" in replaced.stdout
    named = run_cli("templates", "put", path, "--name", "planning-other", url=db_url)
    assert "Created in template 'planning-other'" in named.stdout

    shown = run_cli("templates", "show", "planning-cli", url=db_url)
    assert shown.returncode == 0, shown.stderr
    spec = json.loads(shown.stdout)
    assert spec["name"] == "planning-cli"
    assert spec["builtin"] is False
    assert spec["description"] == "PlanningPME contacts"
    assert spec["entities"][0]["key"] == ["email"]
    source = run_cli("templates", "show", "planning-cli", "--source", url=db_url)
    assert source.stdout.strip() == SEED_XML

    listed = run_cli("templates", "list", url=db_url).stdout
    line = next(line for line in listed.splitlines() if "planning-cli" in line)
    assert "yes" not in line
    assert "PlanningPME contacts" in line


def test_put_refuses_an_invalid_template_and_saves_nothing(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(SEED_XML.replace('Field="lastName"', 'Field="nomUsage"'), encoding="utf-8")
    result = run_cli("templates", "put", path, url=db_url)
    assert result.returncode == 1
    assert "entities[0].fields[0].field" in result.stderr
    assert "'nomUsage' is not a writable field of Visitor" in result.stderr
    shown = run_cli("templates", "show", "broken", url=db_url)
    assert shown.returncode == 1
    assert "Template 'broken' does not exist." in shown.stderr


def test_builtins_are_read_only(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "x.xml"
    path.write_text(SEED_XML, encoding="utf-8")
    result = run_cli("templates", "put", path, "--name", "visitors-import", url=db_url)
    assert result.returncode == 1
    assert "built in and read-only" in result.stderr
    assert run_cli("templates", "delete", "visitors-export", url=db_url).returncode == 1


# import -------------------------------------------------------------------------------------------------


def test_import_csv_in_chunks_with_summary_and_report(db_url: str, engine: Engine, tmp_path: Path) -> None:
    data = tmp_path / "visitors.csv"
    data.write_text("\ufeff" + csv_rows("csv", 5), encoding="utf-8")  # a spreadsheet's byte-order mark
    report_path = tmp_path / "report.json"
    result = run_cli(
        "import",
        data,
        "--template",
        "visitors-import",
        "--chunk-size",
        "2",
        "--report",
        report_path,
        url=db_url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 rows processed, 0 failed." in result.stdout
    assert cells(result.stdout, "Visitor") == ["Visitor", "5", "0", "0"]
    assert cells(result.stdout, "Vehicle") == ["Vehicle", "3", "0", "0"]
    report = json.loads(report_path.read_text())
    assert report["processed"] == 5
    assert report["summary"] == {
        "Visitor": {"inserted": 5, "updated": 0, "unchanged": 0},
        "Vehicle": {"inserted": 3, "updated": 0, "unchanged": 0},
    }
    assert visitor_emails(engine, "csv") == {f"csv{i}@example.com" for i in range(5)}
    assert count(engine, Vehicle, Vehicle.license_plate.startswith("CSV-")) == 3

    # The same file again: everything unchanged, nothing logged.
    logged = count(engine, ChangeLogEntry)
    again = run_cli("import", data, "--template", "visitors-import", "--report", report_path, url=db_url)
    assert again.returncode == 0, again.stderr
    assert json.loads(report_path.read_text())["summary"]["Visitor"] == {
        "inserted": 0,
        "updated": 0,
        "unchanged": 5,
    }
    assert count(engine, ChangeLogEntry) == logged


def test_import_shows_a_progress_bar_on_a_terminal(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "progress.csv"
    data.write_text(csv_rows("progress", 3), encoding="utf-8")
    # As on a terminal (rich reads these): the bar is drawn on stderr, then cleared.
    result = run_cli_process(
        "import", data, "-t", "visitors-import", url=db_url, TTY_COMPATIBLE="1", TTY_INTERACTIVE="1"
    )
    assert result.returncode == 0, result.stderr
    assert "Importing progress.csv" in result.stderr
    assert "3 rows" in result.stderr
    assert "3 rows processed, 0 failed." in result.stdout


def test_import_applies_a_row_entirely_or_not_at_all(db_url: str, engine: Engine, tmp_path: Path) -> None:
    data = tmp_path / "whole.csv"
    data.write_text(csv_rows("whole", 3, **{"vehicle_year:0": "1700"}), encoding="utf-8")
    result = run_cli("import", data, "-t", "visitors-import", url=db_url)
    assert result.returncode == 1
    assert "3 rows processed, 1 failed." in result.stdout
    assert cells(result.stdout, "vehicle_year")[:2] == ["0", "vehicle_year"]
    # Row 0's visitor was valid, its vehicle was not: neither is stored.
    assert visitor_emails(engine, "whole") == {"whole1@example.com", "whole2@example.com"}
    assert count(engine, Vehicle, Vehicle.license_plate.startswith("WHOLE-")) == 1


def test_import_jsonl_with_a_failing_row_exits_1(db_url: str, engine: Engine, tmp_path: Path) -> None:
    rows = json_rows("jsonl", 3)
    rows[1]["gender"] = "x"
    data = tmp_path / "visitors.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    result = run_cli("import", data, "-t", "visitors-import", url=db_url)
    assert result.returncode == 1
    assert "3 rows processed, 1 failed." in result.stdout
    row, field, message = cells(result.stdout, "is not one of")
    assert (row, field) == ("1", "gender")
    assert message.startswith("gender: 'x'")
    assert visitor_emails(engine, "jsonl") == {"jsonl0@example.com", "jsonl2@example.com"}


def test_import_json_array_verbose(db_url: str, engine: Engine, tmp_path: Path) -> None:
    data = tmp_path / "visitors.json"
    data.write_text(json.dumps(json_rows("jsonarr", 2), indent=2), encoding="utf-8")
    result = run_cli("import", data, "--template", "visitors-import", "--verbose", url=db_url)
    assert result.returncode == 0, result.stderr
    ops = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    assert [(op[0], op[1], op[2]) for op in ops] == [("0", "Visitor", "insert"), ("1", "Visitor", "insert")]
    assert json.loads(ops[0][3]) == {"email": "jsonarr0@example.com"}
    assert visitor_emails(engine, "jsonarr") == {"jsonarr0@example.com", "jsonarr1@example.com"}


def test_import_simulate_writes_nothing(db_url: str, engine: Engine, tmp_path: Path) -> None:
    data = tmp_path / "sim.csv"
    data.write_text(csv_rows("sim", 3), encoding="utf-8")
    logged = count(engine, ChangeLogEntry)
    report_path = tmp_path / "sim.json"
    result = run_cli(
        "import",
        data,
        "-t",
        "visitors-import",
        "--simulate",
        "--chunk-size",
        "1",
        "--report",
        report_path,
        url=db_url,
    )
    assert result.returncode == 0, result.stderr
    assert "Simulated import (nothing written)" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["simulate"] is True
    assert report["summary"]["Visitor"]["inserted"] == 3
    assert visitor_emails(engine, "sim") == set()
    assert count(engine, ChangeLogEntry) == logged


def test_import_stop_on_error(db_url: str, engine: Engine, tmp_path: Path) -> None:
    data = tmp_path / "stop.csv"
    data.write_text(csv_rows("stop", 4, **{"gender:1": "x"}), encoding="utf-8")
    result = run_cli(
        "import", data, "-t", "visitors-import", "--stop-on-error", "--chunk-size", "1", url=db_url
    )
    assert result.returncode == 1
    assert "2 rows processed, 1 failed (stopped at the first failing row)." in result.stdout
    assert visitor_emails(engine, "stop") == {"stop0@example.com"}


def test_import_names_the_line_of_a_broken_file(db_url: str, engine: Engine, tmp_path: Path) -> None:
    data = tmp_path / "broken.jsonl"
    rows = json_rows("brokenfile", 2)
    data.write_text(f"{json.dumps(rows[0])}\n{json.dumps(rows[1])}\n{{not json\n", encoding="utf-8")
    result = run_cli("import", data, "-t", "visitors-import", "--chunk-size", "1", url=db_url)
    assert result.returncode == 1
    assert "broken.jsonl, line 3: not valid JSON" in result.stderr
    # The chunks read before the broken line were committed.
    assert visitor_emails(engine, "brokenfile") == {"brokenfile0@example.com", "brokenfile1@example.com"}


def test_import_through_an_unknown_or_export_template_fails(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text(csv_rows("unknown", 1), encoding="utf-8")
    unknown = run_cli("import", data, "-t", "nope", url=db_url)
    assert unknown.returncode == 1
    assert "Template 'nope' does not exist." in unknown.stderr
    export = run_cli("import", data, "-t", "visitors-export", url=db_url)
    assert export.returncode == 1
    assert "export (out) template" in export.stderr


# export -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported_data(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    data = tmp_path_factory.mktemp("export") / "export.csv"
    data.write_text(csv_rows("exp", 3), encoding="utf-8")
    assert run_cli("import", data, "-t", "visitors-import", url=db_url).returncode == 0
    return {f"exp{i}@example.com" for i in range(3)}


def _read(path: Path, fmt: str) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    return list(json.loads(text))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_export_to_a_file(db_url: str, exported_data: set[str], tmp_path: Path, fmt: str) -> None:
    output = tmp_path / f"out.{fmt}"
    result = run_cli("export", "visitors-export", "--output", output, url=db_url)
    assert result.returncode == 0, result.stderr
    rows = _read(output, fmt)
    assert exported_data <= {row["email"] for row in rows}
    assert f"Exported {len(rows)} rows to {output}." in result.stderr
    plates = {row["email"]: row["license_plate"] for row in rows}
    assert plates["exp0@example.com"] == "EXP-0"
    assert plates["exp1@example.com"] in ("", None)


def test_export_since_and_format(db_url: str, exported_data: set[str], tmp_path: Path) -> None:
    output = tmp_path / "since.txt"
    result = run_cli(
        "export", "visitors-export", "--since", "29990101000000", "-f", "csv", "-o", output, url=db_url
    )
    assert result.returncode == 0, result.stderr
    lines = output.read_text().splitlines()
    assert len(lines) == 1  # the header alone
    assert lines[0].startswith("visitor_id,barcode,email,")
    everything = run_cli("export", "visitors-export", "--since", "2000-01-01T00:00:00Z", url=db_url)
    emails = {json.loads(line)["email"] for line in everything.stdout.splitlines()}  # jsonl on stdout
    assert exported_data <= emails
    bad = run_cli("export", "visitors-export", "--since", "last week", url=db_url)
    assert bad.returncode == 2
    assert "--since" in bad.stderr
    bad_format = run_cli("export", "visitors-export", "--format", "xlsx", url=db_url)
    assert bad_format.returncode == 2


def test_export_nested_names_flatten_in_csv(db_url: str, exported_data: set[str], tmp_path: Path) -> None:
    template = tmp_path / "nested-cli.yaml"
    template.write_text(NESTED_EXPORT, encoding="utf-8")
    assert run_cli("templates", "put", template, url=db_url).returncode == 0
    as_csv = run_cli("export", "nested-cli", "--format", "csv", url=db_url)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert list(rows[0]) == ["contact.email", "contact.name", "car.plate"]
    assert {"contact.email": "exp0@example.com", "contact.name": "Lee0", "car.plate": "EXP-0"} in rows
    as_json = run_cli("export", "nested-cli", "--format", "json", url=db_url)
    assert {
        "contact": {"email": "exp0@example.com", "name": "Lee0"},
        "car": {"plate": "EXP-0"},
    } in json.loads(as_json.stdout)


def test_export_since_counts_a_deleted_child(db_url: str, engine: Engine) -> None:
    """A row counts as changed when any entity feeding it changed: a deleted external id too."""
    sessions = make_session_factory(engine)
    long_ago = datetime(2020, 6, 1, tzinfo=UTC)
    with unit_of_work(sessions) as session:
        for name in ("gone", "kept"):
            visitor = visitor_service.create(
                session,
                {
                    "email": f"deleted-{name}@example.com",
                    "first_name": "Ann",
                    "last_name": "Lee",
                    "gender": "f",
                    "country_code": "FR",
                    "acquisition_pc_code": "FR-SC-123",
                },
            )
            external_ids.service.create(
                session,
                {
                    "visitor_id": visitor.visitor_id,
                    "external_type": "crm_id",
                    "external_id": f"crm-deleted-{name}",
                    "pc_code": None,
                },
            )
    with unit_of_work(sessions) as session:
        for model, column in ((Visitor, Visitor.email), (ExternalId, ExternalId.external_id)):
            session.execute(
                update(model)
                .where(column.like("%deleted-%"))
                .values(update_date=long_ago, creation_date=long_ago)
            )

    def exported() -> list[tuple[str, str | None]]:
        result = run_cli("export", "visitors-export", "--since", "20210101000000", url=db_url)
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        return [(row["email"], row["external_id"]) for row in rows if row["email"].startswith("deleted-")]

    assert exported() == []
    with unit_of_work(sessions) as session:
        gone = session.scalars(select(ExternalId).where(ExternalId.external_id == "crm-deleted-gone")).one()
        external_ids.service.delete(session, gone)
    assert exported() == [("deleted-gone@example.com", None)]


# CSV files as spreadsheets save them: delimiter, encoding, header, ragged rows ------------------------

EXCEL_ROWS = [
    ("Prénom", "Nom usage", "Email"),
    ("Élodie", "Lefèvre", "excel-elodie@example.fr"),
    ("José", "Núñez; Ortiz", "excel-jose@example.fr"),  # a quoted cell holding the delimiter
    ("Zoë", "Brontë", "excel-zoe@example.fr"),
]


def _excel_csv(path: Path, encoding: str, bom: bytes = b"") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(EXCEL_ROWS)
    path.write_bytes(bom + buffer.getvalue().encode(encoding))
    return path


def _seed_template(db_url: str, tmp_path: Path) -> None:
    template = tmp_path / "seed-contacts.xml"
    template.write_text(SEED_XML, encoding="utf-8")
    assert run_cli("templates", "put", template, url=db_url).returncode == 0


def _last_names(engine: Engine, prefix: str) -> dict[str, str | None]:
    with engine.connect() as conn:
        rows = conn.execute(select(Visitor.email, Visitor.last_name).where(Visitor.email.startswith(prefix)))
        return {row.email: row.last_name for row in rows}


def test_import_an_excel_csv_in_cp1252_with_semicolons(db_url: str, engine: Engine, tmp_path: Path) -> None:
    _seed_template(db_url, tmp_path)
    data = _excel_csv(tmp_path / "excel.csv", "cp1252")
    # As UTF-8 (the default) the accents do not decode: one line that says what to do.
    refused = run_cli("import", data, "-t", "seed-contacts", url=db_url)
    assert refused.returncode == 1
    assert "--encoding cp1252" in refused.stderr
    result = run_cli("import", data, "-t", "seed-contacts", "--encoding", "cp1252", url=db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 rows processed, 0 failed." in result.stdout  # the semicolon was detected
    assert _last_names(engine, "excel-") == {
        "excel-elodie@example.fr": "Lefèvre",
        "excel-jose@example.fr": "Núñez; Ortiz",
        "excel-zoe@example.fr": "Brontë",
    }


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_byte_order_mark_says_the_encoding(
    db_url: str, engine: Engine, tmp_path: Path, encoding: str
) -> None:
    """Excel's "CSV UTF-8" starts with a UTF-8 byte-order mark, its "Unicode text" is UTF-16 with one: the
    mark wins over --encoding, and never sticks to the first column's name."""
    _seed_template(db_url, tmp_path)
    rows = [(first, last, email.replace("excel-", f"bom-{encoding}-")) for first, last, email in EXCEL_ROWS]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t" if encoding == "utf-16" else ";").writerows(rows)
    data = tmp_path / "bom.csv"
    data.write_bytes(buffer.getvalue().encode(encoding))
    result = run_cli("import", data, "-t", "seed-contacts", "--encoding", "cp1252", url=db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 rows processed, 0 failed." in result.stdout
    assert _last_names(engine, f"bom-{encoding}-")[f"bom-{encoding}-elodie@example.fr"] == "Lefèvre"


def test_the_delimiter_can_be_given(db_url: str, engine: Engine, tmp_path: Path) -> None:
    data = tmp_path / "piped.csv"
    data.write_text(csv_rows("piped", 2).replace(",", "|"), encoding="utf-8")
    wrong = run_cli("import", data, "-t", "visitors-import", "--delimiter", ";", url=db_url)
    assert wrong.returncode == 2
    assert "semicolon" in wrong.stderr
    assert run_cli("import", data, "-t", "visitors-import", "--delimiter", ":", url=db_url).returncode == 2
    result = run_cli("import", data, "-t", "visitors-import", "--delimiter", "|", url=db_url)
    assert result.returncode == 0, result.stderr
    assert visitor_emails(engine, "piped") == {"piped0@example.com", "piped1@example.com"}


def test_a_header_naming_none_of_the_template_columns_is_refused_before_any_row(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    data = tmp_path / "other.csv"
    data.write_text("mail,prenom\nheader-x@example.com,X\n" + "garbage\n" * 3, encoding="utf-8")
    result = run_cli("import", data, "-t", "visitors-import", url=db_url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "'mail', 'prenom'" in lines[0]
    assert "email" in lines[0]  # the names the template reads
    assert "first_name" in lines[0]
    assert "rows processed" not in result.stdout
    assert visitor_emails(engine, "header-") == set()


def test_a_row_with_the_wrong_number_of_values_fails_that_row_only(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    text = csv_rows("ragged", 4)
    lines = text.splitlines()
    lines[2] += ",extra"  # row 1: one value too many
    lines[3] = lines[3].rsplit(",", 3)[0]  # row 2: three too few
    data = tmp_path / "ragged.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report_path = tmp_path / "ragged.json"
    result = run_cli("import", data, "-t", "visitors-import", "--report", report_path, url=db_url)
    assert result.returncode == 1
    assert "4 rows processed, 2 failed." in result.stdout
    errors = json.loads(report_path.read_text())["errors"]
    assert [(e["index"], e["message"]) for e in errors] == [
        (1, "line 3: 9 values for the 8 columns of the header (delimiter: comma)"),
        (2, "line 4: 5 values for the 8 columns of the header (delimiter: comma)"),
    ]
    assert visitor_emails(engine, "ragged") == {"ragged0@example.com", "ragged3@example.com"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-o", "out.xlsx"), "unknown extension '.xlsx'; use .csv, .jsonl, .ndjson or .json"),
        (("-o", "out.json", "--format", "csv"), "out.json is a .json file, not csv"),
    ],
)
def test_export_refuses_an_unknown_or_conflicting_extension(
    db_url: str, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    resolved = [str(tmp_path / a) if a.startswith("out.") else a for a in args]
    result = run_cli("export", "visitors-export", *resolved, url=db_url)
    assert result.returncode == 2
    assert [message in line for line in result.stderr.strip().splitlines()] == [True]
    assert list(tmp_path.iterdir()) == []


def test_export_with_a_format_may_write_any_extension(db_url: str, tmp_path: Path) -> None:
    result = run_cli("export", "visitors-export", "-o", tmp_path / "out.txt", "--format", "csv", url=db_url)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.txt").read_text().startswith("visitor_id,barcode,email,")
