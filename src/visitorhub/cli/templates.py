"""`visitorhub templates ...`, `visitorhub import` and `visitorhub export`: integration templates from a shell.

The engine and the template store are imported inside the commands: they pull in every domain, which
`visitorhub version` or `keys list` should not pay for.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import typer

from visitorhub.cli.common import (
    app_errors,
    checkpoint,
    err,
    fail,
    file_progress,
    out,
    sessions,
    unit_of_work,
)

if TYPE_CHECKING:  # rich's tables and progress bars and the row formats load in the commands that use them
    from visitorhub.integration.templates import formats
    from visitorhub.integration.templates.loaders import Format
    from visitorhub.integration.templates.report import ImportReport
    from visitorhub.integration.templates.spec import Template

templates_app = typer.Typer(help="Integration templates: import/export mappings.", no_args_is_help=True)
TEMPLATE_SUFFIXES: dict[str, Format] = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".xml": "xml"}
EXPORT_PAGE = 1000  # root records per page
SHOWN_ERRORS = 20


def _template_format(path: Path) -> Format:
    fmt = TEMPLATE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise fail(f"{path.name}: a template file ends in .xml, .yaml, .yml or .json", 2)
    return fmt


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: cannot read it as UTF-8 text ({exc})") from None


def _entity_types(template: Template) -> str:
    return ", ".join(entity.type for entity in template.entities)


# templates list | show | validate | put | delete ---------------------------------------------------------


@templates_app.command("list")
def templates_list() -> None:
    """List built-in and saved templates."""
    from rich.table import Table

    from visitorhub.integration.templates import service

    table = Table("name", "direction", "builtin", "entities", "description")
    with unit_of_work(sessions(readonly=True)) as session:
        for stored in service.list_templates(session):
            template = stored.template
            first_line = template.description.strip().splitlines()[0] if template.description.strip() else ""
            table.add_row(
                template.name,
                template.direction,
                "yes" if template.builtin else "",
                _entity_types(template),
                first_line,
            )
    out.print(table)


@templates_app.command("show")
def templates_show(
    name: str = typer.Argument(..., help="The template's name"),
    source: bool = typer.Option(False, "--source", help="Print the text as it was saved (XML, YAML or JSON)"),
) -> None:
    """Print a template as JSON (or, with --source, as it was saved)."""
    from visitorhub.integration.templates import service

    with app_errors(), unit_of_work(sessions(readonly=True)) as session:
        stored = service.get_template(session, name)
    if source:
        typer.echo(stored.source.rstrip("\n"))
    else:
        typer.echo(json.dumps(stored.summary(), indent=2, ensure_ascii=False))


@templates_app.command("validate")
def templates_validate(
    file: Path = typer.Argument(..., help="A template: .xml, .yaml, .yml or .json"),
    name: str = typer.Option(None, "--name", help="The name to check it under (default: the file's stem)"),
) -> None:
    """Check a template file without saving it; exit 1 naming the element at fault."""
    from visitorhub.integration.templates.loaders import load_template
    from visitorhub.integration.templates.spec import TemplateError

    fmt = _template_format(file)
    try:
        template = load_template(_read_text(file), fmt, name or file.stem)
    except TemplateError as exc:
        raise fail(f"{file.name}: invalid template: {exc.element}: {exc.message}") from None
    typer.echo(
        f"{file.name}: valid {template.direction} template '{template.name}' ({_entity_types(template)})."
    )


@templates_app.command("put")
def templates_put(
    file: Path = typer.Argument(..., help="A template: .xml, .yaml, .yml or .json"),
    name: str = typer.Option(None, "--name", help="Save it under this name (default: the file's stem)"),
) -> None:
    """Validate a template file and save it (create or replace)."""
    from visitorhub.integration.templates import service

    fmt = _template_format(file)
    text = _read_text(file)
    with app_errors(), unit_of_work(sessions()) as session:
        stored, created = service.put_template(session, name or file.stem, text, fmt)
    verb = "Created" if created else "Updated"
    template = stored.template
    typer.echo(f"{verb} {template.direction} template '{template.name}' ({_entity_types(template)}).")


@templates_app.command("delete")
def templates_delete(name: str = typer.Argument(..., help="The template's name")) -> None:
    """Delete a saved template (built-in ones cannot be deleted)."""
    from visitorhub.integration.templates import service

    with app_errors(), unit_of_work(sessions()) as session:
        service.delete_template(session, name)
    typer.echo(f"Deleted template '{name}'.")


# import -------------------------------------------------------------------------------------------------


def import_file(
    file: Path = typer.Argument(..., help="Rows to import: .csv (with a header), .jsonl or .json (an array)"),
    template_name: str = typer.Option(..., "--template", "-t", help="An import (in) template"),
    simulate: bool = typer.Option(False, "--simulate", help="Report what would be done; write nothing"),
    verbose: bool = typer.Option(
        False, "--verbose", help="Print one line per entity touched (and keep them in --report)"
    ),
    stop_on_error: bool = typer.Option(
        False, "--stop-on-error", help="Stop at the first failing row; no later row is applied"
    ),
    report_path: Path = typer.Option(None, "--report", help="Write the full report as JSON to this file"),
    chunk_size: int = typer.Option(
        5000, "--chunk-size", min=1, max=100_000, help="Rows per batch; each applied batch is committed"
    ),
    delimiter: str = typer.Option(
        None, "--delimiter", "-d", help="CSV: , ; | or tab (default: detected from the first lines)"
    ),
    encoding: str = typer.Option(
        "utf-8", "--encoding", "-e", help="CSV: the text encoding, e.g. cp1252 (a byte-order mark wins)"
    ),
) -> None:
    """Import a CSV, JSON Lines or JSON file through a template, streamed; exit 1 when a row failed."""
    from visitorhub.integration.templates import execution, formats, service

    try:
        row_format = formats.format_of(file)
        csv_delimiter = formats.delimiter_option(delimiter) if delimiter is not None else None
        csv_encoding = formats.encoding_option(encoding)
    except formats.RowFileError as exc:
        raise fail(str(exc), 2) from None
    except ValueError as exc:
        option = "--delimiter" if "delimiter" in str(exc) else "--encoding"
        raise fail(f"{option}: {exc}", 2) from None
    if row_format != "csv" and (delimiter is not None or csv_encoding != "utf-8"):
        raise fail("--delimiter and --encoding apply to .csv files (JSON is UTF-8)", 2)
    if not file.is_file():
        raise fail(f"{file}: no such file", 2)
    if report_path is not None and not report_path.parent.is_dir():
        raise fail(f"--report: {report_path.parent}: no such directory", 2)
    options = execution.ImportOptions(
        simulate=simulate, verbose=verbose, stop_on_error=stop_on_error, chunk_size=chunk_size
    )
    progress = file_progress("rows")
    rows_seen = 0

    def on_rows(count: int) -> None:
        nonlocal rows_seen
        rows_seen += count
        progress.update(task, count=rows_seen)

    with app_errors(), unit_of_work(sessions()) as session:
        template = service.resolve(session, template_name)
        if template.direction != "in":
            raise fail(f"Template '{template_name}' is an export (out) template; use an 'in' template.")
        task = progress.add_task(
            f"{'Simulating' if simulate else 'Importing'} {file.name}", total=file.stat().st_size, count=0
        )
        csv_options = formats.CsvOptions(csv_delimiter, csv_encoding, _sources(template), row_errors=True)
        rows = formats.read_rows(file, lambda size: progress.advance(task, size), csv_options)
        try:
            with progress:
                report = execution.run_import(
                    session,
                    template,
                    rows,
                    options,
                    progress=on_rows,
                    # Commit each applied batch: memory and the transaction stay small whatever the file.
                    checkpoint=lambda: checkpoint(session),
                )
        except formats.HeaderError as exc:
            raise fail(str(exc), 2) from None
        except formats.RowFileError as exc:
            done = "" if simulate else f" ({rows_seen} rows before it were imported)"
            raise fail(f"{exc}{done}") from None
    _print_report(report, verbose)
    if report_path is not None:
        report_path.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
        err.print(f"Report written to {report_path}.", markup=False, highlight=False)
    if report.failed:
        raise typer.Exit(1)


def _sources(template: Template) -> frozenset[str]:
    """The outside names an import template reads: its fields' sources and the names concat joins."""
    names: set[str] = set()
    for entity in template.entities:
        for fmap in entity.fields:
            names.add(fmap.source)
            for transform in fmap.transforms:
                joined = transform.args.get("with") if transform.name == "concat" else None
                names.update([joined] if isinstance(joined, str) else joined or [])
    return frozenset(names)


def _print_report(report: ImportReport, verbose: bool) -> None:
    from rich.table import Table

    if verbose:
        for op in report.operations:
            key = json.dumps(op.key, ensure_ascii=False) if op.key is not None else "-"
            typer.echo(f"{op.index}\t{op.entity}\t{op.operation}\t{key}\t{op.id or '-'}")
    title = "Simulated import (nothing written)" if report.simulate else "Import"
    table = Table("entity", title=title)
    for column in ("inserted", "updated", "unchanged"):
        table.add_column(column, justify="right")
    for entity, counts in report.summary.items():
        table.add_row(entity, str(counts["inserted"]), str(counts["updated"]), str(counts["unchanged"]))
    out.print(table)
    stopped = " (stopped at the first failing row)" if report.stopped else ""
    out.print(
        f"{report.processed} rows processed, {report.failed} failed{stopped}.", markup=False, highlight=False
    )
    if report.errors:
        errors = Table("row", "field", "message", title="Errors (row = 0-based index in the file)")
        for error in report.errors[:SHOWN_ERRORS]:
            errors.add_row(str(error.index), error.field or "", error.message)
        out.print(errors)
        if len(report.errors) > SHOWN_ERRORS:
            more = len(report.errors) - SHOWN_ERRORS
            out.print(f"… and {more} more (see --report).", markup=False, highlight=False)


# export -------------------------------------------------------------------------------------------------


def export_rows(
    name: str = typer.Argument(..., help="An export (out) template"),
    since: str = typer.Option(
        None, "--since", help="Only rows created or changed after this: yyyyMMddHHmmss or ISO 8601 (UTC)"
    ),
    fmt: str = typer.Option(
        None, "--format", "-f", help="csv, jsonl or json (default: from --output's extension, else jsonl)"
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout"),
) -> None:
    """Export the rows of a template, all pages, to stdout or a file."""
    from visitorhub.integration.templates import export, formats, service

    row_format = _export_format(fmt, output)
    if output is not None and not output.parent.is_dir():
        raise fail(f"--output: {output.parent}: no such directory", 2)
    since_at = None
    if since is not None:
        try:
            since_at = service.parse_since(since)
        except ValueError as exc:
            raise fail(f"--since: {exc}", 2) from None
    with app_errors(), unit_of_work(sessions(readonly=True)) as session:
        template = service.resolve(session, name)
        if template.direction != "out":
            raise fail(f"Template '{name}' is an import (in) template; use an 'out' template.")
        columns = list(dict.fromkeys(f.source for e in template.entities for f in e.fields))
        with _output(output) as stream:
            writer = formats.RowWriter(stream, row_format, columns)
            cursor = None
            while True:
                rows, cursor = export.export_page(session, template, since_at, cursor, EXPORT_PAGE)
                writer.write_all(rows)
                session.expunge_all()  # keep the identity map to one page
                if cursor is None:
                    break
            writer.close()
    where = str(output) if output else "stdout"
    err.print(f"Exported {writer.count} rows to {where}.", markup=False, highlight=False)


def _export_format(fmt: str | None, output: Path | None) -> formats.RowFormat:
    """--format, else --output's extension, else jsonl. An --output extension that is none of the formats
    is refused unless --format says which one is meant; one that names another format is refused."""
    from visitorhub.integration.templates import formats

    chosen: formats.RowFormat | None = None
    if fmt is not None:
        lowered = fmt.lower()
        if lowered not in formats.ROW_FORMATS:
            raise fail(f"--format must be csv, jsonl or json; got '{fmt}'", 2)
        chosen = lowered
    if output is None:
        return chosen or "jsonl"
    try:
        by_extension = formats.format_of(output)
    except formats.RowFileError:
        if chosen is not None:
            return chosen
        raise fail(
            f"--output: {output.name}: unknown extension '{output.suffix}'; use .csv, .jsonl, .ndjson or "
            ".json (or say --format)",
            2,
        ) from None
    if chosen is not None and chosen != by_extension:
        raise fail(f"--output: {output.name} is a .{output.suffix.lstrip('.')} file, not {chosen}", 2)
    return by_extension


@contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        yield handle


def register(app: typer.Typer) -> None:
    app.add_typer(templates_app, name="templates")
    app.command("import")(import_file)
    app.command("export")(export_rows)
