"""The console script on a temporary SQLite database: its commands in-process, `serve` as a real process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.cli.runner import run_cli
from tests.conftest import bearer, new_database
from visitorhub import __version__
from visitorhub.app import create_app
from visitorhub.cli import prepare_database
from visitorhub.config import Settings
from visitorhub.core.db import make_engine

KEY_RE = re.compile(r"^vh_[A-Za-z0-9_-]{20,}$")


def _clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any VISITORHUB_ setting, plus `extra`; a wide terminal for tables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITORHUB_")}
    env.update({"COLUMNS": "250", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}, **extra)
    return env


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "cli.db"
    url = f"sqlite:///{path}"
    result = run_cli("db", "upgrade", url=url)
    assert result.returncode == 0, result.stderr
    assert path.exists()
    return url


@pytest.fixture(scope="module")
def api(db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def create_key(db_url: str, name: str, scope: str) -> tuple[int, str]:
    result = run_cli("keys", "create", name, "--scope", scope, url=db_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    plain = lines[-1]
    assert KEY_RE.match(plain), result.stdout
    match = re.search(r"Created key (\d+)", result.stdout)
    assert match, result.stdout
    return int(match.group(1)), plain


def test_version() -> None:
    result = run_cli("version")
    assert result.returncode == 0
    assert result.stdout.strip() == __version__


def test_help_and_version_load_neither_the_http_nor_the_database_stack() -> None:
    """`visitorhub --help` and `version` start at once: FastAPI, SQLAlchemy and pydantic-settings stay out,
    and so do what only some commands print with (progress bars, row files; tables but for --help's own)."""
    probe = (
        "import sys, runpy; sys.argv = ['visitorhub', '{}'];\n"
        "try: runpy.run_module('visitorhub', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "heavy = [m for m in {} if m in sys.modules]\n"
        "print('LOADED', heavy)"
    )
    heavy = ["fastapi", "sqlalchemy", "pydantic_settings", "starlette", "rich.progress"]
    heavy.append("visitorhub.integration.templates.formats")
    for command, unwanted in (("--help", heavy), ("version", [*heavy, "rich.table"])):
        done = subprocess.run(
            [sys.executable, "-c", probe.format(command, unwanted)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "LOADED []" in done.stdout, (command, done.stdout[-500:], done.stderr[-2000:])


def test_no_arguments_prints_help() -> None:
    result = run_cli()
    assert result.returncode != 0
    assert "Usage" in result.stdout + result.stderr


def test_db_upgrade_creates_the_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            tables = {
                row[0] for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            }
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert {"visitor", "vehicle", "center", "visitor_center", "change_log", "api_key"} <= tables
    assert revision
    # Idempotent.
    again = run_cli("db", "upgrade", url=db_url)
    assert again.returncode == 0, again.stderr


def test_keys_create_prints_a_working_key(db_url: str, api: TestClient) -> None:
    _key_id, plain = create_key(db_url, "cli-writer", "write")
    assert api.get("/visitors", headers=bearer(plain)).status_code == 200
    center = {"pcCode": "CLI-1", "label": "CLI", "country": "FR", "isWestfield": False}
    assert api.post("/centers", json=center, headers=bearer(plain)).status_code == 201
    assert api.get("/changes", headers=bearer(plain)).status_code == 403
    assert api.get("/visitors", headers=bearer(plain[:-1])).status_code == 401


def test_keys_create_default_scope_is_read(db_url: str, api: TestClient) -> None:
    result = run_cli("keys", "create", "cli-default", url=db_url)
    assert result.returncode == 0, result.stderr
    plain = result.stdout.splitlines()[-1]
    assert KEY_RE.match(plain)
    assert api.get("/visitors", headers=bearer(plain)).status_code == 200
    center = {"pcCode": "CLI-2", "label": "CLI", "country": "FR", "isWestfield": False}
    assert api.post("/centers", json=center, headers=bearer(plain)).status_code == 403


def test_keys_list_shows_names_not_keys(db_url: str) -> None:
    _key_id, plain = create_key(db_url, "listed-key", "admin")
    result = run_cli("keys", "list", url=db_url)
    assert result.returncode == 0, result.stderr
    assert "listed-key" in result.stdout
    assert "admin" in result.stdout
    assert plain not in result.stdout
    assert plain not in result.stderr
    # Not even the secret part beyond the displayed prefix.
    assert plain[12:30] not in result.stdout


def test_keys_revoke(db_url: str, api: TestClient) -> None:
    key_id, plain = create_key(db_url, "to-revoke", "read")
    assert api.get("/visitors", headers=bearer(plain)).status_code == 200
    result = run_cli("keys", "revoke", str(key_id), url=db_url)
    assert result.returncode == 0, result.stderr
    assert str(key_id) in result.stdout
    assert api.get("/visitors", headers=bearer(plain)).status_code == 401
    listed = run_cli("keys", "list", url=db_url)
    row = next(line for line in listed.stdout.splitlines() if "to-revoke" in line)
    assert re.search(r"\d{4}-\d{2}-\d{2}T.*\d{4}-\d{2}-\d{2}T", row), row  # created and revoked


def test_keys_revoke_unknown_id_fails(db_url: str) -> None:
    result = run_cli("keys", "revoke", "999999", url=db_url)
    assert result.returncode != 0
    assert "999999" in result.stderr


def test_keys_revoke_refuses_the_last_active_admin_key(tmp_path: Path) -> None:
    with new_database(tmp_path) as url:  # a database of its own: no admin key but the ones made here
        _refuse_the_last_active_admin_key(url)


def _refuse_the_last_active_admin_key(url: str) -> None:
    first, _ = create_key(url, "first-admin", "admin")
    refused = run_cli("keys", "revoke", str(first), url=url)
    assert refused.returncode == 1
    assert "last active admin key" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    second, _ = create_key(url, "second-admin", "admin")
    assert run_cli("keys", "revoke", str(first), url=url).returncode == 0
    assert run_cli("keys", "revoke", str(second), url=url).returncode == 1


def test_keys_create_invalid_scope_fails(db_url: str) -> None:
    for scope in ("root", "ADMIN", ""):
        result = run_cli("keys", "create", f"bad-scope-{scope}", "--scope", scope, url=db_url)
        assert result.returncode != 0, scope
        assert "scope" in result.stderr
        assert not KEY_RE.match((result.stdout.splitlines() or [""])[-1])
    assert "bad-scope" not in run_cli("keys", "list", url=db_url).stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(cwd: Path) -> Iterator[tuple[str, Path, Path]]:
    """Run `python -m visitorhub serve` in `cwd` with no configuration; yields (base URL, stdout file,
    stderr file)."""
    port = _free_port()
    out_path = cwd / f"stdout-{port}.txt"
    err_path = cwd / f"stderr-{port}.txt"
    base = f"http://127.0.0.1:{port}"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "visitorhub", "serve", "--port", str(port)],
            cwd=cwd,
            env=_clean_env(),
            stdout=out,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + 20
            healthy = False
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        healthy = True
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            assert healthy, f"serve did not answer /health: {err_path.read_text()[-2000:]}"
            yield base, out_path, err_path
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_serve_without_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serving(tmp_path) as (base, out_path, err_path):
        stdout = out_path.read_text()
        log = err_path.read_text()
        port = base.rsplit(":", 1)[1]
        # The start-up line: the database (a password would be ***) and where it listens.
        assert (
            f"database sqlite:///{tmp_path / 'visitorhub.db'}; listening on http://127.0.0.1:{port}/" in log
        )
        assert "Running upgrade" in log  # migrations applied are said...
        for noise in ("Context impl", "Will assume", "setup plugin"):  # ...Alembic's plugin lines are not
            assert noise not in log, log
        assert log.count("VISITORHUB_SECRETS_KEY is not set") == 1, log
        keys = re.findall(r"^VISITORHUB_ADMIN_KEY=(vh_\S+)$", stdout, flags=re.MULTILINE)
        assert len(keys) == 1, stdout
        admin = keys[0]
        assert KEY_RE.match(admin)
        assert (tmp_path / "visitorhub.db").exists()

        assert httpx.get(f"{base}/visitors", headers=bearer(admin), timeout=5).status_code == 200
        assert httpx.get(f"{base}/keys", headers=bearer(admin), timeout=5).status_code == 200
        assert httpx.get(f"{base}/visitors", timeout=5).status_code == 401

    # A second start on the same database finds a key and prints none, nor makes one: what `serve` does
    # before it listens (prepare_database), run in this process (the real start-up was just proved).
    capsys.readouterr()
    url = f"sqlite:///{tmp_path / 'visitorhub.db'}"
    prepare_database(Settings(database_url=url, bootstrap_admin_key=True))
    assert "VISITORHUB_ADMIN_KEY" not in capsys.readouterr().out
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_key")).scalar() == 1
    engine.dispose()
