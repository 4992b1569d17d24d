"""`visitorhub connectors ...`: the connectors, and one sync now with a progress bar."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from visitorhub.cli.common import app_errors, err, get_settings, out, sessions, setup_logging, unit_of_work

connectors_app = typer.Typer(
    help="Connectors: keep a remote system (a parking system's consumers) in step with the visitors.",
    no_args_is_help=True,
)

_PHASES = {"remote": "Listing remote records", "sync": "Syncing visitors"}


def register(app: typer.Typer) -> None:
    app.add_typer(connectors_app, name="connectors")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM and SIGINT stop the sync after the calls in flight, their results recorded."""
    stop = threading.Event()

    def ask_stop(signum: int, _frame: Any) -> None:
        err.print(f"[yellow]{signal.Signals(signum).name}: stopping after the calls in flight.[/yellow]")
        stop.set()

    previous = {sig: signal.signal(sig, ask_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@connectors_app.command("list")
def list_connectors() -> None:
    """The connectors: kind, schedule, cursor, lag, mirrored and failed records, last sync."""
    from rich.table import Table

    from visitorhub.integration.connectors import service

    table = Table(
        "id", "name", "kind", "schedule", "enabled", "cursor", "lag", "records", "failed", "last sync"
    )
    with unit_of_work(sessions(migrate=True)) as session:
        for row in service.list_connectors(session):
            data = service.represent(session, row)
            schedule = "event" if row.schedule == "event" else f"batch, {row.interval_minutes} min"
            table.add_row(
                str(row.id),
                row.name,
                row.kind,
                schedule,
                "yes" if row.enabled else "no",
                str(data["cursor"]),
                str(data["lag"]) + (" (full pending)" if row.full_sync_pending else ""),
                str(data["records"]),
                str(data["failedRecords"]),
                row.last_run_at.isoformat(timespec="seconds") if row.last_run_at else "",
            )
    out.print(table)


@connectors_app.command("sync")
def sync(
    name: str = typer.Argument(..., help="The connector to sync"),
    full: bool = typer.Option(False, "--full", help="Reconcile every visitor with every remote record"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Plan only: call no write endpoint, change nothing"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a summary"),
) -> None:
    """One sync now in the foreground, with a progress bar on stderr; exit code 1 when a record failed or
    the sync stopped early."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from visitorhub.integration.connectors import service
    from visitorhub.integration.connectors.sync import SyncOptions, sync_connector

    settings = get_settings()
    setup_logging(settings)
    factory = sessions(settings, migrate=True)
    with app_errors():
        with unit_of_work(factory) as session:
            connector_id = service.get_by_name(session, name).id
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        tasks: dict[str, Any] = {}

        def advance(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(_PHASES.get(phase, phase), total=total)
            progress.update(tasks[phase], completed=done, total=total)

        options = SyncOptions(full=full, dry_run=dry_run, trigger="cli")
        with _stop_on_signals() as stop, progress:
            report = sync_connector(factory, connector_id, settings, options, stop=stop, progress=advance)
    assert report is not None
    data = report.as_json()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        table = Table(
            "run", "mode", "status", "created", "updated", "deleted", "unchanged", "failed", "calls"
        )
        mode = ("full" if report.full else "incremental") + (", dry run" if report.dry_run else "")
        table.add_row(
            str(report.run_id),
            mode,
            report.status,
            str(report.created),
            str(report.updated),
            str(report.deleted),
            str(report.unchanged),
            str(report.failed),
            ", ".join(f"{kind} {count}" for kind, count in report.calls.items() if count) or "0",
        )
        out.print(table)
        for planned in report.operations or []:  # tab-separated: operation, reference, business id
            typer.echo(
                f"{planned.operation}\t{planned.external_reference or ''}\t{planned.business_id or ''}"
            )
        for error in report.errors[:20]:
            err.print(f"{error.visitor_id}: {error.message}", markup=False, highlight=False)
        if report.stopped_because:
            err.print(
                f"stopped: {report.stopped_because}: {report.error or ''}", markup=False, highlight=False
            )
    if report.status != "ok":
        raise typer.Exit(1)
