"""Row files for imports and exports: CSV, JSON Lines and JSON arrays, read and written as streams.

Readers yield one dict per row and hold one row (plus a read buffer) in memory, whatever the file's size;
their errors name the file's line. Writers take rows one at a time; CSV flattens nested objects into dotted
column names (`contact.email`), which template sources read back as the same path.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

RowFormat = Literal["csv", "jsonl", "json"]
ROW_FORMATS: tuple[RowFormat, ...] = ("csv", "jsonl", "json")
_READ_SIZE = 1 << 16
_WHITESPACE = " \t\r\n"


class RowFileError(ValueError):
    """A file that cannot be read as rows; the message names the file and the line."""


def format_of(path: Path) -> RowFormat:
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "ndjson":
        return "jsonl"
    if suffix in ROW_FORMATS:
        return suffix
    raise RowFileError(f"{path.name}: unsupported file type '{path.suffix}'; use .csv, .jsonl or .json")


DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFF_BYTES = 1 << 16
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class HeaderError(RowFileError):
    """A CSV header that cannot feed the template: raised before any row is read."""


@dataclass(frozen=True)
class CsvOptions:
    """How a CSV file is read. `delimiter` None: detected over the first lines among , ; tab and |.
    `encoding`: UTF-8 by default; a byte-order mark (UTF-8 or UTF-16, as spreadsheets write) wins over it.
    `expected`: the outside names the template reads; a header holding none of them is a HeaderError.
    `row_errors`: a line with more or fewer values than the header is yielded as a MalformedRow (an import
    fails that row alone); otherwise it is a RowFileError that ends the reading."""

    delimiter: str | None = None
    encoding: str = "utf-8"
    expected: frozenset[str] = frozenset()
    row_errors: bool = False


def delimiter_option(value: str) -> str:
    """A --delimiter value: one of , ; | or tab (also written `\\t` or `tab`)."""
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    delimiter = named.get(value.lower(), value)
    if delimiter not in DELIMITERS:
        raise ValueError(f"'{value}' is not a delimiter; use one of , ; | or tab")
    return delimiter


def encoding_option(value: str) -> str:
    """A --encoding value: a codec Python knows (utf-8, cp1252, latin-1, utf-16...)."""
    try:
        return codecs.lookup(value).name
    except LookupError:
        raise ValueError(f"'{value}' is not a known text encoding; use for example utf-8 or cp1252") from None


def read_rows(
    path: Path, on_read: Callable[[int], None] | None = None, csv_options: CsvOptions | None = None
) -> Iterator[Mapping[str, Any]]:
    """The rows of a .csv, .jsonl (.ndjson) or .json file, streamed; `on_read(n)` is told of every n bytes
    read from the file (a progress bar's total is the file's size)."""
    fmt = format_of(path)
    if fmt == "csv":
        return _read_csv(path, on_read, csv_options or CsvOptions())
    if fmt == "jsonl":
        return _read_jsonl(path, on_read)
    return _read_json_array(path, on_read)


class _CountingReader(io.RawIOBase):
    def __init__(self, raw: io.FileIO, on_read: Callable[[int], None]) -> None:
        self.raw = raw
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)
        if count:
            self.on_read(count)
        return count or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


def _utf(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _open(path: Path, on_read: Callable[[int], None] | None, encoding: str = "utf-8") -> IO[str]:
    # A byte-order mark says the encoding (spreadsheets save "CSV UTF-8" with one, "Unicode text" as
    # UTF-16); UTF-8's is dropped, so it does not stick to the first column's name.
    # newline="": the csv module reads line ends itself (quoted cells may hold them); JSON treats \r as blank.
    with path.open("rb") as probe:
        start = probe.read(4)
    encoding = next((name for bom, name in _BOMS if start.startswith(bom)), encoding)
    if _utf(encoding):
        encoding = "utf-8-sig"
    if on_read is None:
        return path.open(encoding=encoding, newline="")
    raw = _CountingReader(io.FileIO(path, "rb"), on_read)
    return io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding, newline="")


def _sniff(path: Path, encoding: str) -> str:
    """The delimiter of the first lines: csv.Sniffer among , ; tab |; else the candidate the header holds
    most of; else a comma (a one-column file)."""
    with _open(path, None, encoding) as handle:
        sample = handle.read(_SNIFF_BYTES)
    if len(sample) == _SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
        best = max(counts, key=lambda candidate: counts[candidate])
        return best if counts[best] else ","


def _check_header(path: Path, names: list[str], options: CsvOptions, delimiter: str) -> None:
    if not names:
        raise HeaderError(f"{path.name}, line 1: no header; the first line names the columns")
    if options.expected and not set(names) & options.expected:
        shown = ", ".join(repr(name) for name in names[:10]) + (", ..." if len(names) > 10 else "")
        raise HeaderError(
            f"{path.name}, line 1: the header ({shown}, read with the {_DELIMITER_NAMES[delimiter]} as "
            f"delimiter) names none of the columns the template reads: "
            f"{', '.join(sorted(options.expected))}. Check --delimiter and --encoding."
        )


class MalformedRow(Mapping[str, Any]):
    """A CSV line whose values do not match the header: reading it fails that row alone (the importer
    reports it as it reports any failing row, and goes on with the next)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def _fail(self) -> Any:
        from visitorhub.integration.templates.planning import RowError

        raise RowError("Row", None, self.message)

    def __getitem__(self, key: str) -> Any:
        return self._fail()

    def __contains__(self, key: object) -> bool:
        return bool(self._fail())

    def __iter__(self) -> Iterator[str]:
        return iter(self._fail())

    def __len__(self) -> int:
        return int(self._fail())


def _read_csv(
    path: Path, on_read: Callable[[int], None] | None, options: CsvOptions
) -> Iterator[Mapping[str, Any]]:
    line = 1
    try:
        delimiter = options.delimiter or _sniff(path, options.encoding)
        with _open(path, on_read, options.encoding) as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            names = next(reader, [])
            _check_header(path, names, options, delimiter)
            line = reader.line_num
            for values in reader:
                if not values:
                    line = reader.line_num
                    continue  # a blank line
                if len(values) != len(names):
                    message = (
                        f"line {line + 1}: {len(values)} values for the {len(names)} columns of the header"
                        f" (delimiter: {_DELIMITER_NAMES[delimiter]})"
                    )
                    if not options.row_errors:
                        raise RowFileError(f"{path.name}, {message}")
                    yield MalformedRow(message)
                else:
                    yield dict(zip(names, values, strict=True))
                line = reader.line_num
    except csv.Error as exc:
        raise RowFileError(f"{path.name}, line {line + 1}: {exc}") from None
    except UnicodeDecodeError as exc:
        utf = _utf(options.encoding)
        name = "UTF-8" if utf else codecs.lookup(options.encoding).name
        hint = " (a spreadsheet's CSV may be cp1252: --encoding cp1252)" if utf else ""
        where = _undecodable_line(path, exc.encoding)
        raise RowFileError(f"{path.name}, line {where}: not {name} text ({exc.reason}){hint}") from None


def _undecodable_line(path: Path, encoding: str) -> int | str:
    """The first line of `path` that `encoding` cannot decode (for the error message; read again, as the
    decoder's position is in a buffer, not the file)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError:
                return number
    return "?"


def _read_jsonl(path: Path, on_read: Callable[[int], None] | None) -> Iterator[dict[str, Any]]:
    line_no = 0
    with _open(path, on_read) as handle:
        try:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RowFileError(f"{path.name}, line {line_no}: not valid JSON: {exc.msg}") from None
                yield _object(value, path, line_no)
        except UnicodeDecodeError as exc:
            raise RowFileError(f"{path.name}, after line {line_no}: not UTF-8 text ({exc})") from None


def _object(value: Any, path: Path, line: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RowFileError(f"{path.name}, line {line}: a row is a JSON object, not {type(value).__name__}")
    return value


class _JsonArrayReader:
    """A top-level JSON array read item by item with json.JSONDecoder.raw_decode over a sliding buffer.

    The buffer only grows while one item is incomplete; consumed text is dropped whenever more is read.
    """

    def __init__(self, handle: IO[str], path: Path) -> None:
        self.handle = handle
        self.path = path
        self.buffer = ""
        self.pos = 0
        self.line = 1  # line of self.pos
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(_READ_SIZE)
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def _advance(self, end: int) -> None:
        self.line += self.buffer.count("\n", self.pos, end)
        self.pos = end

    def _peek(self) -> str:
        """The next non-blank character ('' at the end of the file), not consumed."""
        while True:
            end = self.pos
            while end < len(self.buffer) and self.buffer[end] in _WHITESPACE:
                end += 1
            self._advance(end)
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def _fail(self, message: str) -> RowFileError:
        return RowFileError(f"{self.path.name}, line {self.line}: {message}")

    def _value(self) -> Any:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # Either the item is cut by the end of the buffer (read on) or it is invalid.
                if self._more():
                    continue
                line = self.line + self.buffer.count("\n", self.pos, exc.pos)
                raise RowFileError(f"{self.path.name}, line {line}: not valid JSON: {exc.msg}") from None
            if end == len(self.buffer) and not isinstance(value, (dict, list, str)) and self._more():
                continue  # a number or literal may go on in the next chunk
            self._advance(end)
            return value

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._peek() != "[":
            raise self._fail("a JSON file of rows is an array: [ {row}, {row}, ... ]")
        self._advance(self.pos + 1)
        if self._peek() == "]":
            self._advance(self.pos + 1)
        else:
            while True:
                if self._peek() == "":
                    raise self._fail("the array is not closed with ']'")
                line = self.line
                yield _object(self._value(), self.path, line)
                separator = self._peek()
                if separator == "]":
                    self._advance(self.pos + 1)
                    break
                if separator != ",":
                    raise self._fail("expected ',' or ']' after a row")
                self._advance(self.pos + 1)
        if self._peek() != "":
            raise self._fail("unexpected text after the array")


def _read_json_array(path: Path, on_read: Callable[[int], None] | None) -> Iterator[dict[str, Any]]:
    with _open(path, on_read) as handle:
        try:
            yield from _JsonArrayReader(handle, path)
        except UnicodeDecodeError as exc:
            raise RowFileError(f"{path.name}: not UTF-8 text ({exc})") from None


# Writers ------------------------------------------------------------------------------------------------


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"contact": {"email": x}} -> {"contact.email": x}."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class RowWriter:
    """Writes rows to a text stream in one format; call close() to finish the document (JSON's `]`)."""

    def __init__(self, stream: IO[str], fmt: RowFormat, columns: list[str] | None = None) -> None:
        self.stream = stream
        self.fmt = fmt
        self.columns = columns
        self.count = 0
        self._csv: Any = None

    def write(self, row: Mapping[str, Any]) -> None:
        if self.fmt == "csv":
            flat = flatten(row)
            if self._csv is None:
                self.columns = self.columns or list(flat)
                self._csv = csv.writer(self.stream)
                self._csv.writerow(self.columns)
            unknown = set(flat) - set(self.columns or [])
            if unknown:
                raise ValueError(
                    f"row {self.count} has columns the header lacks: {', '.join(sorted(unknown))}"
                )
            self._csv.writerow([_cell(flat.get(name)) for name in self.columns or []])
        elif self.fmt == "jsonl":
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            self.stream.write(("[\n" if self.count == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
        self.count += 1

    def write_all(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def close(self) -> None:
        if self.fmt == "json":
            self.stream.write("[]\n" if self.count == 0 else "\n]\n")
        elif self.fmt == "csv" and self._csv is None and self.columns:
            csv.writer(self.stream).writerow(self.columns)  # an empty export still has its header
