"""`visitorhub push FILE --to URL`: post a row file to a receiver as JSON arrays, the S-360 way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import typer

from visitorhub.cli.common import err, fail, file_progress, get_settings, out


def register(app: typer.Typer) -> None:
    app.command("push")(push)


def push(
    file: Path = typer.Argument(..., help="Rows to send: .csv (with a header), .jsonl or .json (an array)"),
    to: str = typer.Option(..., "--to", help="The receiver's URL, e.g. http://host/inbound/s360/contacts/x"),
    batch: int = typer.Option(50, "--batch", "-b", min=1, max=10_000, help="Records per payload"),
    auth: str = typer.Option(
        None,
        "--auth",
        envvar="VISITORHUB_PUSH_AUTH",
        help="none, basic:USER:PASSWORD, apikey:VALUE, apikey:HEADER:VALUE or hmac:whsec_... (also from "
        "VISITORHUB_PUSH_AUTH, which keeps secrets out of the process list)",
    ),
    attempts: int = typer.Option(
        12, "--attempts", min=1, max=10_000, help="Tries per payload before giving up (S-360: 12)"
    ),
    wait: float = typer.Option(5.0, "--wait", min=0.0, help="Seconds between two tries of a payload"),
    timeout: float = typer.Option(
        30.0, "--timeout", min=0.1, max=300.0, help="Seconds to wait for an answer"
    ),
    skip: int = typer.Option(
        0, "--skip", min=0, help="Start after this many records (resume a stopped push)"
    ),
    allow_private: bool = typer.Option(
        False,
        "--allow-private",
        help="Allow private and loopback targets (also VISITORHUB_ALLOW_PRIVATE_TARGETS=true)",
    ),
    log: Path = typer.Option(None, "--log", help="Append one JSON line per attempt to this file"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
) -> None:
    """Send the rows as JSON arrays of --batch records, one payload after another. A payload that is not
    answered 2xx is sent again (same records, same webhook-id) after --wait seconds, up to --attempts
    times; a 4xx other than 408/425/429 stops at once (the receiver refuses the payload itself). Exit 1 when
    a payload was not accepted: the summary says which --skip resumes there."""
    from visitorhub.integration.channels.push import PayloadResult, Pusher, PushError, parse_auth
    from visitorhub.integration.templates import formats

    try:
        formats.format_of(file)
    except formats.RowFileError as exc:
        raise fail(str(exc), 2) from None
    if not file.is_file():
        raise fail(f"{file}: no such file", 2)
    try:
        mode = parse_auth(auth)
    except PushError as exc:
        raise fail(str(exc), 2) from None
    base = get_settings()
    settings = base.model_copy(
        update={
            "allow_private_targets": allow_private or base.allow_private_targets,
            "streams_timeout_seconds": timeout,
        }
    )
    log_file: IO[str] | None = log.open("a", encoding="utf-8") if log is not None else None
    progress = file_progress("records")
    task = progress.add_task(f"Pushing {file.name}", total=file.stat().st_size, count=0)
    sent = 0

    def on_attempt(result: PayloadResult) -> None:
        nonlocal sent
        if log_file is not None:
            line = {
                "payload": result.index,
                "firstRecord": result.first,
                "records": result.count,
                "deliveryId": result.delivery_id,
                "attempt": result.attempts,
                "accepted": result.accepted,
                "httpStatus": result.http_status,
                "error": result.error,
                "answer": result.answer,
            }
            log_file.write(json.dumps(line) + "\n")
            log_file.flush()
        if result.accepted:
            sent += result.count
            progress.update(task, count=sent)
        elif result.error:
            err.print(
                f"payload {result.index} (records {result.first}..{result.first + result.count - 1}), "
                f"attempt {result.attempts}: {result.error}",
                markup=False,
                highlight=False,
            )

    pusher = Pusher(to, mode, settings, attempts=attempts, wait_seconds=wait)
    rows = formats.read_rows(file, on_read=lambda size: progress.advance(task, size))
    try:
        with progress:
            report = pusher.push(rows, batch=batch, skip=skip, on_attempt=on_attempt)
    except formats.RowFileError as exc:
        raise fail(f"{exc} ({sent} records before it were accepted)") from None
    finally:
        if log_file is not None:
            log_file.close()
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        counts = ", ".join(f"{key} {value}" for key, value in report.counts.items())
        out.print(
            f"{report.records} records accepted in {report.payloads - report.stopped} payloads "
            f"({report.retries} retries){'; receiver counted ' + counts if counts else ''}.",
            markup=False,
            highlight=False,
        )
    if report.stopped:
        raise fail(f"Stopped: {(report.error or '').rstrip('.')}. Resume with --skip {report.resume_at}.")
