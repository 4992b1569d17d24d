"""`visitorhub channels ...`: the inbound channels, what they received, and reapplying quarantined records."""

from __future__ import annotations

import json

import typer

from visitorhub.cli.common import app_errors, fail, out, sessions, unit_of_work

channels_app = typer.Typer(help="Inbound channels: URLs that receive pushed batches.", no_args_is_help=True)
STATUSES = ("stored", "applied", "quarantined")


def register(app: typer.Typer) -> None:
    app.add_typer(channels_app, name="channels")


@channels_app.command("list")
def list_channels() -> None:
    """The channels, where they receive, and what they received."""
    from rich.table import Table

    from visitorhub.core.db import iso_utc
    from visitorhub.integration.channels import service

    table = Table(
        "id", "name", "receives at", "auth", "idField", "template", "on", "payloads", "records", "dups",
        "quarantined", "last received",
    )  # fmt: skip
    with unit_of_work(sessions(readonly=True)) as session:
        for channel in service.list_channels(session):
            data = service.represent(session, channel)
            table.add_row(
                str(channel.id),
                channel.name,
                data["inboundPath"],
                data["auth"]["type"],
                channel.id_field,
                channel.template or "",
                "yes" if channel.enabled else "no",
                str(channel.payloads_received),
                str(channel.records_received),
                str(channel.duplicates),
                str(data["quarantined"]),
                iso_utc(channel.last_received_at) or "",
            )
    out.print(table)


@channels_app.command("show")
def show(name: str = typer.Argument(..., help="The channel's name")) -> None:
    """A channel as JSON (secrets are never shown)."""
    from visitorhub.integration.channels import service

    with app_errors(), unit_of_work(sessions(readonly=True)) as session:
        data = service.represent(session, service.get_by_name(session, name))
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@channels_app.command("records")
def records(
    name: str = typer.Argument(..., help="The channel's name"),
    status: str = typer.Option(None, "--status", help="stored, applied or quarantined"),
    since: str = typer.Option(None, "--since", help="Received at or after: yyyyMMddHHmmss or ISO 8601"),
    limit: int = typer.Option(50, "--limit", min=1, max=100_000, help="At most this many, oldest first"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line, with the record itself"),
) -> None:
    """The records a channel received, in the order they were last received."""
    from rich.table import Table
    from sqlalchemy import select

    from visitorhub.integration.channels import service
    from visitorhub.integration.channels.schemas import ChannelRecordRead
    from visitorhub.integration.templates.service import parse_since
    from visitorhub.models.channel import ChannelRecord

    if status is not None and status not in STATUSES:
        raise fail(f"--status must be one of {', '.join(STATUSES)}; got '{status}'", 2)
    with app_errors(), unit_of_work(sessions(readonly=True)) as session:
        channel = service.get_by_name(session, name)
        stmt = select(ChannelRecord).where(ChannelRecord.channel_id == channel.id)
        if status is not None:
            stmt = stmt.where(ChannelRecord.status == status)
        if since is not None:
            try:
                stmt = stmt.where(ChannelRecord.last_received_at >= parse_since(since))
            except ValueError as exc:
                raise fail(f"--since: {exc}", 2) from None
        stmt = stmt.order_by(ChannelRecord.last_received_at, ChannelRecord.id).limit(limit)
        rows = [ChannelRecordRead.model_validate(row).as_json() for row in session.scalars(stmt)]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table("id", "source id", "status", "received", "times", "last received", "error")
    for row in rows:
        table.add_row(
            str(row["recordId"]),
            row["sourceId"],
            row["status"],
            row["firstReceivedAt"],
            str(row["timesReceived"]),
            row["lastReceivedAt"],
            row["error"] or "",
        )
    out.print(table)


@channels_app.command("reapply")
def reapply(
    name: str = typer.Argument(..., help="The channel's name"),
    status: str = typer.Option(
        "quarantined", "--status", help="quarantined, or stored (received before the channel had a template)"
    ),
) -> None:
    """Put the channel's quarantined (or stored) records through its template again; exit 1 when some
    stay quarantined."""
    from visitorhub.integration.channels import service
    from visitorhub.integration.channels.committer import GroupCommitter
    from visitorhub.integration.channels.reapply import reapply as reapply_records

    if status not in ("quarantined", "stored"):
        raise fail(f"--status must be quarantined or stored; got '{status}'", 2)
    factory = sessions(migrate=True)
    with app_errors():
        with unit_of_work(factory) as session:
            channel_id = service.get_by_name(session, name).id
        report = reapply_records(GroupCommitter(factory), channel_id, status)
    typer.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    if report.quarantined:
        raise typer.Exit(1)
