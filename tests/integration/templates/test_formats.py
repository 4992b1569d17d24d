"""Row files: the readers stream (memory does not grow with the file), parse what json/csv parse, and name
the line of an error; the writers' output reads back as the same rows."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from visitorhub.integration.templates.formats import (
    CsvOptions,
    HeaderError,
    RowFileError,
    RowWriter,
    flatten,
    read_rows,
)
from visitorhub.integration.templates.planning import RowError
from visitorhub.integration.templates.transforms import get_path

BIG_ROWS = 30_000  # over 1 MB in each format


def big_rows() -> list[dict[str, Any]]:
    return [{"email": f"row{n}@example.com", "name": f"Row {n}", "city": "Paris"} for n in range(BIG_ROWS)]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    fmt = path.suffix.lstrip(".")
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = RowWriter(stream, fmt)  # type: ignore[arg-type]
        writer.write_all(rows)
        writer.close()
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_readers_stream_the_file(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path / f"big.{fmt}", big_rows())
    read: list[int] = []
    rows = read_rows(path, on_read=read.append)
    assert next(rows) == big_rows()[0]
    size = path.stat().st_size
    assert size > 1_000_000
    assert sum(read) <= 3 * 65_536  # a few read buffers, not the file
    assert sum(1 for _ in rows) == BIG_ROWS - 1
    assert sum(read) == size


def test_json_array_items_across_read_buffers(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [
        {"text": "x" * 200_000, "n": 1},  # one item longer than several read buffers
        {"tricky": 'a ] b } c , d " e \\ f', "nested": {"list": [1, [2, {"k": "]"}]], "none": None}},
        {"unicode": "Zoé ☕ \u2028", "float": 1.5e-3, "big": 12345678901234567890, "bool": False},
        {},
    ]
    text = "  \n[\n" + ",\n".join("   " + json.dumps(row, ensure_ascii=False) for row in rows) + "\n]\n\n"
    path = tmp_path / "tricky.json"
    path.write_text(text, encoding="utf-8")
    assert list(read_rows(path)) == json.loads(text)


def test_a_number_cut_by_the_read_buffer(tmp_path: Path) -> None:
    """raw_decode stops a number at the buffer's end: the reader reads on before taking it."""
    for pad in range(65_520, 65_540):
        path = tmp_path / "numbers.json"
        path.write_text("[" + " " * pad + '{"n": 123456789}]', encoding="utf-8")
        assert list(read_rows(path)) == [{"n": 123456789}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}', "line 1: a JSON file of rows is an array"),
        ("[\n", "line 2: the array is not closed with ']'"),
        ('[\n{"a": 1},\n{"a": }\n]', "line 3: not valid JSON"),
        ('[\n{"a": 1}\n{"a": 2}]', "line 3: expected ',' or ']' after a row"),
        ('[\n{"a": 1},\n\n42\n]', "line 4: a row is a JSON object, not int"),
        ('[{"a": 1}]\n[]', "line 2: unexpected text after the array"),
    ],
)
def test_json_array_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RowFileError, match=re.escape(message)):
        list(read_rows(path))


def test_empty_json_array(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(" [ ] ", encoding="utf-8")
    assert list(read_rows(path)) == []


def test_jsonl_skips_blank_lines_and_names_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n[1]\n', encoding="utf-8")
    rows = read_rows(path)
    assert [next(rows), next(rows)] == [{"a": 1}, {"a": 2}]
    with pytest.raises(RowFileError, match="line 4: a row is a JSON object, not list"):
        next(rows)
    path.write_text('{"a": 1}\n{"a": \n', encoding="utf-8")
    with pytest.raises(RowFileError, match=re.escape("rows.jsonl, line 2: not valid JSON")):
        list(read_rows(path))


def test_csv_with_a_byte_order_mark_and_quoted_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes('\ufeffemail,note\r\na@example.com,"two\r\nlines"\r\nb@example.com,\r\n'.encode())
    assert list(read_rows(path)) == [
        {"email": "a@example.com", "note": "two\r\nlines"},
        {"email": "b@example.com", "note": ""},
    ]


def test_csv_a_line_with_too_many_or_too_few_values_fails_alone(tmp_path: Path) -> None:
    """Such a line is read as a row that fails when the importer reads it; the rows after it go on."""
    path = tmp_path / "rows.csv"
    path.write_text("email,note\na@example.com,x\nb@example.com,y,z\n\nc@example.com\nd@example.com,w\n")
    with pytest.raises(RowFileError, match=re.escape("rows.csv, line 3: 3 values for the 2 columns")):
        list(read_rows(path))  # by default (push, ...): the reading ends there
    rows = list(read_rows(path, csv_options=CsvOptions(row_errors=True)))
    assert rows[0] == {"email": "a@example.com", "note": "x"}
    assert rows[3] == {"email": "d@example.com", "note": "w"}
    for row, message in (
        (rows[1], "line 3: 3 values for the 2 columns of the header (delimiter: comma)"),
        (rows[2], "line 5: 1 values for the 2 columns of the header (delimiter: comma)"),
    ):
        with pytest.raises(RowError, match=re.escape(message)):
            get_path(row, "email")


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("email;name\na@example.com;Zoé\nb@example.com;Ann\n", ";"),
        ("email\tname\na@example.com\tZoé\n", "\t"),
        ("email|name|note\na@example.com|Zoé|x, y; z\n", "|"),
        ('email,name\na@example.com,"Lee; Ann"\n', ","),
        ("email\na@example.com\n", ","),  # one column: nothing to detect
    ],
)
def test_csv_delimiter_is_detected(tmp_path: Path, text: str, delimiter: str) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(text, encoding="utf-8")
    rows = list(read_rows(path))
    assert rows[0]["email"] == "a@example.com"
    given = list(read_rows(path, csv_options=CsvOptions(delimiter=delimiter)))
    assert given == rows


def test_csv_header_naming_none_of_the_expected_columns(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("Mail;Name\na@example.com;Zoé\n", encoding="utf-8")
    expected = frozenset({"email", "first"})
    rows = read_rows(path, csv_options=CsvOptions(expected=expected))
    with pytest.raises(HeaderError, match=re.escape("header ('Mail', 'Name', read with the semicolon")):
        next(iter(rows))
    one_match = path.with_name("one.csv")
    one_match.write_text("email;Name\na@example.com;Zoé\n", encoding="utf-8")
    assert len(list(read_rows(one_match, csv_options=CsvOptions(expected=expected)))) == 1


def test_non_utf8_text_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,name\na@example.com,Zoé\n".encode("latin-1"))
    with pytest.raises(RowFileError, match=re.escape("latin1.csv, line 2: not UTF-8 text")):
        list(read_rows(path))
    assert next(iter(read_rows(path, csv_options=CsvOptions(encoding="cp1252"))))["name"] == "Zoé"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_written_rows_read_back(tmp_path: Path, fmt: str) -> None:
    rows: list[dict[str, Any]] = [
        {"contact": {"email": "a@example.com", "name": "Zoé"}, "car": {"plate": "AB-1"}, "n": 1},
        {"contact": {"email": "b@example.com", "name": None}, "car": {"plate": None}, "n": 2},
    ]
    back = list(read_rows(write(tmp_path / f"out.{fmt}", rows)))
    if fmt == "csv":  # flattened to dotted columns, every cell a text, None an empty cell
        assert back == [{k: "" if v is None else str(v) for k, v in flatten(row).items()} for row in rows]
    else:
        assert back == rows


@pytest.mark.parametrize(("fmt", "expected"), [("csv", "a,b\r\n"), ("jsonl", ""), ("json", "[]\n")])
def test_an_empty_export_is_a_valid_document(fmt: str, expected: str) -> None:
    stream = io.StringIO()
    RowWriter(stream, fmt, columns=["a", "b"]).close()  # type: ignore[arg-type]
    assert stream.getvalue() == expected


def test_csv_refuses_a_row_with_columns_the_header_lacks() -> None:
    writer = RowWriter(io.StringIO(), "csv")
    writer.write({"a": 1})
    with pytest.raises(ValueError, match="row 1 has columns the header lacks: b"):
        writer.write({"a": 2, "b": 3})
