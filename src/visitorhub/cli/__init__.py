"""The visitorhub command line: serve, worker, db, keys, templates, import, export, streams, emulate, version.

Commands import the HTTP and database stacks when they run, so that `--help` and `version` start at once.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import typer

from visitorhub import __version__
from visitorhub.cli import channels, connectors, emulate, push, streams, templates
from visitorhub.cli.common import (
    CliGroup,
    app_errors,
    err,
    fail,
    get_settings,
    masked,
    migrate_if_needed,
    out,
    sessions,
    setup_logging,
    unit_of_work,
    warn_unsealed_secrets,
)

if TYPE_CHECKING:
    from visitorhub.config import Settings

SCOPES = ("read", "write", "admin")  # core.auth.SCOPES, without loading the HTTP stack for --help

app = typer.Typer(
    cls=CliGroup,
    help="visitorhub: the visitor data hub for venues.",
    no_args_is_help=True,
    # Expected errors end in one line (app_errors); a traceback is for bugs, and loading rich's costs start-up.
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (shown once, stored hashed).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
templates.register(app)
streams.register(app)
emulate.register(app)
connectors.register(app)
channels.register(app)
push.register(app)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply pending migrations to VISITORHUB_DATABASE_URL (creating the database file on SQLite)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from visitorhub.migrations import upgrade

    settings = get_settings()
    shown = masked(settings.database_url)
    try:
        upgrade(settings.database_url, revision)
    except CommandError as exc:
        raise fail(f"Cannot upgrade the database at {shown} to '{revision}': {exc}", 2) from None
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        raise fail(
            f"Cannot open the database at {shown} ({first}): check VISITORHUB_DATABASE_URL.", 2
        ) from None
    err.print(f"[green]Database at revision {revision}.[/green]")


@keys_app.command("create")
def keys_create(
    name: str = typer.Argument(..., help="A name that says who uses the key"),
    scope: str = typer.Option("read", "--scope", "-s", help="read, write or admin"),
) -> None:
    """Create a key; the key alone is printed on the last line of stdout."""
    from visitorhub.core import auth

    if scope not in SCOPES:
        err.print(f"[red]--scope must be one of {', '.join(SCOPES)}; got '{scope}'.[/red]")
        raise typer.Exit(2)
    with unit_of_work(sessions()) as session:
        key, plain = auth.create_key(session, name, scope)
        typer.echo(f"Created key {key.id} '{name}' with scope {scope}. It is shown once; store it now:")
    typer.echo(plain)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never the keys themselves)."""
    from rich.table import Table

    from visitorhub.core import auth

    table = Table("id", "name", "scope", "prefix", "created", "revoked")
    with unit_of_work(sessions()) as session:
        for key in auth.list_keys(session):
            table.add_row(
                str(key.id),
                key.name,
                key.scope,
                key.prefix + "…",
                key.creation_date.isoformat(),
                key.revoked_at.isoformat() if key.revoked_at else "",
            )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: int = typer.Argument(..., help="Id shown by `keys list`")) -> None:
    """Revoke a key; requests with it get 401 from then on (never the last active admin key)."""
    from visitorhub.system import keys

    with app_errors(), unit_of_work(sessions()) as session:
        keys.revoke(session, key_id)
    typer.echo(f"Revoked key {key_id}.")


def prepare_database(settings: Settings) -> None:
    """What `serve` does before listening: migrate (when allowed) and, on an empty database, make a key."""
    from visitorhub.core import auth
    from visitorhub.core.db import make_engine, make_session_factory

    migrate_if_needed(settings)
    engine = make_engine(settings.database_url)
    warn_unsealed_secrets(settings, make_session_factory(engine), may_store=True)
    if settings.bootstrap_admin_key:
        with unit_of_work(make_session_factory(engine)) as session:
            if not auth.has_any_key(session):
                _key, plain = auth.create_key(session, "bootstrap-admin", "admin")
                err.print(
                    "[bold yellow]First start: created an admin API key. It is shown once; store it now "
                    "(create more with `visitorhub keys create NAME --scope read|write|admin`):[/bold yellow]"
                )
                typer.echo(f"VISITORHUB_ADMIN_KEY={plain}")
                sys.stdout.flush()
    engine.dispose()


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on (default: VISITORHUB_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="Port (default: VISITORHUB_PORT or 8000)"),
    no_worker: bool = typer.Option(False, "--no-worker", help="Do not run the background worker in-process"),
) -> None:
    """Run the API (and, unless --no-worker, the background worker) on VISITORHUB_DATABASE_URL."""
    import uvicorn

    from visitorhub.app import create_app

    settings = get_settings()
    setup_logging(settings)
    listen_host, listen_port = host or settings.host, port or settings.port
    logging.getLogger("visitorhub").info(
        "visitorhub %s: database %s; listening on http://%s:%d/ (worker %s)",
        __version__,
        masked(settings.database_url),
        f"[{listen_host}]" if ":" in listen_host else listen_host,
        listen_port,
        "off" if no_worker else "in-process",
    )
    prepare_database(settings)
    application = create_app(settings)
    application.state.run_worker = not no_worker
    uvicorn.run(application, host=listen_host, port=listen_port, log_level=settings.log_level.lower())


def main() -> None:
    app()
