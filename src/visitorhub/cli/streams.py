"""`visitorhub streams ...` (one run now, the subscriptions, replays) and `visitorhub worker`."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from visitorhub import __version__
from visitorhub.cli.common import (
    app_errors,
    err,
    get_settings,
    masked,
    out,
    sessions,
    setup_logging,
    unit_of_work,
    warn_unsealed_secrets,
)

streams_app = typer.Typer(help="Outbound streams: push changes to subscriber URLs.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(streams_app, name="streams")
    app.command("worker")(worker)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM and SIGINT ask for a clean stop: the payload in flight is finished (or abandoned, to be
    sent again with the same id), never lost."""
    stop = threading.Event()

    def ask_stop(signum: int, _frame: Any) -> None:
        err.print(f"[yellow]{signal.Signals(signum).name}: stopping after the payload in flight.[/yellow]")
        stop.set()

    previous = {sig: signal.signal(sig, ask_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def worker() -> None:
    """Run the background worker alone (stream runs on schedule) until SIGTERM/SIGINT. Any number may run
    side by side on PostgreSQL; use `serve --no-worker` for the API processes then."""
    from visitorhub.worker.runner import Worker

    settings = get_settings()
    setup_logging(settings)
    factory = sessions(settings, migrate=True)
    logging.getLogger("visitorhub").info(
        "visitorhub worker %s: database %s", __version__, masked(settings.database_url)
    )
    warn_unsealed_secrets(settings, factory, may_store=False)  # the worker stores none; it may hold some
    with _stop_on_signals() as stop:
        Worker(settings, factory, stop).run_forever()


@streams_app.command("run")
def run(
    name: str = typer.Argument(None, help="The subscription to run (default: every enabled one)"),
    as_json: bool = typer.Option(False, "--json", help="Print the run reports as JSON instead of a table"),
) -> None:
    """Run one subscription, or every enabled one, once now in the foreground, and exit (for cron and
    tests): exit code 1 when a payload failed."""
    from rich.table import Table

    from visitorhub.integration.streams import delivery, service
    from visitorhub.integration.streams.sender import Sender

    settings = get_settings()
    factory = sessions(settings, migrate=True)
    with app_errors():
        if name is None:
            ids = delivery.enabled_ids(factory)
        else:
            with unit_of_work(factory) as session:
                ids = [service.get_by_name(session, name).id]
    with _stop_on_signals() as stop, Sender(settings) as sender:
        reports = delivery.run_all(factory, settings, sender, ids, stop)
    if as_json:
        typer.echo(json.dumps([report.as_json() for report in reports], indent=2))
    else:
        table = Table("subscription", "outcome", "stopped", "payloads", "records", "cursor", "lag")
        for report in reports:
            table.add_row(
                report.name,
                report.outcome,
                report.stopped_because,
                str(len(report.payloads)),
                str(report.records_delivered),
                str(report.cursor),
                str(report.lag),
            )
        out.print(table)
        for report in reports:
            failures = [p for p in report.payloads if p.outcome != "delivered"]
            for payload in failures:
                err.print(
                    f"{report.name}: delivery {payload.delivery_id} "
                    f"attempt {payload.attempt} {payload.outcome}: {payload.error}",
                    markup=False,
                )
            if report.error:
                err.print(f"{report.name}: {report.error}", markup=False)
    if any(report.outcome == "failed" for report in reports):
        raise typer.Exit(1)


@streams_app.command("list")
def list_subscriptions() -> None:
    """The subscriptions, their cursor, lag and waiting payload."""
    from rich.table import Table

    from visitorhub.integration.streams import service

    table = Table("id", "name", "stream", "url", "every", "enabled", "cursor", "lag", "pending")
    with unit_of_work(sessions(migrate=True)) as session:
        for sub in service.list_subscriptions(session):
            data = service.represent(session, sub)
            table.add_row(
                str(sub.id),
                sub.name,
                sub.stream,
                sub.url,
                f"{sub.interval_minutes} min",
                "yes" if sub.enabled else "no",
                str(data["cursor"]),
                str(data["lag"]),
                data["pendingDeliveryId"] or "",
            )
    out.print(table)


@streams_app.command("replay")
def replay(delivery_id: str = typer.Argument(..., help="A delivered or dead-lettered delivery's id")) -> None:
    """Send a past or dead-lettered payload again now (same records, same webhook-id)."""
    from visitorhub.integration.streams import delivery
    from visitorhub.integration.streams.sender import Sender

    settings = get_settings()
    with app_errors(), Sender(settings) as sender:
        outcome = delivery.replay_delivery(sessions(settings, migrate=True), delivery_id, settings, sender)
    typer.echo(json.dumps(outcome.as_json(), indent=2))
    if outcome.outcome != "delivered":
        raise typer.Exit(1)
