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
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import fastapi.dependencies.models as fastapi_dependency_models
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, text
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
# table (exact centre lists) are marked `no_reference_centers`: they start with these deleted in their
# transaction.
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
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The database the tests' rolled-back transactions run in (a SQLite file, or on PostgreSQL a database
    of this process's own): a copy of the process's migrated template, with the reference centres."""
    with new_database(tmp_path_factory.mktemp("session")) as url:
        yield url


_KEYS: dict[str, str] = {}  # the plain text of the keys in the session database, by scope


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The session database's engine. Its baseline, committed once: the reference centres (from the
    template) and a key per scope (see `keys`). Each test runs in a transaction rolled back at its end."""
    engine = make_engine(database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        for scope in auth.SCOPES:
            _row, _KEYS[scope] = auth.create_key(session, f"test-{scope}", scope)
    yield engine
    engine.dispose()


_SETTINGS: dict[tuple[Any, ...], Settings] = {}


def settings_for(**values: Any) -> Settings:
    """`Settings(**values)` as built now (the process's VISITORHUB_ variables read too), made once per values
    and environment and copied for each caller: building them reads every source again, each test."""
    environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("VISITORHUB_"))
    key = (tuple(sorted(values.items())), tuple(environment))
    if key not in _SETTINGS:
        _SETTINGS[key] = Settings(**values)
    return _SETTINGS[key].model_copy()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url=database_url, allow_private_targets=True)


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
    """Every test with a database starts with the reference centres (see REFERENCE_CENTERS), committed in
    the session database, unless marked `no_reference_centers`: then its transaction starts by deleting
    them."""
    if "connection" in request.fixturenames and request.node.get_closest_marker("no_reference_centers"):
        request.getfixturevalue("connection").execute(delete(Center))


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    factory = make_session_factory(connection)
    with factory() as session:
        yield session


@cache
def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, built once per process (about 0.7 s) for the tests that read it: read it,
    never change it."""
    return create_app(Settings(database_url="sqlite://")).openapi()


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
    """A plain-text key per scope: the session database's, named test-read, test-write and test-admin
    (created once per process: a test that revokes one does so in its rolled-back transaction)."""
    return dict(_KEYS)


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


_TEMPLATES: dict[bool, str] = {}  # the process's migrated databases that copies are made of, once made


def _template(centers: bool) -> str:
    """A database migrated to head (with the reference centres when `centers`), made once per process and
    removed at its exit: the SQLite file's path, or the PostgreSQL database's name. Migrating costs about a
    second; a copy, a few milliseconds."""
    if centers in _TEMPLATES:
        return _TEMPLATES[centers]
    server = os.environ.get(TEST_DB_ENV)
    if server:
        holder = own_postgres_database(server, template=_template(False) if centers else None)
        url = holder.__enter__()
        atexit.register(holder.__exit__, None, None, None)
        made = make_url(url).database or ""
    else:
        directory = tempfile.mkdtemp(prefix="visitorhub-template-")
        atexit.register(shutil.rmtree, directory, True)
        made = str(Path(directory) / f"template-{'centers' if centers else 'schema'}.db")
        url = f"sqlite:///{made}"
        if centers:
            shutil.copyfile(_template(False), made)
    if centers:
        engine = make_engine(url)
        with engine.begin() as conn:
            seed_reference_centers(conn)
        engine.dispose()
    else:
        upgrade(url)
    if not server:
        assert not Path(f"{made}-wal").exists(), "a template is copied as one file"
    _TEMPLATES[centers] = made
    return made


@contextmanager
def copied_database(tmp: Path, centers: bool) -> Iterator[str]:
    """A database of its own migrated to head (with the reference centres when `centers`): a SQLite file
    in `tmp`, or a PostgreSQL database dropped afterwards. A copy of a template made once per process."""
    template = _template(centers)
    server = os.environ.get(TEST_DB_ENV)
    if server:
        with own_postgres_database(server, template=template) as url:
            yield url
        return
    path = tmp / f"{'fresh' if centers else 'session'}-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, path)
    yield f"sqlite:///{path}"


def new_database(tmp: Path) -> AbstractContextManager[str]:
    """A database of its own whose commits are real, migrated to head with the reference centres."""
    return copied_database(tmp, centers=True)


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
