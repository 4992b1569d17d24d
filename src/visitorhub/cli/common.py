"""What every command shares: the consoles, the database sessions, logging, and how errors end a command."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from visitorhub.errors import AppError

if TYPE_CHECKING:  # the HTTP and database stacks load when a command needs them, not for --help
    from sqlalchemy.orm import Session, sessionmaker

    from visitorhub.config import Settings

err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` on stderr as is (no markup); raise the result to exit with `code`."""
    err.print(message, markup=False, highlight=False)
    return typer.Exit(code)


@contextmanager
def app_errors() -> Iterator[None]:
    """Expected errors (unknown name, invalid input...) as their message, naming the field, and exit 1."""
    try:
        yield
    except AppError as exc:
        where = f"{exc.field}: " if exc.field and not exc.message.startswith(f"{exc.field}:") else ""
        raise fail(f"{where}{exc.message}") from None


# Lazy stand-ins for the database and settings helpers: the CLI module tree imports none of their stacks.


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """core.db.unit_of_work, imported when a command opens one."""
    from visitorhub.core.db import unit_of_work as open_unit

    with open_unit(factory) as session:
        yield session


def checkpoint(session: Session) -> None:
    from visitorhub.core.db import checkpoint as commit_so_far

    commit_so_far(session)


def get_settings() -> Settings:
    from visitorhub.config import get_settings as read_settings

    return read_settings()


def sessions(
    settings: Settings | None = None, *, readonly: bool = False, migrate: bool = False
) -> sessionmaker[Session]:
    """Sessions on VISITORHUB_DATABASE_URL; `migrate`: first bring the schema up to date (long-running
    commands, like `serve`)."""
    from visitorhub.core.db import make_engine, make_session_factory

    settings = settings or get_settings()
    if migrate:
        migrate_if_needed(settings)
    return make_session_factory(make_engine(settings.database_url), readonly=readonly)


def migrate_if_needed(settings: Settings) -> None:
    """Apply pending migrations when VISITORHUB_AUTO_MIGRATE allows it; otherwise refuse an old schema.
    (Alembic is imported here: commands that do not migrate do not pay for it.)"""
    from visitorhub.core.db import make_engine
    from visitorhub.migrations import pending, upgrade

    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        behind = pending(settings.database_url, conn)
    engine.dispose()
    if behind:
        if not settings.auto_migrate:
            err.print("[red]The database schema is behind; run `visitorhub db upgrade`.[/red]")
            raise typer.Exit(1)
        upgrade(settings.database_url)


def setup_logging(settings: Settings) -> None:
    """Log lines for long-running commands. httpx logs every request's full URL at INFO, and a receiver's
    URL may carry a token in its query string: its loggers only speak from WARNING."""
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
