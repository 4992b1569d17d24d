"""First run and bad input: no command but `serve` and `db upgrade` creates a database; on a missing or
unmigrated one every other command says which database and what fixes it, in one line, exit 2; and no
expected error anywhere in the CLI ends in a traceback (every command, walked from the Typer app)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup

from tests.cli.runner import Completed, run_cli
from visitorhub.cli import app
from visitorhub.migrations import upgrade

FIX = "visitorhub db upgrade"
# Commands that never need a database (or, for serve and db upgrade, create it).
NO_DATABASE = {("version",), ("emulate", "entervo"), ("serve",), ("db", "upgrade"), ("push",)}


def command_paths() -> list[tuple[str, ...]]:
    """Every leaf command of the CLI, as the words that call it."""

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield path

    return sorted(walk(typer.main.get_command(app), ()))


# The smallest call of each command that would go on to its database (required arguments filled in).
MINIMAL: dict[tuple[str, ...], tuple[str, ...]] = {
    ("keys", "create"): ("someone",),
    ("keys", "revoke"): ("1",),
    ("templates", "show"): ("visitors-import",),
    ("templates", "put"): ("{template}",),
    ("templates", "delete"): ("nope",),
    ("import",): ("{rows}", "--template", "visitors-import"),
    ("export",): ("visitors-export",),
    ("streams", "replay"): ("0123",),
    ("connectors", "sync"): ("nope",),
    ("channels", "show"): ("nope",),
    ("channels", "records"): ("nope",),
    ("channels", "reapply"): ("nope",),
}


def _no_traceback(result: Completed, args: tuple[str, ...]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, (args, result.stderr[-2000:])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    template = tmp_path / "mine.yaml"
    template.write_text(
        "name: mine\ndirection: in\nentities:\n  - type: Visitor\n    key: [email]\n"
        "    fields:\n      - {name: email, source: email}\n"
    )
    rows = tmp_path / "rows.csv"
    rows.write_text("email\na@example.com\n")
    return {"template": template, "rows": rows}


def _database_calls(files: dict[str, Path]) -> list[tuple[str, ...]]:
    calls = []
    for path in command_paths():
        if path in NO_DATABASE or path == ("templates", "validate"):  # validate reads a file only
            continue
        extra = tuple(arg.format(**files) for arg in MINIMAL.get(path, ()))
        calls.append((*path, *extra))
    return calls


def test_every_command_is_covered_by_these_tests() -> None:
    """A new command must say here what it does on a missing database and on bad input."""
    paths = set(command_paths())
    # The worker runs until stopped on a good database: only its missing-database case is run.
    assert paths - {("worker",)} == set(BAD_INPUT), paths ^ set(BAD_INPUT)


def test_on_a_missing_database_every_command_says_which_and_what_fixes_it(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    database = tmp_path / "nothing-here.db"
    url = f"sqlite:///{database}"
    calls = _database_calls(files)
    assert len(calls) >= 15
    for args in calls:
        result = run_cli(*args, url=url)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert str(database) in lines[0], (args, lines)
        assert FIX in lines[0], (args, lines)
        _no_traceback(result, args)
        assert not database.exists(), f"{args} created the database file"


def test_on_an_unmigrated_database_every_command_says_so(tmp_path: Path, files: dict[str, Path]) -> None:
    database = tmp_path / "empty.db"
    database.touch()  # a file, but no schema: as `sqlite3 empty.db` would leave it
    url = f"sqlite:///{database}"
    for args in _database_calls(files):
        result = run_cli(*args, url=url)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, lines)
        assert "no visitorhub schema" in lines[0], (args, lines)
        assert FIX in lines[0], (args, lines)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)  # nothing half-made


def test_a_schema_behind_is_refused_or_migrated_by_the_long_running_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    refused = run_cli("keys", "list", url=url)
    assert refused.returncode == 2
    assert "schema revision 0001" in refused.stderr
    assert FIX in refused.stderr
    off = run_cli("streams", "list", url=url, VISITORHUB_AUTO_MIGRATE="false")
    assert off.returncode == 2
    assert FIX in off.stderr
    # Stream runs, the worker and connector syncs migrate when VISITORHUB_AUTO_MIGRATE allows it (default).
    assert run_cli("streams", "list", url=url).returncode == 0
    assert run_cli("keys", "list", url=url).returncode == 0


def test_the_password_is_masked_when_the_database_cannot_be_reached() -> None:
    url = "postgresql+psycopg://vh:s3cr3t-pw@127.0.0.1:1/vh"  # nothing listens on port 1
    for args in (("keys", "list"), ("db", "upgrade"), ("serve",)):
        result = run_cli(*args, url=url)
        assert result.returncode == 2, (args, result.stderr)
        assert "s3cr3t-pw" not in result.stdout + result.stderr
        assert "postgresql+psycopg://vh:***@127.0.0.1:1/vh" in result.stderr
        _no_traceback(result, args)


# Bad input on a migrated database: every command, each with the inputs a user gets wrong.

BAD_INPUT: dict[tuple[str, ...], list[tuple[str, ...]]] = {
    ("version",): [("--bogus",)],
    ("db", "upgrade"): [("no-such-revision",)],
    ("keys", "create"): [("x", "--scope", "root"), ()],
    ("keys", "list"): [("extra",)],
    ("keys", "revoke"): [("999999",), ("abc",), ("-1",)],
    ("templates", "list"): [("extra",)],
    ("templates", "show"): [("nope",), ()],
    ("templates", "validate"): [
        ("{missing}.yaml",),
        ("{rows}",),
        ("{bad_template}",),
        ("{binary_template}",),
        ("{directory_template}",),
    ],
    ("templates", "put"): [("{missing}.yaml",), ("{bad_template}",), ("{binary_template}",)],
    ("templates", "delete"): [("nope",), ("visitors-import",)],
    ("import",): [
        ("{missing}.csv", "-t", "visitors-import"),
        ("{bad_template}", "-t", "visitors-import"),
        ("{rows}", "-t", "nope"),
        ("{rows}", "-t", "visitors-export"),
        ("{bad_json}", "-t", "visitors-import"),
        ("{binary_csv}", "-t", "visitors-import"),
        ("{rows}", "-t", "visitors-import", "--report", "{missing}/report.json"),
        ("{rows}", "-t", "visitors-import", "--chunk-size", "0"),
        ("{rows}", "-t", "visitors-import", "--delimiter", "::"),
        ("{rows}", "-t", "visitors-import", "--encoding", "klingon"),
        ("{cp1252_csv}", "-t", "visitors-import"),
        ("{bad_header_csv}", "-t", "visitors-import"),
    ],
    ("export",): [
        ("nope",),
        ("visitors-import",),
        ("visitors-export", "--since", "yesterday"),
        ("visitors-export", "--format", "xlsx"),
        ("visitors-export", "-o", "{missing}.xlsx"),
        ("visitors-export", "-o", "{missing}/out.csv"),
    ],
    ("streams", "run"): [("nope",)],
    ("streams", "list"): [("extra",)],
    ("streams", "replay"): [("no-such-delivery",)],
    ("connectors", "list"): [("extra",)],
    ("connectors", "sync"): [("nope",)],
    ("channels", "list"): [("extra",)],
    ("channels", "show"): [("nope",)],
    ("channels", "records"): [("nope",), ("nope", "--status", "lost"), ("nope", "--since", "later")],
    ("channels", "reapply"): [("nope",), ("nope", "--status", "applied")],
    ("push",): [
        ("{missing}.csv", "--to", "https://receiver.example.com/in"),
        ("{rows}", "--to", "https://receiver.example.com/in", "--auth", "oauth:x"),
        ("{rows}", "--to", "not a url", "--attempts", "1", "--wait", "0"),
        ("{rows}", "--to", "http://127.0.0.1:9/in", "--attempts", "1", "--wait", "0"),  # private: refused
    ],
    ("emulate", "entervo"): [("--port", "not-a-port")],
    ("serve",): [("--port", "not-a-port")],
}


@pytest.fixture
def bad_files(tmp_path: Path, files: dict[str, Path]) -> dict[str, str]:
    bad_template = tmp_path / "bad.yaml"
    bad_template.write_text("name: [unclosed\n  direction: sideways\n")
    binary_template = tmp_path / "binary.yaml"
    binary_template.write_bytes(b"\xff\xfe\x00bad\x9c")
    directory_template = tmp_path / "folder.yaml"
    directory_template.mkdir()
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('[{"email": "a@example.com"},, oops')
    binary_csv = tmp_path / "binary.csv"
    binary_csv.write_bytes(b"email\n\xff\xfe\x9c@example.com\n")
    cp1252_csv = tmp_path / "cp1252.csv"
    cp1252_csv.write_bytes("email;first_name\nzoe@example.com;Zoë\n".encode("cp1252"))
    bad_header_csv = tmp_path / "header.csv"
    bad_header_csv.write_text("mail,name\nzoe@example.com,Zoë\n")
    return {
        "cp1252_csv": str(cp1252_csv),
        "bad_header_csv": str(bad_header_csv),
        "missing": str(tmp_path / "missing"),
        "rows": str(files["rows"]),
        "bad_template": str(bad_template),
        "binary_template": str(binary_template),
        "directory_template": str(directory_template),
        "bad_json": str(bad_json),
        "binary_csv": str(binary_csv),
    }


def test_no_expected_error_prints_a_traceback(fresh_database_url: str, bad_files: dict[str, str]) -> None:
    if not fresh_database_url.startswith("sqlite"):
        pytest.skip("the CLI's errors do not depend on the database")
    for path, cases in BAD_INPUT.items():
        for case in cases:
            args = (*path, *(arg.format(**bad_files) for arg in case))
            result = run_cli(*args, url=fresh_database_url)  # an unexpected exception is raised here
            assert result.returncode != 0, (args, result.stdout)
            assert result.stderr.strip() or "Usage" in result.stdout, args
            _no_traceback(result, args)
    # None of it wrote anything: the built-in templates are still there, no key was made.
    listed = run_cli("keys", "list", url=fresh_database_url)
    assert listed.returncode == 0
    assert "someone" not in listed.stdout
