#!/usr/bin/env python
"""Benchmark of a template import (CSV -> Visitor + Vehicle) against a raw executemany floor and a Core baseline.

    python bench/import.py [--rows 1000000] [--chunk-size N] [--database postgresql+psycopg://...] [--keep]

1. writes a seeded CSV of N rows (one visitor and its vehicle per row) to bench/results/;
2. import: runs `visitorhub.integration.templates.execution.run_import` with a template defined below on a
   fresh migrated database, the rows streamed by csv.DictReader, committing as the CLI does; every write goes
   through the services' rules and the change log;
3. re-run: the same import on the same database, where nothing changes (everything `unchanged`, nothing
   written: no change record, no row updated, no updateDate moved);
4. floor: on another fresh migrated database, the same CSV turned into the same column values AND the same
   change-log rows (entity, id, operation, time, the representation as compact JSON), inserted with the
   driver's own executemany (sqlite3 / psycopg), committing every 10,000 rows: what the schema alone costs;
5. baseline: the same column values through SQLAlchemy Core executemany (visitors, then vehicles, batches of
   10,000), without change log.

Each phase runs in its own child process: its wall time excludes interpreter start-up and imports, and its
peak memory is the child's own maximum RSS (os.wait4), so phases do not pollute each other. Prints a table
(also bench/results/import.json) and whether the targets of issue 11 are met: import rows/s >= 0.6x the
floor's, re-run >= 10x faster than the import and writing nothing, peak memory < 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import secrets
import sqlite3
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
JSON_PATH = RESULTS_DIR / "import.json"

BASELINE_BATCH = 10_000  # rows per executemany (and per transaction) in the baseline and the floor
ACTOR = "bench-import"  # WriteContext.actor of the import: becomes visitor.origin
PROGRESS_STEPS = 10  # progress lines per phase, on stderr

# Targets of issue 11.
MIN_FLOOR_SHARE = 0.6  # import rows/s / floor rows/s
MIN_RERUN_SPEEDUP = 10.0  # import time / re-run time
MAX_PEAK_MB = 300.0
TABLES = ("visitor", "vehicle", "change_log")

# The import template, as a user would PUT it (JSON form). Visitors are matched on their e-mail (trimmed and
# lower-cased first), vehicles on their plate under the row's visitor.
TEMPLATE: dict[str, Any] = {
    "name": "bench-visitors-vehicles",
    "direction": "in",
    "description": "Benchmark: one visitor and its vehicle per CSV row.",
    "entities": [
        {
            "type": "Visitor",
            "key": ["email"],
            "fields": [
                {"source": "email", "field": "email", "transforms": ["trim", "lower"]},
                {"source": "first_name", "field": "firstName"},
                {"source": "last_name", "field": "lastName"},
                {"source": "gender", "field": "gender"},
                {"source": "country", "field": "countryCode"},
                {"source": "centre", "field": "acquisitionPcCode"},
            ],
        },
        {
            "type": "Vehicle",
            "key": ["licensePlate"],
            "fields": [
                {"source": "plate", "field": "licensePlate"},
                {"source": "maker", "field": "maker"},
                {"source": "model", "field": "model"},
                {"source": "color", "field": "color"},
            ],
        },
    ],
}
COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "gender",
    "country",
    "centre",
    "plate",
    "maker",
    "model",
    "color",
)

# fmt: off
COUNTRIES = {"FR": 25, "ES": 15, "IT": 12, "DE": 10, "GB": 8, "BE": 7, "NL": 7, "PT": 6, "PL": 5, "CH": 5}
FIRST_NAMES = [
    "Alice", "Bruno", "Chloe", "David", "Emma", "Felix", "Giulia", "Hugo", "Ines", "Jonas", "Karin",
    "Lucas", "Maria", "Nils", "Olga", "Pablo", "Quentin", "Rosa", "Sofia", "Tomas", "Ursula", "Victor",
]
LAST_NAMES = [
    "Martin", "Garcia", "Rossi", "Muller", "Smith", "Dubois", "Janssens", "Silva", "Nowak", "Meier",
    "Bernard", "Lopez", "Bianchi", "Schmidt", "Jones", "Lambert", "Peeters", "Santos", "Kowalski",
]
MAKERS = {
    "Renault": ["Clio", "Megane", "Zoe"], "Peugeot": ["208", "308", "3008"], "Volkswagen": ["Golf", "Polo"],
    "Fiat": ["500", "Panda"], "Toyota": ["Yaris", "Corolla"], "Tesla": ["Model 3", "Model Y"],
}
COLORS = ["black", "white", "grey", "blue", "red", "silver", "green"]
# fmt: on
DOMAINS = ("example.com", "Mail.Example.org", "inbox.example.net")
LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"


# ---------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------


def plate_of(i: int) -> str:
    """A unique plate per row index, French style: AB-123-CD (23^4 * 1000 > 279M plates)."""
    n, digits = divmod(i, 1000)
    letters = []
    for _ in range(4):
        n, r = divmod(n, len(LETTERS))
        letters.append(LETTERS[r])
    return f"{letters[0]}{letters[1]}-{digits:03d}-{letters[2]}{letters[3]}"


def generate_rows(count: int, seed: int) -> Iterator[dict[str, str]]:
    """Seeded CSV rows; e-mails are unique once trimmed and lower-cased (some have mixed case or spaces)."""
    rng = random.Random(seed)
    countries = list(COUNTRIES)
    weights = list(COUNTRIES.values())
    makers = list(MAKERS)
    for i in range(count):
        cc = rng.choices(countries, weights)[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{i}@{DOMAINS[i % len(DOMAINS)]}"
        if rng.random() < 0.1:
            email = f"  {email} "
        maker = rng.choice(makers)
        yield {
            "email": email,
            "first_name": first,
            "last_name": last,
            "gender": rng.choice("mfu"),
            "country": cc,
            "centre": f"{cc}-SC-{rng.randint(101, 105)}",
            "plate": plate_of(i),
            "maker": maker,
            "model": rng.choice(MAKERS[maker]),
            "color": rng.choice(COLORS),
        }


def write_csv(path: Path, count: int, seed: int) -> float:
    """Write the CSV (to a temporary name first, so an interrupted run leaves no half file); seconds taken."""
    began = time.perf_counter()
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(generate_rows(count, seed))
    tmp.replace(path)
    return time.perf_counter() - began


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def db_url(server: str | None, n: int, name: str) -> str:
    """Where phase `name` writes: a file in bench/results (SQLite) or a database of its own on `server`."""
    if server is None:
        return f"sqlite:///{RESULTS_DIR / f'import-{n}-{name}.db'}"
    from sqlalchemy.engine import make_url

    base = make_url(server)
    return base.set(database=f"{base.database}_bench_{name}").render_as_string(hide_password=False)


def remove_db(url: str) -> None:
    if is_sqlite(url):
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def fresh_db(url: str) -> None:
    from visitorhub.migrations import upgrade

    remove_db(url)
    if not is_sqlite(url):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    upgrade(url)
    seed_centres(url)


def seed_centres(url: str) -> None:
    """The centres the rows name (acquisitionPcCode must name an existing centre), as rows that were there
    before: inserted directly, without change records, in every phase's database alike."""
    from sqlalchemy import create_engine, insert

    from visitorhub.models import Center

    now = datetime.now(UTC)
    rows = [
        {"pc_code": f"{cc}-SC-{number}", "label": f"Centre {cc} {number}", "country": cc, "is_westfield": True,
         "creation_date": now, "update_date": now}
        for cc in COUNTRIES
        for number in range(101, 106)
    ]  # fmt: skip
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Center), rows)
    engine.dispose()


def query(url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params or {})]
    finally:
        engine.dispose()


def table_counts(url: str) -> dict[str, int]:
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
    return {name: int(count) for name, count in query(url, sql)}


def stored_bytes(url: str) -> dict[str, int]:
    """Bytes of the change log's representations, and of the visitor and vehicle rows' own values (the
    data itself), as the database stores them."""
    if is_sqlite(url):
        sql = (
            "SELECT (SELECT sum(length(CAST(data AS BLOB))) FROM change_log),"
            " (SELECT sum(pgsize) FROM dbstat WHERE name IN ('visitor', 'vehicle'))"
        )
    else:
        sql = (
            "SELECT (SELECT sum(pg_column_size(data)) FROM change_log),"
            " pg_relation_size('visitor') + pg_relation_size('vehicle')"
        )
    change_log, data = query(url, sql)[0]
    return {"change_log_data": int(change_log or 0), "tables": int(data or 0)}


def write_marks(url: str) -> dict[str, Any]:
    """What a no-change re-run must leave as it is: the newest updateDate of each table, the last seq."""
    return {
        "visitor_update": str(query(url, "SELECT max(update_date) FROM visitor")[0][0]),
        "vehicle_update": str(query(url, "SELECT max(update_date) FROM vehicle")[0][0]),
        "last_seq": query(url, "SELECT max(seq) FROM change_log")[0][0],
    }


# ---------------------------------------------------------------------------------------------------
# Phases (each one runs in a child process: `--phase NAME --db PATH --csv PATH`)
# ---------------------------------------------------------------------------------------------------


class Progress:
    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.step = max(1, total // PROGRESS_STEPS)
        self.next = self.step
        self.began = time.perf_counter()

    def __call__(self, count: int) -> None:
        self.done += count
        if self.done >= self.next or self.done == self.total:
            elapsed = time.perf_counter() - self.began
            print(
                f"    {self.label}: {self.done:,}/{self.total:,} rows, {elapsed:,.1f} s, "
                f"{self.done / elapsed:,.0f} rows/s",
                file=sys.stderr,
                flush=True,
            )
            while self.next <= self.done:
                self.next += self.step


def phase_import(url: str, csv_path: Path, rows: int, chunk_size: int | None, label: str) -> dict[str, Any]:
    """run_import through the template, committing as `visitorhub import` does."""
    from visitorhub.core.db import make_engine, make_session_factory
    from visitorhub.core.service import WriteContext
    from visitorhub.domains import all_resources
    from visitorhub.integration.templates.execution import ImportOptions, run_import
    from visitorhub.integration.templates.loaders import load_template

    all_resources()  # imports every resource family's modules (a process does it once) before the clock starts
    engine = make_engine(url)  # the service's engine settings (WAL, foreign keys, ...)
    sessions = make_session_factory(engine)
    options = ImportOptions() if chunk_size is None else ImportOptions(chunk_size=chunk_size)
    began = time.perf_counter()
    template = load_template(json.dumps(TEMPLATE), "json")
    with sessions() as session:
        report = run_import(
            session,
            template,
            read_csv(csv_path),
            options,
            WriteContext(actor=ACTOR),
            progress=Progress(label, rows),
            checkpoint=session.commit,
        )
        session.commit()
    seconds = time.perf_counter() - began
    engine.dispose()
    result = report.as_json()
    return {
        "seconds": seconds,
        "chunk_size": options.chunk_size,
        "processed": result["processed"],
        "failed": result["failed"],
        "summary": result["summary"],
        "first_errors": result["errors"][:5],
    }


class Values:
    """A CSV row as the column values the import writes (visitor, vehicle), computed the same way."""

    def __init__(self) -> None:
        from visitorhub.core.db import new_uuid
        from visitorhub.core.search import fold
        from visitorhub.domains.vehicles.resources import normalize_plate

        self.fold, self.normalize_plate, self.new_uuid = fold, normalize_plate, new_uuid
        self.barcodes: set[str] = set()

    def __call__(self, row: dict[str, str], now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        visitor_id = self.new_uuid()  # as the import makes them (time-ordered)
        # What the import writes to every record it makes: a content hash (random 64-bit values, held in a
        # partial index that a no-change re-import reads), one per record.
        visitor_hash, vehicle_hash = struct.unpack(">qq", secrets.token_bytes(16))
        while (barcode := f"{secrets.randbelow(10**13):013d}") in self.barcodes:
            pass
        self.barcodes.add(barcode)
        email = row["email"].strip().lower()
        visitor = {
            "visitor_id": visitor_id,
            "email": email,
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "gender": row["gender"],
            "country_code": row["country"],
            "acquisition_pc_code": row["centre"],
            "account_type": "full",
            "registration_date": now,
            "barcode": barcode,
            "origin_type": "api",
            "origin": ACTOR,
            "email_verified": False,
            "email_invalid": False,
            "phone_verified": False,
            "phone_invalid": False,
            "email_folded": self.fold(email),
            "first_name_folded": self.fold(row["first_name"]),
            "last_name_folded": self.fold(row["last_name"]),
            "creation_date": now,
            "update_date": now,
            "content_hash": visitor_hash,
        }
        vehicle = {
            "visitor_id": visitor_id,
            "license_plate": row["plate"],
            "license_plate_normalized": self.normalize_plate(row["plate"]),
            "maker": row["maker"],
            "model": row["model"],
            "color": row["color"],
            "creation_date": now,
            "update_date": now,
            "content_hash": vehicle_hash,
        }
        return visitor, vehicle


def phase_baseline(url: str, csv_path: Path, rows: int) -> dict[str, Any]:
    """The same rows, as the same column values, through Core executemany, without change log."""
    from sqlalchemy import insert

    from visitorhub.core.db import make_engine
    from visitorhub.models import Vehicle, Visitor

    engine = make_engine(url)
    progress = Progress("baseline Core executemany", rows)
    began = time.perf_counter()
    values = Values()
    visitors: list[dict[str, Any]] = []
    vehicles: list[dict[str, Any]] = []
    visitor_insert, vehicle_insert = insert(Visitor), insert(Vehicle)

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(visitor_insert, visitors)
            conn.execute(vehicle_insert, vehicles)
        progress(len(visitors))
        visitors.clear()
        vehicles.clear()

    for row in read_csv(csv_path):
        visitor, vehicle = values(row, datetime.now(UTC))
        visitors.append(visitor)
        vehicles.append(vehicle)
        if len(visitors) >= BASELINE_BATCH:
            flush()
    if visitors:
        flush()
    seconds = time.perf_counter() - began
    engine.dispose()
    return {"seconds": seconds, "processed": progress.done}


def representation_fields(read_model: Any) -> list[tuple[str, str]]:
    """(API name, attribute) of a read schema, in its order: the keys of a change record's data."""
    return [(info.alias or name, name) for name, info in read_model.model_fields.items()]


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def phase_floor(url: str, csv_path: Path, rows: int) -> dict[str, Any]:
    """The floor: the same column values and the same change-log rows through the driver's executemany
    (sqlite3 or psycopg, no SQLAlchemy), on the import's connection settings, committing every 10,000 rows."""
    import orjson

    from visitorhub.core import changelog
    from visitorhub.domains.vehicles.schemas import VehicleRead
    from visitorhub.domains.visitors.schemas import VisitorRead

    # The change log's own encoding of a representation (compact JSON, null fields left out) when it has one.
    encode = getattr(changelog, "encode_data", None) or (lambda data: orjson.dumps(data).decode())
    visitor_fields = representation_fields(VisitorRead)
    vehicle_fields = representation_fields(VehicleRead)
    sqlite = is_sqlite(url)
    progress = Progress("floor raw executemany", rows)
    values = Values()
    began = time.perf_counter()
    if sqlite:
        from visitorhub.core import db as core_db

        connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        if hasattr(core_db, "unicode_lower"):  # lower() as the product's connections define it
            connection.create_function("lower", 1, core_db.unicode_lower, deterministic=True)
        pragmas = ["foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=10000"]
        for pragma in pragmas + list(getattr(core_db, "BULK_PRAGMAS", ())):
            connection.execute(f"PRAGMA {pragma}")
        mark = "?"
        ever = "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'vehicle'"
        next_vehicle_id = int(connection.execute(ever).fetchone()[0])
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        connection = psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password,
            dbname=parsed.database,
        )  # fmt: skip
        mark = "%s"
        next_vehicle_id = 0  # PostgreSQL: the sequence numbers them
    visitors: list[dict[str, Any]] = []
    vehicles: list[dict[str, Any]] = []
    statements: dict[str, str] = {}

    def statement(table: str, columns: Sequence[str], casts: dict[str, str] | None = None) -> str:
        if table not in statements:
            marks = ", ".join(
                f"CAST({mark} AS {casts[c]})" if casts and c in casts else mark for c in columns
            )
            statements[table] = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        return statements[table]

    def stored(value: Any) -> Any:
        """sqlite3 parameters as SQLAlchemy stores them on SQLite (uuid hex, naive UTC text, 0/1)."""
        if isinstance(value, uuid.UUID):
            return value.hex
        if isinstance(value, datetime):
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

    def flush() -> None:
        nonlocal next_vehicle_id
        now = datetime.now(UTC)
        if sqlite:
            ids = list(range(next_vehicle_id + 1, next_vehicle_id + 1 + len(vehicles)))
            next_vehicle_id += len(vehicles)
            connection.execute("BEGIN IMMEDIATE")
        else:
            ids = [
                r[0]
                for r in connection.execute(
                    "SELECT nextval(pg_get_serial_sequence('vehicle', 'vehicle_id')) FROM generate_series(1, %s)",
                    (len(vehicles),),
                )
            ]
        for vehicle, vehicle_id in zip(vehicles, ids, strict=True):
            vehicle["vehicle_id"] = vehicle_id
        convert = stored if sqlite else (lambda v: v)
        cursor = connection.cursor()
        for table, records in (("visitor", visitors), ("vehicle", vehicles)):
            columns = list(records[0])
            cursor.executemany(
                statement(table, columns), [tuple(convert(r[c]) for c in columns) for r in records]
            )
        log_columns = ("entity", "entity_id", "operation", "occurred_at", "data")
        changes = [
            (entity, str(record[pk]), "create", convert(now),
             encode({name: json_value(record.get(attr)) for name, attr in fields}))
            for entity, pk, fields, records in (
                ("Visitor", "visitor_id", visitor_fields, visitors),
                ("Vehicle", "vehicle_id", vehicle_fields, vehicles),
            )
            for record in records
        ]  # fmt: skip
        cursor.executemany(
            statement("change_log", log_columns, None if sqlite else {"data": "json"}), changes
        )
        if sqlite:
            connection.execute("COMMIT")
        else:
            connection.commit()
        progress(len(visitors))
        visitors.clear()
        vehicles.clear()

    for row in read_csv(csv_path):
        visitor, vehicle = values(row, datetime.now(UTC))
        visitors.append(visitor)
        vehicles.append(vehicle)
        if len(visitors) >= BASELINE_BATCH:
            flush()
    if visitors:
        flush()
    seconds = time.perf_counter() - began
    connection.close()
    return {"seconds": seconds, "processed": progress.done}


def run_child(phase: str, url: str, csv_path: Path, rows: int, chunk_size: int | None) -> dict[str, Any]:
    """Run one phase in a child process; its result plus the child's own peak RSS (from os.wait4)."""
    out_path = RESULTS_DIR / f"import.{phase}.out"
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--url", url]
    command += ["--csv", str(csv_path), "--rows", str(rows)]
    if chunk_size is not None:
        command += ["--chunk-size", str(chunk_size)]
    with out_path.open("w") as out:
        proc = subprocess.Popen(command, cwd=REPO_DIR, stdout=out, stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: Popen must not wait again
    text = out_path.read_text()
    out_path.unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"phase {phase} exited with {proc.returncode}:\n{text[-2000:]}")
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024  # kB on Linux
    # The child's own CPU time (start-up included): steadier than wall time on a shared machine.
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    return result


# ---------------------------------------------------------------------------------------------------
# Checks and report
# ---------------------------------------------------------------------------------------------------

VALUES_SQL = (
    "SELECT v.email, first_name, last_name, gender, country_code, acquisition_pc_code, account_type,"
    " origin_type, origin, email_verified, email_invalid, phone_verified, phone_invalid, email_folded,"
    " first_name_folded, last_name_folded, license_plate, license_plate_normalized, maker, model, color,"
    " name, deletion_date, registration_date IS NOT NULL, length(barcode)"
    " FROM visitor v JOIN vehicle c ON c.visitor_id = v.visitor_id ORDER BY v.email LIMIT :n"
)
# The first change records of each entity: their representation's keys must be the same.
CHANGES_SQL = (
    "SELECT entity, data FROM change_log WHERE seq IN (SELECT min(seq) FROM change_log GROUP BY entity)"
)


def check_same_values(import_url: str, other_url: str, sample: int) -> str | None:
    """None when the import and another phase wrote the same column values (ids, barcodes, dates aside)
    and change records of the same shape; what differs otherwise."""
    answers = [query(url, VALUES_SQL, {"n": sample}) for url in (import_url, other_url)]
    if answers[0] != answers[1]:
        diff = next((a, b) for a, b in zip(*answers, strict=False) if a != b)
        return f"different values: {diff[0]} vs {diff[1]}"
    changes = [dict(query(url, CHANGES_SQL)) for url in (import_url, other_url)]
    if changes[1]:
        for entity, data in changes[0].items():
            keys = [
                list((json.loads(d) if isinstance(d, str) else d) or {})
                for d in (data, changes[1].get(entity))
            ]
            if keys[0] != keys[1]:
                return f"{entity} change records differ in shape: {keys[0]} vs {keys[1]}"
    return None


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    headers = ("phase", "seconds", "CPU s", "rows/s", "peak MB", "rows/s vs floor")
    cells = [
        (
            r["phase"],
            fmt(r["seconds"], 1),
            fmt(r["cpu_seconds"], 1),
            fmt(r["rows_per_s"], 0),
            fmt(r["peak_mb"], 0),
            fmt(r["vs_floor"], 2),
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *cells, strict=False)]

    def line(values: Sequence[str]) -> str:
        return " | ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    for cell in cells:
        print(line(cell))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (one visitor + one vehicle)")
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="rows per import chunk (default: ImportOptions' default)"
    )
    parser.add_argument(
        "--database",
        default=None,
        help="a PostgreSQL server URL (postgresql+psycopg://user:pw@host/db): the phases use databases "
        "<db>_bench_import, _floor and _core of their own, created afresh; default: SQLite files in bench/results",
    )
    parser.add_argument("--keep", action="store_true", help="keep the CSV and the databases afterwards")
    parser.add_argument("--seed", type=int, default=20261124, help="seed of the generated rows")
    # Internal: run one measured phase in this (child) process.
    parser.add_argument("--phase", choices=("import", "rerun", "baseline", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rows < 1 or (args.chunk_size is not None and args.chunk_size < 1):
        parser.error("--rows and --chunk-size must be positive")
    if args.database is not None and not args.database.startswith("postgresql"):
        parser.error("--database takes a PostgreSQL URL; SQLite is the default")
    return args


def child_main(args: argparse.Namespace) -> int:
    if args.phase == "baseline":
        result = phase_baseline(args.url, args.csv, args.rows)
    elif args.phase == "floor":
        result = phase_floor(args.url, args.csv, args.rows)
    else:
        label = "template import" if args.phase == "import" else "no-change re-run"
        result = phase_import(args.url, args.csv, args.rows, args.chunk_size, label)
    print(json.dumps(result, default=str))
    return 0


def met(flag: bool) -> str:
    return "met" if flag else "NOT met"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        return child_main(args)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    n = args.rows
    csv_path = RESULTS_DIR / f"import-{n}-{args.seed}.csv"
    urls = {name: db_url(args.database, n, name) for name in ("import", "floor", "core")}
    if csv_path.exists():
        print(f"Reusing {csv_path.relative_to(REPO_DIR)}.")
        generate_s = None
    else:
        generate_s = write_csv(csv_path, n, args.seed)
        print(f"Wrote {csv_path.relative_to(REPO_DIR)} ({n:,} rows) in {generate_s:.1f} s.")

    backend = "SQLite" if args.database is None else "PostgreSQL"
    chunk = "default chunks" if args.chunk_size is None else f"chunks of {args.chunk_size}"
    problems: list[str] = []
    try:
        print(f"Phases ({n:,} rows, {backend}, {chunk}), each in a child process:")
        fresh_db(urls["import"])
        imported = run_child("import", urls["import"], csv_path, n, args.chunk_size)
        after_import, marks = table_counts(urls["import"]), write_marks(urls["import"])
        sizes = stored_bytes(urls["import"])
        rerun = run_child("rerun", urls["import"], csv_path, n, args.chunk_size)
        after_rerun, marks_rerun = table_counts(urls["import"]), write_marks(urls["import"])
        fresh_db(urls["floor"])
        floor = run_child("floor", urls["floor"], csv_path, n, None)
        after_floor = table_counts(urls["floor"])
        fresh_db(urls["core"])
        baseline = run_child("baseline", urls["core"], csv_path, n, None)
        after_baseline = table_counts(urls["core"])
        for name in ("floor", "core"):
            if (problem := check_same_values(urls["import"], urls[name], sample=1000)) is not None:
                problems.append(f"import vs {name}: {problem}")
    finally:
        if not args.keep:
            for url in urls.values():
                remove_db(url)
            csv_path.unlink(missing_ok=True)

    expected = {"visitor": n, "vehicle": n, "change_log": 2 * n}
    if after_import != expected:
        problems.append(f"after the import the tables hold {after_import}, expected {expected}")
    if after_rerun != after_import:
        problems.append(f"the re-run changed the tables: {after_import} -> {after_rerun}")
    if marks_rerun != marks:
        problems.append(f"the re-run wrote (updateDate or change log moved): {marks} -> {marks_rerun}")
    if after_floor != expected:
        problems.append(f"after the floor the tables hold {after_floor}, expected {expected}")
    if after_baseline != {**expected, "change_log": 0}:
        problems.append(f"after the baseline the tables hold {after_baseline}")
    for name, phase, operation in (("import", imported, "inserted"), ("re-run", rerun, "unchanged")):
        summary = phase["summary"]
        if phase["failed"] or any(summary.get(e, {}).get(operation) != n for e in ("Visitor", "Vehicle")):
            problems.append(f"{name}: {phase['failed']} failed, summary {summary}, {phase['first_errors']}")

    floor_rate = n / floor["seconds"]
    table = [
        {"phase": label, "seconds": p["seconds"], "cpu_seconds": p["cpu_seconds"], "rows_per_s": n / p["seconds"],
         "peak_mb": p["peak_mb"], "vs_floor": (n / p["seconds"]) / floor_rate}
        for label, p in (
            ("template import (run_import, Visitor+Vehicle)", imported),
            ("no-change re-run (same database)", rerun),
            ("floor: raw executemany + change log", floor),
            ("baseline: Core executemany, no change log", baseline),
        )
    ]  # fmt: skip
    share = table[0]["vs_floor"]
    speedup = imported["seconds"] / rerun["seconds"]
    peak = max(p["peak_mb"] for p in (imported, rerun))
    targets = {
        "import_vs_floor": {"value": round(share, 2), "target": f">= {MIN_FLOOR_SHARE}",
                            "met": share >= MIN_FLOOR_SHARE},
        "rerun_speedup": {"value": round(speedup, 2), "target": f">= {MIN_RERUN_SPEEDUP}",
                          "met": speedup >= MIN_RERUN_SPEEDUP},
        "peak_mb": {"value": round(peak, 1), "target": f"< {MAX_PEAK_MB:.0f}", "met": peak < MAX_PEAK_MB},
    }  # fmt: skip

    print()
    version = sqlite3.sqlite_version if args.database is None else "server"
    print(
        f"visitorhub template import vs raw executemany - {n:,} rows (visitor + vehicle), "
        f"{imported['chunk_size']} rows per chunk, {backend} {version}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print_table(table)
    print(
        f"Import {share:.2f}x the floor's rows/s and {imported['seconds'] / baseline['seconds']:.2f}x the Core "
        f"baseline's time; re-run {speedup:.1f}x faster than the import."
    )
    print(
        f"Targets: import >= {MIN_FLOOR_SHARE:g}x floor: {met(targets['import_vs_floor']['met'])}; re-run >= "
        f"{MIN_RERUN_SPEEDUP:g}x faster: {met(targets['rerun_speedup']['met'])}; peak of the import processes "
        f"{peak:,.0f} MB (< {MAX_PEAK_MB:.0f} MB): {met(targets['peak_mb']['met'])}."
    )
    print(
        f"Change log: {sizes['change_log_data'] / 1e6:,.0f} MB of representations "
        f"({sizes['change_log_data'] / (2 * n):,.0f} bytes per record, null fields left out); the visitor and "
        f"vehicle tables: {sizes['tables'] / 1e6:,.0f} MB."
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")

    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).as_posix(), *(argv if argv is not None else sys.argv[1:])]),
        "config": {
            "rows": n,
            "chunk_size": imported["chunk_size"],
            "seed": args.seed,
            "baseline_batch": BASELINE_BATCH,
            "backend": backend,
        },
        "environment": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "template": TEMPLATE,
        "csv_seconds": round(generate_s, 1) if generate_s is not None else None,
        "phases": {"import": imported, "rerun": rerun, "floor": floor, "baseline": baseline},
        "tables": {
            "after_import": after_import,
            "after_rerun": after_rerun,
            "after_floor": after_floor,
            "after_baseline": after_baseline,
        },
        "table": table,
        "stored_bytes": sizes,
        "targets": targets,
        "problems": problems,
    }
    JSON_PATH.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"Wrote {JSON_PATH.relative_to(REPO_DIR)}.")
    return 0 if all(t["met"] for t in targets.values()) and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
