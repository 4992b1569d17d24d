"""Test fixtures: a real database (SQLite by default, PostgreSQL when VISITORHUB_TEST_DATABASE_URL says so),
migrated once by Alembic, and one rolled-back transaction per test."""

from __future__ import annotations

import os

# Wide tables in the CLI's output (rich reads COLUMNS when its consoles are made, at import).
os.environ.setdefault("COLUMNS", "250")
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from tests.servers import Receiver, running_receiver
from visitorhub.app import create_app
from visitorhub.config import Settings
from visitorhub.core import auth
from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
from visitorhub.migrations import upgrade

TEST_DB_ENV = "VISITORHUB_TEST_DATABASE_URL"


@contextmanager
def own_postgres_database(url: str) -> Iterator[str]:
    """A database of this test process's own on the server `url` names, dropped afterwards: parallel
    workers (pytest-xdist) and parallel test runs never share a schema."""
    name = f"vh_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
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


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    factory = make_session_factory(connection)
    with factory() as session:
        yield session


@pytest.fixture
def app(settings: Settings, connection: Connection) -> FastAPI:
    return create_app(settings, bind=connection)


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
def fresh_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database migrated to head whose commits are real, for tests with several processes,
    threads or connections: a SQLite file, or on the PostgreSQL pass a new database, dropped afterwards."""
    if not database_url.startswith("postgresql"):
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        upgrade(url)
        yield url
        return
    with own_postgres_database(database_url) as url:
        upgrade(url)
        yield url


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
