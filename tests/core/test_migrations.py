"""The Alembic migrations build exactly the schema the models declare, and can be undone."""

import warnings
from pathlib import Path

import pytest
from alembic import command
from alembic.util import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from visitorhub.core.db import make_engine
from visitorhub.migrations import alembic_config, upgrade


def _quietly_check(url: str) -> None:
    with warnings.catch_warnings():
        # Expression indexes (lower(email), coalesce(pc_code, '')) cannot be reflected on SQLite; they
        # are written by hand in the migration and tested by the uniqueness tests instead.
        warnings.simplefilter("ignore")
        command.check(alembic_config(url))


def test_models_match_migrations(engine: Engine, database_url: str) -> None:
    _quietly_check(database_url)


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    probe = make_engine(url)
    assert set(inspect(probe).get_table_names()) == {"alembic_version"}
    upgrade(url)
    assert {"visitor", "vehicle", "center", "change_log", "api_key"} <= set(inspect(probe).get_table_names())
    probe.dispose()
    _quietly_check(url)


def test_an_unknown_revision_is_refused_before_the_database_is_made(tmp_path: Path) -> None:
    path = tmp_path / "never.db"
    with pytest.raises(CommandError, match="nosuch"):
        upgrade(f"sqlite:///{path}", "nosuch")
    assert not path.exists()
