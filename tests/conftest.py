"""Test fixtures: a real database (SQLite by default, PostgreSQL when VISITORHUB_TEST_DATABASE_URL says so),
migrated once by Alembic, and one rolled-back transaction per test."""

from __future__ import annotations

import os

# Wide tables in the CLI's output (rich reads COLUMNS when its consoles are made, at import).
os.environ.setdefault("COLUMNS", "250")
import atexit
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fastapi.dependencies.models as fastapi_dependency_models
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from tests.servers import Receiver, running_receiver
from visitorhub.app import bind_database, create_app
from visitorhub.config import Settings
from visitorhub.core import auth
from visitorhub.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from visitorhub.migrations import upgrade
from visitorhub.models import Center

TEST_DB_ENV = "VISITORHUB_TEST_DATABASE_URL"

# Centres that exist before every test (a visitor's acquisitionPcCode, a visitor-centre's pcCode and
# imported rows must name an existing centre): the codes the tests refer to. Tests that need an empty centre
# table (exact centre lists) are marked `no_reference_centers`.
REFERENCE_CENTERS = (
    "FR-SC-1", "FR-SC-2", "FR-SC-001", "FR-SC-002", "FR-SC-010", "FR-SC-020", "FR-SC-042",
    "FR-SC-101", "FR-SC-123", "FR-SC-124", "FR-SC-300", "FR-SC-321", "FR-SC-400", "FR-SC-401",
    "FR-SC-402", "FR-SC-403", "FR-SC-4T", "FR-SC-501", "FR-SC-502", "FR-SC-503", "FR-SC-555",
    "FR-SC-556", "FR-SC-700", "FR-SC-701", "FR-SC-702", "FR-SC-777", "FR-SC-900", "FR-SC-901",
    "FR-SC-999", "FR-1", "FR-2", "DE-1", "GB-1", "BE-1", "BE-SC-1", "BE-SC-2",
)  # fmt: skip


def seed_reference_centers(connection: Connection) -> None:
    """Insert the reference centres as rows that were there before (no change records: not a change)."""
    now = utcnow()
    rows = [
        {
            "pc_code": code,
            "label": f"Centre {code}",
            "country": code[:2],
            "is_westfield": True,
            "creation_date": now,
            "update_date": now,
        }
        for code in REFERENCE_CENTERS
    ]
    connection.execute(insert(Center), rows)


@contextmanager
def own_postgres_database(url: str, template: str | None = None) -> Iterator[str]:
    """A database of this test process's own on the server `url` names (a copy of the database `template`
    when given), dropped afterwards: parallel workers (pytest-xdist) and parallel test runs never share a
    schema."""
    name = f"vh_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.engine.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """SQLite: a file in a temporary directory; PostgreSQL: a database of this process's own."""
    server = os.environ.get(TEST_DB_ENV)
    if server:
        with own_postgres_database(server) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="visitorhub-test-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, allow_private_targets=True)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One outer transaction per test, rolled back at the end: tests never see each other's rows."""
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture(autouse=True)
def release_apps() -> Iterator[None]:
    """Let each test's app go. FastAPI (0.165) keeps up to 4,096 endpoints per classification cache in
    fastapi.dependencies.models, and its own docs and OpenAPI endpoints are closures over their app: without
    this, every app a test builds (about 8 MB with 180 routes) stays alive and a worker grows to gigabytes."""
    yield
    for cached in vars(fastapi_dependency_models).values():
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()


@pytest.fixture(autouse=True)
def reference_centers(request: pytest.FixtureRequest) -> None:
    """Every test with a database starts with the reference centres (see REFERENCE_CENTERS)."""
    if "connection" in request.fixturenames and not request.node.get_closest_marker("no_reference_centers"):
        seed_reference_centers(request.getfixturevalue("connection"))


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    factory = make_session_factory(connection)
    with factory() as session:
        yield session


_APPS: dict[str, tuple[FastAPI, dict[str, Any]]] = {}


@pytest.fixture
def app(settings: Settings, connection: Connection) -> FastAPI:
    """The app for these settings, bound to this test's connection. One app per settings and process,
    rebound for each test: an app's first request makes FastAPI (0.165) build the fields of every included
    route (about 0.3 s for 180 routes), which thousands of tests would otherwise pay each."""
    key = settings.model_dump_json()
    if key not in _APPS:
        built = create_app(settings, bind=connection)
        _APPS[key] = (built, dict(built.state._state))
    found, pristine = _APPS[key]
    state = found.state._state
    state.clear()
    state.update(pristine)
    bind_database(found, connection, readonly_reads=False)
    found.dependency_overrides.clear()
    return found


@pytest.fixture
def keys(connection: Connection) -> dict[str, str]:
    """A plain-text key per scope."""
    factory = make_session_factory(connection)
    plain: dict[str, str] = {}
    with factory() as session:
        for scope in auth.SCOPES:
            _row, plain[scope] = auth.create_key(session, f"test-{scope}", scope)
        session.commit()
    return plain


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def anon(app: FastAPI) -> Iterator[TestClient]:
    """A client without credentials."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(app: FastAPI, keys: dict[str, str]) -> Iterator[TestClient]:
    """A client with the admin key (admin covers write and read)."""
    with TestClient(app, raise_server_exceptions=False, headers=bearer(keys["admin"])) as client:
        yield client


@pytest.fixture
def reader(app: FastAPI, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, headers=bearer(keys["read"])) as client:
        yield client


@pytest.fixture
def writer(app: FastAPI, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, headers=bearer(keys["write"])) as client:
        yield client


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database migrated to head whose commits are real, for tests with several processes,
    threads or connections: a SQLite file, or on the PostgreSQL pass a new database, dropped afterwards."""
    with new_database(tmp_path) as url:
        yield url


def migrated(url: str) -> None:
    """Bring the database at `url` to the newest schema, with the reference centres."""
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        seed_reference_centers(conn)
    engine.dispose()


_TEMPLATE: dict[str, str] = {}  # the process's migrated database that new_database copies, once made


def _migrated_template() -> str:
    """A database migrated to head with the reference centres, made once per process and removed at its
    exit: the SQLite file's path, or the PostgreSQL database's name."""
    if "made" in _TEMPLATE:
        return _TEMPLATE["made"]
    server = os.environ.get(TEST_DB_ENV)
    if server:
        holder = own_postgres_database(server)
        url = holder.__enter__()
        atexit.register(holder.__exit__, None, None, None)
        migrated(url)
        made = make_url(url).database or ""
    else:
        directory = tempfile.mkdtemp(prefix="visitorhub-template-")
        atexit.register(shutil.rmtree, directory, True)
        made = str(Path(directory) / "template.db")
        migrated(f"sqlite:///{made}")
        assert not Path(f"{made}-wal").exists(), "the template is copied as one file"
    _TEMPLATE["made"] = made
    return made


@contextmanager
def new_database(tmp: Path) -> Iterator[str]:
    """A database of its own, migrated to head with the reference centres: a SQLite file in `tmp`, or a
    PostgreSQL database dropped afterwards. A copy of one migrated once per process (migrating costs about
    a second, copying a few milliseconds)."""
    template = _migrated_template()
    server = os.environ.get(TEST_DB_ENV)
    if server:
        with own_postgres_database(server, template=template) as url:
            yield url
        return
    path = tmp / f"fresh-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (tests/servers.py), answering 200 unless told otherwise."""
    yield from running_receiver()


@pytest.fixture
def committed_api(fresh_database_url: str) -> Iterator[TestClient]:
    """An admin client of an app on `fresh_database_url`: its requests really commit."""
    with committed_client(fresh_database_url) as client:
        yield client


@contextmanager
def committed_client(url: str, **settings: Any) -> Iterator[TestClient]:
    """An admin client of an app on `url` whose requests really commit (no outer test transaction)."""
    app = create_app(Settings(database_url=url, allow_private_targets=True, **settings))
    with unit_of_work(app.state.sessions) as session:
        _row, key = auth.create_key(session, f"test-admin-{uuid.uuid4().hex[:6]}", "admin")
    try:
        with TestClient(app, raise_server_exceptions=False, headers=bearer(key)) as client:
            yield client
    finally:
        app.state.engine.dispose()
