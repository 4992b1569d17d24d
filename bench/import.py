#!/usr/bin/env python
"""Benchmark of a template import (CSV -> Visitor + Vehicle) into SQLite, against a plain executemany baseline.

    python bench/import.py [--rows 1000000] [--chunk-size 500] [--keep]

1. writes a seeded CSV of N rows (one visitor and its vehicle per row) to bench/results/;
2. import: runs `visitorhub.integration.templates.execution.run_import` with a template defined below on a
   fresh migrated SQLite file, the rows streamed by csv.DictReader, committing after each chunk (as the CLI
   does); every write goes through the services' plan/apply and the change log;
3. re-run: the same import on the same database, where nothing changes (everything `unchanged`);
4. baseline: on another fresh migrated file, the same CSV read with csv.DictReader, each row turned into the
   column values the import writes, and inserted with SQLAlchemy Core executemany (visitors, then vehicles,
   batches of 10,000): same tables and indexes, no validation, no matching, no change log.

Each phase runs in its own child process: its wall time excludes interpreter start-up and imports, and its
peak memory is the child's own maximum RSS (os.wait4), so phases do not pollute each other. Prints a table
(also bench/results/import.json) and whether the issue's targets are met: import time <= 4x the
baseline's, re-run >= 2x faster than the import, peak memory < 300 MB.
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

BASELINE_BATCH = 10_000  # rows per executemany (and per transaction) in the baseline
ACTOR = "bench-import"  # WriteContext.actor of the import: becomes visitor.origin
PROGRESS_STEPS = 10  # progress lines per phase, on stderr

# Targets of issue 3.
MAX_RATIO = 4.0  # import time / baseline time
MIN_RERUN_SPEEDUP = 2.0  # import time / re-run time
MAX_PEAK_MB = 300.0

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


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def fresh_db(path: Path) -> None:
    from visitorhub.migrations import upgrade

    remove_db(path)
    upgrade(sqlite_url(path))


def table_counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            table: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("visitor", "vehicle", "change_log")
        }
    finally:
        con.close()


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


def phase_import(db: Path, csv_path: Path, rows: int, chunk_size: int, label: str) -> dict[str, Any]:
    """run_import through the template, committing after each chunk, as `visitorhub import` would."""
    from visitorhub.core.db import make_engine, make_session_factory
    from visitorhub.core.service import WriteContext
    from visitorhub.integration.templates.execution import ImportOptions, run_import
    from visitorhub.integration.templates.loaders import load_template

    engine = make_engine(sqlite_url(db))  # the service's engine settings (WAL, foreign keys, ...)
    sessions = make_session_factory(engine)
    began = time.perf_counter()
    template = load_template(json.dumps(TEMPLATE), "json")
    with sessions() as session:
        report = run_import(
            session,
            template,
            read_csv(csv_path),
            ImportOptions(chunk_size=chunk_size),
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
        "processed": result["processed"],
        "failed": result["failed"],
        "summary": result["summary"],
        "first_errors": result["errors"][:5],
    }


def phase_baseline(db: Path, csv_path: Path, rows: int) -> dict[str, Any]:
    """The same rows, as the same column values, through Core executemany: the floor for these tables."""
    from sqlalchemy import insert

    from visitorhub.core.db import make_engine
    from visitorhub.domains.vehicles.resources import normalize_plate
    from visitorhub.models import Vehicle, Visitor

    engine = make_engine(sqlite_url(db))
    progress = Progress("baseline executemany", rows)
    began = time.perf_counter()
    barcodes: set[str] = set()
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
        now = datetime.now(UTC)
        visitor_id = uuid.uuid4()
        while (barcode := f"{secrets.randbelow(10**13):013d}") in barcodes:
            pass
        barcodes.add(barcode)
        visitors.append(
            {
                "visitor_id": visitor_id,
                "email": row["email"].strip().lower(),
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
                "creation_date": now,
                "update_date": now,
            }
        )
        vehicles.append(
            {
                "visitor_id": visitor_id,
                "license_plate": row["plate"],
                "license_plate_normalized": normalize_plate(row["plate"]),
                "maker": row["maker"],
                "model": row["model"],
                "color": row["color"],
                "creation_date": now,
                "update_date": now,
            }
        )
        if len(visitors) >= BASELINE_BATCH:
            flush()
    if visitors:
        flush()
    seconds = time.perf_counter() - began
    engine.dispose()
    return {"seconds": seconds, "processed": progress.done}


def run_child(phase: str, db: Path, csv_path: Path, rows: int, chunk_size: int) -> dict[str, Any]:
    """Run one phase in a child process; its result plus the child's own peak RSS (from os.wait4)."""
    out_path = RESULTS_DIR / f"import.{phase}.out"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--db",
        str(db),
        "--csv",
        str(csv_path),
        "--rows",
        str(rows),
        "--chunk-size",
        str(chunk_size),
    ]
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
    return result


# ---------------------------------------------------------------------------------------------------
# Checks and report
# ---------------------------------------------------------------------------------------------------


def check_same_values(import_db: Path, baseline_db: Path, sample: int) -> None:
    """The import and the baseline wrote the same column values (ids, barcodes and dates aside)."""
    visitor_cols = "v.email, first_name, last_name, gender, country_code, acquisition_pc_code, account_type"
    visitor_cols += ", origin_type, origin, email_verified, email_invalid, phone_verified, phone_invalid"
    vehicle_cols = "license_plate, license_plate_normalized, maker, model, color, name, deletion_date"
    sql = (
        f"SELECT {visitor_cols}, {vehicle_cols}, registration_date IS NOT NULL, length(barcode)"
        " FROM visitor v JOIN vehicle c ON c.visitor_id = v.visitor_id ORDER BY v.email LIMIT ?"
    )
    answers = []
    for path in (import_db, baseline_db):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            answers.append(con.execute(sql, (sample,)).fetchall())
        finally:
            con.close()
    if answers[0] != answers[1]:
        diff = next((a, b) for a, b in zip(*answers, strict=False) if a != b)
        raise RuntimeError(f"the import and the baseline wrote different values: {diff[0]} vs {diff[1]}")


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    headers = ("phase", "seconds", "rows/s", "peak MB", "ratio to baseline")
    cells = [
        (r["phase"], fmt(r["seconds"], 1), fmt(r["rows_per_s"], 0), fmt(r["peak_mb"], 0), fmt(r["ratio"], 2))
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
    parser.add_argument("--chunk-size", type=int, default=500, help="rows per import chunk (and commit)")
    parser.add_argument("--keep", action="store_true", help="keep the CSV and the SQLite files afterwards")
    parser.add_argument("--seed", type=int, default=20261124, help="seed of the generated rows")
    # Internal: run one measured phase in this (child) process.
    parser.add_argument("--phase", choices=("import", "rerun", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rows < 1 or args.chunk_size < 1:
        parser.error("--rows and --chunk-size must be positive")
    return args


def child_main(args: argparse.Namespace) -> int:
    if args.phase == "baseline":
        result = phase_baseline(args.db, args.csv, args.rows)
    else:
        label = "template import" if args.phase == "import" else "no-change re-run"
        result = phase_import(args.db, args.csv, args.rows, args.chunk_size, label)
    print(json.dumps(result, default=str))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        return child_main(args)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    n = args.rows
    csv_path = RESULTS_DIR / f"import-{n}-{args.seed}.csv"
    import_db, baseline_db = RESULTS_DIR / f"import-{n}.db", RESULTS_DIR / f"import-{n}-baseline.db"
    if csv_path.exists():
        print(f"Reusing {csv_path.relative_to(REPO_DIR)}.")
        generate_s = None
    else:
        generate_s = write_csv(csv_path, n, args.seed)
        print(f"Wrote {csv_path.relative_to(REPO_DIR)} ({n:,} rows) in {generate_s:.1f} s.")

    try:
        print(f"Phases ({n:,} rows, chunks of {args.chunk_size}), each in a child process:")
        fresh_db(import_db)
        imported = run_child("import", import_db, csv_path, n, args.chunk_size)
        after_import = table_counts(import_db)
        rerun = run_child("rerun", import_db, csv_path, n, args.chunk_size)
        after_rerun = table_counts(import_db)
        fresh_db(baseline_db)
        baseline = run_child("baseline", baseline_db, csv_path, n, args.chunk_size)
        after_baseline = table_counts(baseline_db)
        check_same_values(import_db, baseline_db, sample=1000)
    finally:
        if not args.keep:
            remove_db(import_db)
            remove_db(baseline_db)
            csv_path.unlink(missing_ok=True)

    problems = []
    expected = {"visitor": n, "vehicle": n, "change_log": 2 * n}
    if after_import != expected:
        problems.append(f"after the import the tables hold {after_import}, expected {expected}")
    if after_rerun != after_import:
        problems.append(f"the re-run changed the tables: {after_import} -> {after_rerun}")
    if after_baseline != {**expected, "change_log": 0}:
        problems.append(f"after the baseline the tables hold {after_baseline}")
    for name, phase, operation in (("import", imported, "inserted"), ("re-run", rerun, "unchanged")):
        summary = phase["summary"]
        if phase["failed"] or any(summary.get(e, {}).get(operation) != n for e in ("Visitor", "Vehicle")):
            problems.append(f"{name}: {phase['failed']} failed, summary {summary}, {phase['first_errors']}")

    base_s = baseline["seconds"]
    table = [
        {"phase": label, "seconds": p["seconds"], "rows_per_s": n / p["seconds"], "peak_mb": p["peak_mb"],
         "ratio": p["seconds"] / base_s}
        for label, p in (
            ("template import (run_import, Visitor+Vehicle)", imported),
            ("no-change re-run (same DB)", rerun),
            ("baseline: Core executemany", baseline),
        )
    ]  # fmt: skip
    ratio = imported["seconds"] / base_s
    speedup = imported["seconds"] / rerun["seconds"]
    peak = max(p["peak_mb"] for p in (imported, rerun, baseline))
    targets = {
        "import_vs_baseline": {"value": round(ratio, 2), "target": f"<= {MAX_RATIO}", "met": ratio <= MAX_RATIO},
        "rerun_speedup": {"value": round(speedup, 2), "target": f">= {MIN_RERUN_SPEEDUP}",
                          "met": speedup >= MIN_RERUN_SPEEDUP},
        "peak_mb": {"value": round(peak, 1), "target": f"< {MAX_PEAK_MB:.0f}", "met": peak < MAX_PEAK_MB},
    }  # fmt: skip

    print()
    print(
        f"visitorhub template import vs executemany - {n:,} rows (visitor + vehicle), chunks of "
        f"{args.chunk_size}, SQLite {sqlite3.sqlite_version}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print_table(table)
    print(
        f"Targets: import {ratio:.2f}x baseline (<= {MAX_RATIO:g}x: "
        f"{'met' if targets['import_vs_baseline']['met'] else 'NOT met'}); re-run {speedup:.2f}x faster "
        f"than the import (>= {MIN_RERUN_SPEEDUP:g}x: {'met' if targets['rerun_speedup']['met'] else 'NOT met'}); "
        f"peak {peak:,.0f} MB (< {MAX_PEAK_MB:.0f} MB: {'met' if targets['peak_mb']['met'] else 'NOT met'})."
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")

    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).as_posix(), *(argv if argv is not None else sys.argv[1:])]),
        "config": {
            "rows": n,
            "chunk_size": args.chunk_size,
            "seed": args.seed,
            "baseline_batch": BASELINE_BATCH,
        },
        "environment": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "template": TEMPLATE,
        "csv_seconds": round(generate_s, 1) if generate_s is not None else None,
        "phases": {"import": imported, "rerun": rerun, "baseline": baseline},
        "tables": {
            "after_import": after_import,
            "after_rerun": after_rerun,
            "after_baseline": after_baseline,
        },
        "table": table,
        "targets": targets,
        "problems": problems,
    }
    JSON_PATH.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"Wrote {JSON_PATH.relative_to(REPO_DIR)}.")
    met = all(t["met"] for t in targets.values())
    return 0 if met and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
