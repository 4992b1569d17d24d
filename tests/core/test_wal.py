"""The server checkpoints SQLite's write-ahead log from a thread of its own (core.wal)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from visitorhub.app import create_app
from visitorhub.config import Settings
from visitorhub.core.db import make_engine
from visitorhub.core.wal import BackgroundCheckpointer, has_wal_file
from visitorhub.migrations import upgrade


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
    yield engine
    engine.dispose()


def _write(engine: Engine, rows: int) -> None:
    """About 2 MB through the log: far below the writers' own checkpoint (10,000 pages)."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO filler (body) VALUES (:body)"),
            [{"body": f"{n:04d}" + "x" * 2000} for n in range(rows)],
        )


def _database_bytes(engine: Engine) -> int:
    return Path(str(engine.url.database)).stat().st_size


def _threads() -> list[str]:
    return [thread.name for thread in threading.enumerate()]


def test_the_log_is_copied_into_the_database_by_the_thread(engine: Engine) -> None:
    before = _database_bytes(engine)
    _write(engine, 1000)
    time.sleep(0.3)
    assert _database_bytes(engine) == before  # the pages are in the log only: the writer did not copy them
    checkpointer = BackgroundCheckpointer(engine, 0.02)
    checkpointer.start()
    try:
        deadline = time.monotonic() + 10
        while _database_bytes(engine) < before + 1000 * 2000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _database_bytes(engine) >= before + 1000 * 2000
        assert checkpointer.checkpoints >= 1
    finally:
        checkpointer.stop()
    assert not checkpointer.running
    with engine.connect() as conn:  # nothing lost: every row reads back
        assert conn.execute(text("SELECT count(*), min(body), max(body) FROM filler")).one()[0] == 1000


def test_writers_and_readers_go_on_while_it_runs(engine: Engine) -> None:
    checkpointer = BackgroundCheckpointer(engine, 0.001)
    checkpointer.start()
    try:
        for _round in range(20):
            _write(engine, 50)
            with engine.connect() as conn:
                conn.execute(text("SELECT count(*) FROM filler")).scalar_one()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM filler")).scalar_one() == 1000
    finally:
        checkpointer.stop()
    assert checkpointer.checkpoints >= 1


def test_only_a_sqlite_file_has_a_log_to_copy(engine: Engine) -> None:
    assert has_wal_file(engine)
    assert not has_wal_file(make_engine("sqlite://"))
    assert not has_wal_file(make_engine("sqlite:///:memory:"))


def _app(tmp_path: Path, **settings: int) -> TestClient:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    return TestClient(create_app(Settings(database_url=url, **settings)))  # type: ignore[arg-type]


def test_the_server_runs_it_while_it_serves_and_stops_it_with_itself(tmp_path: Path) -> None:
    client = _app(tmp_path, sqlite_checkpoint_ms=10)
    with client:
        checkpointer = client.app.state.checkpointer  # type: ignore[attr-defined]
        assert checkpointer is not None
        assert checkpointer.running
        assert checkpointer.period == 0.01
        assert "sqlite-checkpointer" in _threads()
    assert not checkpointer.running


def test_zero_leaves_checkpoints_to_the_writers(tmp_path: Path) -> None:
    client = _app(tmp_path, sqlite_checkpoint_ms=0)
    with client:
        assert client.app.state.checkpointer is None  # type: ignore[attr-defined]
        assert "sqlite-checkpointer" not in _threads()
