"""What every command shares: the consoles, the database sessions, logging, and how errors end a command."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from visitorhub.errors import AppError

if TYPE_CHECKING:  # the HTTP and database stacks load when a command needs them, not for --help
    from rich.progress import Progress
    from sqlalchemy.orm import Session, sessionmaker

    from visitorhub.config import Settings

err = Console(stderr=True)
out = Console()


def file_progress(counted: str) -> Progress:
    """The progress bar of a command that reads a file (on stderr, gone when done): bytes read, and how
    many `counted` (rows, records) so far, in the task's `count` field. rich.progress loads here, not at
    start-up."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn(f"{{task.fields[count]}} {counted}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` on stderr as is (no markup, not wrapped: one line stays one line for scripts and
    log collectors); raise the result to exit with `code`."""
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def app_errors() -> Iterator[None]:
    """Expected errors (unknown name, invalid input...) as their message, naming the field, and exit 1."""
    try:
        yield
    except AppError as exc:
        where = f"{exc.field}: " if exc.field and not exc.message.startswith(f"{exc.field}:") else ""
        raise fail(f"{where}{exc.message}") from None


def expected_error(exc: BaseException) -> tuple[str, int] | None:
    """The one line and exit code for an error a user can meet without a bug (a file that cannot be read
    or written, a database that is locked or gone, a sealed secret without its key), or None for a bug."""
    import sys

    if isinstance(exc, AppError):
        where = f"{exc.field}: " if exc.field and not exc.message.startswith(f"{exc.field}:") else ""
        return f"{where}{exc.message}", 1
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}", 1
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            return f"Database error: {_first_line(exc)}", 1
    if "visitorhub.migrations" in sys.modules:
        from visitorhub.migrations import UpgradeStopped

        if isinstance(exc, UpgradeStopped):
            return str(exc), 1
    if "cryptography" in sys.modules:
        from visitorhub.core.secrets import SecretUnavailable

        if isinstance(exc, SecretUnavailable):
            return f"Cannot open a stored secret: {exc}", 1
    return None


class CliGroup(TyperGroup):
    """The root command: an expected error that a command let through ends in one line, not a traceback
    (a traceback is for bugs)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            expected = expected_error(exc)
            if expected is None:
                raise
            raise fail(*expected) from None


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
    """Sessions on VISITORHUB_DATABASE_URL, once the database is there at the newest schema: otherwise one
    line naming it and `visitorhub db upgrade`, and exit 2 (a database file is never created here).
    `migrate`: a schema that is only behind is brought up to date when VISITORHUB_AUTO_MIGRATE allows it
    (long-running commands: the worker, stream runs, connector syncs)."""
    from visitorhub.core.db import make_engine, make_session_factory

    settings = settings or get_settings()
    require_database(settings, migrate=migrate)
    return make_session_factory(make_engine(settings.database_url), readonly=readonly)


def masked(url: str) -> str:
    """The database URL as it may be printed: its password as ***."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an invalid URL)"


def _missing_sqlite_file(url: str) -> bool:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    if parsed.database.startswith("file:"):  # a URI (?uri=true): sqlite3 says for itself
        return False
    return not Path(parsed.database).exists()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def require_database(settings: Settings, *, migrate: bool = False) -> None:
    """Exit 2 with one line naming the database (password masked) and the command that fixes it when the
    database is missing, unreachable, without the visitorhub schema, or (unless `migrate` and
    VISITORHUB_AUTO_MIGRATE) at another revision than this version's."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from visitorhub.core.db import make_engine

    url = settings.database_url
    shown = masked(url)
    fix = "`visitorhub db upgrade`"
    try:
        missing = _missing_sqlite_file(url)
    except ArgumentError:
        raise fail(f"VISITORHUB_DATABASE_URL is not a database URL: {shown}.", 2) from None
    if missing:
        raise fail(f"No database at {shown}: create it with {fix} (or set VISITORHUB_DATABASE_URL).", 2)
    from alembic.runtime.migration import MigrationContext

    try:
        engine = make_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise fail(f"Cannot use the database URL {shown}: {_first_line(exc)}.", 2) from None
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise fail(
            f"Cannot open the database at {shown} ({_first_line(exc)}): check VISITORHUB_DATABASE_URL, "
            f"then run {fix}.",
            2,
        ) from None
    finally:
        engine.dispose()
    if current is None:
        raise fail(f"The database at {shown} has no visitorhub schema: create it with {fix}.", 2)
    head = _head_revision(url)
    if current == head:
        return
    if migrate and settings.auto_migrate:
        from visitorhub.migrations import upgrade

        upgrade(url)
        return
    raise fail(
        f"The database at {shown} is at schema revision {current}, this version needs {head}: run {fix}.", 2
    )


def _head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    from visitorhub.migrations import alembic_config

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def migrate_if_needed(settings: Settings) -> None:
    """`serve`: apply pending migrations (creating the database) when VISITORHUB_AUTO_MIGRATE allows it;
    otherwise refuse an old schema. (Alembic is imported here: commands that do not migrate do not pay
    for it.)"""
    from sqlalchemy.exc import SQLAlchemyError

    from visitorhub.core.db import make_engine
    from visitorhub.migrations import pending, upgrade

    shown = masked(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            behind = pending(settings.database_url, conn)
    except SQLAlchemyError as exc:
        raise fail(
            f"Cannot open the database at {shown} ({_first_line(exc)}): check VISITORHUB_DATABASE_URL.", 2
        ) from None
    finally:
        engine.dispose()
    if behind:
        if not settings.auto_migrate:
            raise fail(
                f"The database at {shown} is behind this version's schema and VISITORHUB_AUTO_MIGRATE is "
                "off: run `visitorhub db upgrade`.",
                2,
            )
        upgrade(settings.database_url)


def unsealed_secrets(session: Session) -> int:
    """How many secrets the database holds in plain text (stream receivers' and channels' auth, connector
    settings, the event-token key, payment-method tokens)."""
    from sqlalchemy import String, func, select, type_coerce

    from visitorhub.core.secrets import is_sealed
    from visitorhub.integration.connectors import KINDS
    from visitorhub.integration.streams.auth import SECRET_FIELDS
    from visitorhub.models import Channel, Connector, CreditCard, ServerSecret, StreamSubscription

    count = 0
    for auth in session.scalars(select(StreamSubscription.auth)):
        count += sum(
            1 for k, v in auth.items() if k in SECRET_FIELDS and isinstance(v, str) and not is_sealed(v)
        )
    for auth in session.scalars(select(Channel.auth)):  # inbound: the secrets senders must present
        count += sum(
            1 for k, v in auth.items() if k in SECRET_FIELDS and isinstance(v, str) and not is_sealed(v)
        )
    for kind, stored in session.execute(select(Connector.kind, Connector.settings)):
        secret_fields = KINDS[kind].secret_fields if kind in KINDS else frozenset()
        count += sum(
            1 for k, v in stored.items() if k in secret_fields and isinstance(v, str) and not is_sealed(v)
        )
    count += sum(1 for value in session.scalars(select(ServerSecret.value)) if not is_sealed(value))
    raw_token = type_coerce(CreditCard.payment_method_token, String)  # as stored, not opened
    count += session.scalar(select(func.count()).where(raw_token.not_like("enc:%"))) or 0
    return count


def warn_unsealed_secrets(settings: Settings, factory: sessionmaker[Session], *, may_store: bool) -> None:
    """Once per start: without VISITORHUB_SECRETS_KEY, say that receiver secrets are (or, through the API
    this process serves, may be) stored unsealed, and how many are now."""
    from visitorhub.core.secrets import UNSEALED_WARNING

    if settings.secrets_key:
        return
    with unit_of_work(factory) as session:
        count = unsealed_secrets(session)
    if count or may_store:
        logging.getLogger("visitorhub").warning("%s (%d stored now.)", UNSEALED_WARNING, count)


class _AlembicPluginLines(logging.Filter):
    """Alembic's "Context impl SQLiteImpl." and "Will assume transactional DDL." (and its "setup plugin"
    lines) say nothing to a user; its "Running upgrade a -> b" lines do, and stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


def setup_logging(settings: Settings) -> None:
    """Log lines for long-running commands. httpx logs every request's full URL at INFO, and a receiver's
    URL may carry a token in its query string: its loggers only speak from WARNING."""
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, logging.getLogger().level))
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _AlembicPluginLines) for f in migration.filters):
        migration.addFilter(_AlembicPluginLines())
