"""Alembic migrations, shipped inside the package so an installed visitorhub can upgrade its database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

HERE = Path(__file__).parent


class UpgradeStopped(RuntimeError):
    """A migration met data it cannot carry over as it is, and changed nothing: its message names the rows
    and what to do with them (the CLI prints it as one error, not a traceback)."""


def alembic_config(url: str, connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head", connection: Any = None) -> None:
    """Apply pending migrations (`connection`: run inside a caller's connection, e.g. tests). An unknown
    revision is refused (CommandError) before the database is opened, so no SQLite file is left behind."""
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    config = alembic_config(url, connection)
    try:
        ScriptDirectory.from_config(config).get_revisions(revision)
    except RevisionError as exc:
        raise CommandError(str(exc)) from None
    command.upgrade(config, revision)


def pending(url: str, connection: Any) -> bool:
    """True when the database is behind the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    return MigrationContext.configure(connection).get_current_revision() != head
