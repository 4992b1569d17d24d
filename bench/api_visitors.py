#!/usr/bin/env python
"""Benchmark of the Visitor API on a large SQLite database, against a plain-ORM baseline.

    python bench/api_visitors.py [--visitors 1000000] [--requests 2000] [--concurrency 8] [--db PATH]
                                 [--participants 100000] [--only visitors|smartparking|rankings]

1. builds (or reuses) a SQLite file migrated with `visitorhub.migrations.upgrade` and holding N visitors,
   each with a vehicle (plus a few deleted vehicles whose plates another visitor drives now), and a
   challenge whose participants are the first --participants of them (rankings phase);
2. starts the real service (`python -m visitorhub serve --no-worker`) on a free loopback port;
3. measures over HTTP (httpx, one client per thread) GET /visitors/{id} and a filtered, sorted page of
   GET /visitors (visitors phase), POST /smartparking/visits/entry by licence plate (smartparking phase),
   and GET /visitors/{id}/rankings of random participants (rankings phase);
4. runs the same queries through the SQLAlchemy ORM in this process (1 thread and --concurrency threads):
   the two reads, the bare plate lookup smart parking makes and the bare ranking queries; prints a table
   (and bench/results/api_visitors.json) comparing them. `--only` runs one phase (rankings alone on a
   database of --participants visitors unless --visitors says otherwise).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from visitorhub.core.db import make_engine, make_session_factory
from visitorhub.domains.challenges import ranking
from visitorhub.domains.smartparking.service import plate_owner
from visitorhub.domains.vehicles.resources import normalize_plate
from visitorhub.migrations import upgrade
from visitorhub.models import Challenge, Vehicle, Visitor, VisitorChallenge

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
JSON_PATH = RESULTS_DIR / "api_visitors.json"

BATCH_SIZE = 20_000  # rows per executemany
ROWS_PER_TRANSACTION = 200_000  # -> 5 transactions for 1M visitors
PAGE_LIMIT = 25
RANKING_CHALLENGE = "bench-rankings"  # genericName of the benchmark's challenge
RANKING_TOP = 10  # winnerNumber: topRanking shows the 10 best
PHASES = ("visitors", "smartparking", "rankings")

# Realistic, skewed data: 10 countries, 5 centres each (50 in all); 85% of visitors are acquired by a
# centre of their own country, the rest by any centre.
COUNTRY_WEIGHTS = {
    "FR": 25,
    "ES": 15,
    "IT": 12,
    "DE": 10,
    "GB": 8,
    "BE": 7,
    "NL": 7,
    "PT": 6,
    "PL": 5,
    "CH": 5,
}
COUNTRY_INFO = {  # locale, timezone, phone prefix
    "FR": ("fr_FR", "Europe/Paris", "+33"),
    "ES": ("es_ES", "Europe/Madrid", "+34"),
    "IT": ("it_IT", "Europe/Rome", "+39"),
    "DE": ("de_DE", "Europe/Berlin", "+49"),
    "GB": ("en_GB", "Europe/London", "+44"),
    "BE": ("fr_BE", "Europe/Brussels", "+32"),
    "NL": ("nl_NL", "Europe/Amsterdam", "+31"),
    "PT": ("pt_PT", "Europe/Lisbon", "+351"),
    "PL": ("pl_PL", "Europe/Warsaw", "+48"),
    "CH": ("de_CH", "Europe/Zurich", "+41"),
}
CENTRES = {cc: [f"{cc}-SC-{101 + k}" for k in range(5)] for cc in COUNTRY_WEIGHTS}
ALL_CENTRES = [pc for pcs in CENTRES.values() for pc in pcs]
# fmt: off
FIRST_NAMES = [
    "Alice", "Bruno", "Chloe", "David", "Emma", "Felix", "Giulia", "Hugo", "Ines", "Jonas", "Karin",
    "Lucas", "Maria", "Nils", "Olga", "Pablo", "Quentin", "Rosa", "Sofia", "Tomas", "Ursula", "Victor",
    "Wiebke", "Xavier", "Yasmin", "Zoe", "Anna", "Marco", "Lea", "Jan", "Eva", "Luis", "Clara",
    "Pieter", "Marta", "Oscar", "Julia", "Adam", "Nora", "Theo"
]
LAST_NAMES = [
    "Martin", "Garcia", "Rossi", "Muller", "Smith", "Dubois", "Janssens", "Silva", "Nowak", "Meier",
    "Bernard", "Lopez", "Bianchi", "Schmidt", "Jones", "Lambert", "Peeters", "Santos", "Kowalski",
    "Keller", "Petit", "Sanchez", "Romano", "Schneider", "Taylor", "Leroy", "Maes", "Ferreira",
    "Wojcik", "Huber", "Moreau", "Perez", "Ricci", "Fischer", "Brown", "Girard", "Jacobs", "Costa",
    "Lewandowski", "Weber"
]
CITIES = [
    "Paris", "Lyon", "Madrid", "Milano", "Berlin", "London", "Bruxelles", "Amsterdam", "Lisboa",
    "Warszawa", "Zurich", "Lille"
]
STREETS = [
    "Main Street", "Rue de la Paix", "Calle Mayor", "Via Roma", "Hauptstrasse", "Dorpsstraat",
    "Rua Augusta",
]
# fmt: on
DOMAINS = ("example.com", "mail.example.org", "inbox.example.net", "post.example.eu")
ORIGINS = (("api", "crm-sync"), ("web", "website"), ("app", "mobile-app"), ("import", "template-2024"))


# ---------------------------------------------------------------------------------------------------
# Database: create, migrate, populate
# ---------------------------------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def visitor_count(path: Path) -> int | None:
    """Visitors in the file; None when there is no file, 0 when it has no visitor table yet."""
    if not path.exists():
        return None
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT count(*) FROM visitor").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def populate_engine(url: str) -> Engine:
    """A plain engine tuned for one bulk load (not the service's engine; durability is not needed)."""
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-1000000")  # ~1 GB page cache: the indexes stay in memory
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    return engine


def visitor_rows(
    start: int, count: int, total: int, rng: random.Random, now: datetime
) -> list[dict[str, Any]]:
    """Rows start..start+count-1 of `total`, in creation order over the last two years."""
    span = timedelta(days=730).total_seconds()
    t0 = now - timedelta(days=730)
    countries = list(COUNTRY_WEIGHTS)
    countries_of_rows = rng.choices(countries, weights=list(COUNTRY_WEIGHTS.values()), k=count)
    rows = []
    for offset, cc in enumerate(countries_of_rows):
        i = start + offset
        created = t0 + timedelta(seconds=span * i / total + rng.uniform(0, 60))
        age = (now - created).total_seconds()
        updated = created + timedelta(seconds=age * rng.random() ** 3)
        full = rng.random() < 0.7
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES) if full or rng.random() < 0.5 else None
        locale, tz, phone_prefix = COUNTRY_INFO[cc]
        pc = rng.choice(CENTRES[cc]) if rng.random() < 0.85 else rng.choice(ALL_CENTRES)
        origin_type, origin = rng.choice(ORIGINS)
        has_phone = rng.random() < 0.6
        visited = rng.random() < 0.8
        rows.append(
            {
                "visitor_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "account_type": "full" if full else "partial",
                "email": f"{first}.{last or 'x'}.{i}@{DOMAINS[i % len(DOMAINS)]}".lower(),
                "first_name": first,
                "last_name": last,
                "gender": rng.choice("mfu") if full else None,
                "phone": f"{phone_prefix} 6{rng.randrange(10**8):08d}" if has_phone else None,
                "mobile_locale": locale,
                "timezone": tz,
                "country_code": cc,
                "address_city": rng.choice(CITIES) if full else None,
                "address_street": f"{rng.randint(1, 250)} {rng.choice(STREETS)}" if full else None,
                "address_state": None,
                "address_zip_code": f"{rng.randrange(100_000):05d}" if full else None,
                "billing_address": None,
                "billing_address2": None,
                "billing_zip_code": None,
                "billing_city": None,
                "billing_country_code": cc if full and rng.random() < 0.2 else None,
                "acquisition_pc_code": pc,
                "upgrade_pc_code": rng.choice(CENTRES[cc]) if full and rng.random() < 0.1 else None,
                "email_verified": rng.random() < 0.6,
                "email_invalid": rng.random() < 0.02,
                "phone_verified": has_phone and rng.random() < 0.5,
                "phone_invalid": False,
                "birth_day": rng.randint(1, 28) if full else None,
                "birth_month": rng.randint(1, 12) if full else None,
                "birth_year": rng.randint(1940, 2008) if full else None,
                "last_visit_date": created + timedelta(seconds=age * rng.random()) if visited else None,
                "registration_date": created if full else None,
                # (i * odd-not-5 + c) mod 10**13 is a bijection: unique 13-digit barcodes.
                "barcode": f"{(i * 3_141_592_653 + 271_828) % 10**13:013d}",
                "origin_type": origin_type,
                "origin": origin,
                "creation_date": created,
                "update_date": updated,
            }
        )
    return rows


def populate(url: str, total: int, seed: int) -> float:
    """Insert `total` visitors with bulk executemany; returns the seconds it took."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    engine = populate_engine(url)
    insert = Visitor.__table__.insert()
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            for tx_start in range(0, total, ROWS_PER_TRANSACTION):
                tx_end = min(tx_start + ROWS_PER_TRANSACTION, total)
                with conn.begin():
                    for start in range(tx_start, tx_end, BATCH_SIZE):
                        count = min(BATCH_SIZE, tx_end - start)
                        conn.execute(insert, visitor_rows(start, count, total, rng, now))
                        done = start + count
                        elapsed = time.perf_counter() - started
                        print(
                            f"  populate: {done:>10,} / {total:,} visitors  {elapsed:6.1f} s"
                            f"  ({done / elapsed:,.0f} rows/s)",
                            flush=True,
                        )
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return time.perf_counter() - started


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PLATE_SPACE = 26**4 * 1000  # AA-000-AA .. ZZ-999-ZZ
FORMER_OWNER_EVERY = 50  # every 50th plate also sits on a deleted vehicle of another visitor


def plate(i: int) -> str:
    """The i-th plate, "AB-123-CD" style; i * 104729 mod PLATE_SPACE is a bijection (104729 is a prime
    that divides no factor of 26**4 * 1000), so plates are unique and scattered over the index."""
    j = (i * 104_729) % PLATE_SPACE
    j, number = divmod(j, 1000)
    letters = []
    for _ in range(4):
        j, k = divmod(j, 26)
        letters.append(LETTERS[k])
    return f"{letters[0]}{letters[1]}-{number:03d}-{letters[2]}{letters[3]}"


def vehicle_count(path: Path) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT count(*) FROM vehicle").fetchone()[0])
    finally:
        con.close()


def populate_vehicles(url: str, seed: int) -> float:
    """One vehicle per visitor (the i-th visitor in rowid order drives plate(i)), plus, for every 50th plate,
    a deleted vehicle of the next visitor updated more recently: smart parking must skip it."""
    rng = random.Random(seed + 7)
    engine = populate_engine(url)
    insert = Vehicle.__table__.insert()
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            with conn.begin():
                ids = [row[0] for row in conn.execute(select(Visitor.visitor_id).order_by(text("rowid")))]
            total = len(ids)
            for tx_start in range(0, total, ROWS_PER_TRANSACTION):
                with conn.begin():
                    for start in range(tx_start, min(tx_start + ROWS_PER_TRANSACTION, total), BATCH_SIZE):
                        rows = []
                        for i in range(start, min(start + BATCH_SIZE, total)):
                            rows.append(vehicle_row(ids[i], plate(i), None, rng))
                            if i % FORMER_OWNER_EVERY == 0 and i + 1 < total:
                                rows.append(vehicle_row(ids[i + 1], plate(i), rng, rng))
                        conn.execute(insert, rows)
                        done = min(start + BATCH_SIZE, total)
                        elapsed = time.perf_counter() - started
                        print(
                            f"  populate: {done:>10,} / {total:,} visitors' vehicles  {elapsed:6.1f} s",
                            flush=True,
                        )
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return time.perf_counter() - started


def vehicle_row(
    visitor_id: uuid.UUID, plate_text: str, deleted: random.Random | None, rng: random.Random
) -> dict[str, Any]:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    created = now - timedelta(days=rng.uniform(30, 730))
    updated = created + timedelta(days=rng.uniform(0, 29))
    if deleted is not None:  # the deleted one is the latest updated: only the deletion filter skips it
        updated = now - timedelta(days=deleted.uniform(0, 1))
    return {
        "visitor_id": visitor_id,
        "name": None,
        "maker": rng.choice(("Renault", "Peugeot", "Volkswagen", "Fiat", "Toyota", "Seat")),
        "color": None,
        "model": None,
        "license_plate": plate_text,
        "license_plate_normalized": normalize_plate(plate_text),
        "license_plate_country": "FR",
        "year_of_manufacture": rng.randint(2000, 2026),
        "last_parking_session": None,
        "deletion_date": updated if deleted is not None else None,
        "creation_date": created,
        "update_date": updated,
    }


def ensure_centres(path: Path) -> None:
    """The centres visitors are acquired by (smart parking's pcCode must name one), added when missing."""
    now = datetime(2026, 11, 1, tzinfo=UTC).isoformat(sep=" ").replace("+00:00", "")
    con = sqlite3.connect(path)
    try:
        con.executemany(
            "INSERT OR IGNORE INTO center (pc_code, label, country, is_westfield, has_worker, has_multi_step, "
            "is_active, has_email_validation, has_basic_loyalty, has_registration, creation_date, update_date) "
            "VALUES (?, ?, ?, 1, 0, 0, 1, 1, 0, 1, ?, ?)",
            [(pc, f"Centre {pc}", pc[:2], now, now) for pc in ALL_CENTRES],
        )
        con.commit()
    finally:
        con.close()


def prepare_db(path: Path, total: int, seed: int, owned: bool) -> tuple[int, float | None]:
    """Make sure `path` is migrated and holds visitors; returns (visitors, populate seconds or None)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    url = sqlite_url(path)
    count = visitor_count(path)
    if count == total:
        print(f"Reusing {path}: it already holds {count:,} visitors.")
        upgrade(url)
        if vehicle_count(path) == 0:
            print(f"Adding a vehicle to each of the {count:,} visitors...")
            populate_vehicles(url, seed)
        ensure_centres(path)
        return count, None
    if count:
        if not owned:
            sys.exit(
                f"{path} holds {count:,} visitors, not {total:,}: pass --visitors {count} to reuse it, "
                "or point --db at a new file."
            )
        print(f"{path} holds {count:,} visitors, not {total:,}: rebuilding it.")
        remove_db(path)
    print(f"Creating {path} (migrations) and populating {total:,} visitors...")
    upgrade(url)
    seconds = populate(url, total, seed)
    print(f"Populated {total:,} visitors in {seconds:.1f} s ({total / seconds:,.0f} rows/s).")
    seconds += populate_vehicles(url, seed)
    ensure_centres(path)
    return total, seconds


# ---------------------------------------------------------------------------------------------------
# The service under test
# ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def running_server(db_path: Path, startup_timeout: float) -> Iterator[tuple[str, str]]:
    """Yields (base_url, api key) of `visitorhub serve` on the database; always stops it."""
    env = {
        **os.environ,
        "VISITORHUB_DATABASE_URL": sqlite_url(db_path),
        "VISITORHUB_LOG_LEVEL": "warning",
    }
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    out_path, err_path = RESULTS_DIR / "server.stdout.log", RESULTS_DIR / "server.stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "visitorhub", "serve", "--port", str(port), "--no-worker"],
            cwd=REPO_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + startup_timeout
        with httpx.Client(base_url=base_url, timeout=2.0, trust_env=False) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {proc.returncode}:\n{tail(err_path)}")
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no healthy server after {startup_timeout:.0f} s:\n{tail(err_path)}")
                time.sleep(0.2)
        key = next(
            (
                line.split("=", 1)[1].strip()
                for line in out_path.read_text().splitlines()
                if line.startswith("VISITORHUB_ADMIN_KEY=")
            ),
            None,
        )
        if key is None:  # the database already had keys: make a key for the benchmark (smart parking writes)
            created = subprocess.run(
                [sys.executable, "-m", "visitorhub", "keys", "create", "bench", "--scope", "write"],
                cwd=REPO_DIR,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            key = created.stdout.strip().splitlines()[-1].strip()
        print(f"Server pid {proc.pid} healthy at {base_url}.")
        yield base_url, key
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------------------------------------------
# Load runner
# ---------------------------------------------------------------------------------------------------

Op = Callable[[Any], bool]
# Called once in each worker thread: returns the operation and what closes its resources.
Setup = Callable[[], tuple[Op, Callable[[], None]]]


@dataclass
class Result:
    scenario: str
    layer: str  # "http" or "orm"
    query: str  # "get" or "list"
    threads: int
    planned: int
    completed: int
    errors: int
    wall_s: float
    p50_ms: float
    p99_ms: float
    per_s: float
    hit_time_limit: bool
    first_error: str | None = None


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def run_load(
    scenario: str,
    layer: str,
    query: str,
    setup: Setup,
    params: Sequence[Any],
    threads: int,
    time_limit: float,
) -> Result:
    """Run every param once over `threads` workers, each with its own resources, until done or time limit."""
    lock = threading.Lock()
    next_index = iter(range(len(params)))
    latencies: list[float] = []
    errors: list[str] = []
    clock: dict[str, float] = {}

    def start_clock() -> None:
        clock["deadline"] = time.monotonic() + time_limit
        clock["start"] = time.perf_counter()

    barrier = threading.Barrier(threads, action=start_clock)

    def worker() -> None:
        op, close = setup()
        local: list[float] = []
        local_errors: list[str] = []
        try:
            barrier.wait()
            deadline = clock["deadline"]
            while time.monotonic() < deadline:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    break
                began = time.perf_counter()
                try:
                    ok = op(params[index])
                except Exception as exc:
                    local_errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                local.append(time.perf_counter() - began)
                if not ok:
                    local_errors.append("unexpected response")
        finally:
            close()
            with lock:
                latencies.extend(local)
                errors.extend(local_errors)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    wall = time.perf_counter() - clock["start"]
    latencies.sort()
    completed = len(latencies)
    return Result(
        scenario=scenario,
        layer=layer,
        query=query,
        threads=threads,
        planned=len(params),
        completed=completed,
        errors=len(errors),
        wall_s=round(wall, 3),
        p50_ms=round(percentile(latencies, 50) * 1000, 3),
        p99_ms=round(percentile(latencies, 99) * 1000, 3),
        per_s=round(completed / wall, 1) if wall > 0 else math.nan,
        hit_time_limit=completed + len(errors) < len(params),
        first_error=errors[0] if errors else None,
    )


SMARTPARKING_PC = "FR-SC-101"


def http_setup(base_url: str, key: str, query: str) -> Setup:
    def setup() -> tuple[Op, Callable[[], None]]:
        client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30.0, trust_env=False
        )
        if query == "get":

            def op(visitor_id: uuid.UUID) -> bool:
                return client.get(f"/visitors/{visitor_id}").status_code == 200

        elif query == "smartparking":

            def op(plate_text: str) -> bool:
                body = {"pcCode": SMARTPARKING_PC, "licensePlate": plate_text}
                return client.post("/smartparking/visits/entry", json=body).status_code == 201

        else:

            def op(pair: tuple[str, str]) -> bool:
                params = {
                    "countryCode": pair[0],
                    "acquisitionPcCode": pair[1],
                    "limit": PAGE_LIMIT,
                    "sort": "-creationDate",
                }
                return client.get("/visitors", params=params).status_code == 200

        return op, client.close

    return setup


def filtered_page(country_code: str, pc_code: str, limit: int = PAGE_LIMIT) -> Any:
    """The statement the API runs for the filtered list (sort, then the primary key for stable pages)."""
    return (
        select(Visitor)
        .where(Visitor.country_code == country_code, Visitor.acquisition_pc_code == pc_code)
        .order_by(Visitor.creation_date.desc(), Visitor.visitor_id.asc())
        .limit(limit)
    )


def orm_setup(sessions: sessionmaker[Session], query: str) -> Setup:
    def setup() -> tuple[Op, Callable[[], None]]:
        if query == "get":

            def op(visitor_id: uuid.UUID) -> bool:
                with sessions() as session:
                    return session.get(Visitor, visitor_id) is not None

        elif query == "smartparking":
            # The bare query: the plate lookup smart parking makes (the service's own statement).

            def op(plate_text: str) -> bool:
                with sessions() as session:
                    return plate_owner(session, plate_text) is not None

        else:

            def op(pair: tuple[str, str]) -> bool:
                with sessions() as session:
                    return bool(session.scalars(filtered_page(*pair)).all())

        return op, lambda: None

    return setup


def plate_workload(visitors: int, requests: int, rng: random.Random) -> list[str]:
    """Plates of random vehicles as a car park camera might send them (case and separators vary); a
    fiftieth of them also sit on a deleted vehicle updated later."""
    spellings = (lambda p: p, str.lower, lambda p: p.replace("-", " "), lambda p: p.replace("-", ""))
    return [rng.choice(spellings)(plate(rng.randrange(visitors))) for _ in range(requests)]


def check_smartparking(base_url: str, key: str, sessions: sessionmaker[Session], visitors: int) -> None:
    """The entry answers the visitor the ORM's lookup finds: the live vehicle's, not the deleted one's."""
    with (
        httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, trust_env=False
        ) as client,
        sessions() as session,
    ):
        for i in (0, FORMER_OWNER_EVERY * (visitors // (2 * FORMER_OWNER_EVERY)), visitors - 1):
            expected = plate_owner(session, plate(i))
            body = {"pcCode": SMARTPARKING_PC, "licensePlate": plate(i).lower()}
            response = client.post("/smartparking/visits/entry", json=body)
            if response.status_code != 201 or response.json()["visitorId"] != str(expected):
                raise RuntimeError(
                    f"smart parking by {plate(i)}: {response.status_code} {response.text[:200]}"
                )
            owner_by_rowid = session.scalar(
                select(Visitor.visitor_id).order_by(text("rowid")).offset(i).limit(1)
            )
            if expected != owner_by_rowid:
                raise RuntimeError(
                    f"plate {plate(i)} resolves to {expected}, not its live owner {owner_by_rowid}"
                )


def plate_query_plan(engine: Engine) -> list[str]:
    stmt = (
        select(Vehicle.visitor_id)
        .where(Vehicle.license_plate_normalized == normalize_plate(plate(0)), Vehicle.deletion_date.is_(None))
        .order_by(Vehicle.update_date.desc(), Vehicle.vehicle_id.desc())
        .limit(1)
    )
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]


# ---------------------------------------------------------------------------------------------------
# Rankings: a challenge with many participants
# ---------------------------------------------------------------------------------------------------


def prepare_challenge(url: str, participants: int, seed: int) -> tuple[int, float | None]:
    """The benchmark challenge, with the first `participants` visitors taking part (reused when the file
    already holds it with that many); returns (challenge id, populate seconds or None)."""
    engine = populate_engine(url)
    try:
        with engine.begin() as conn:
            found = conn.execute(
                select(Challenge.challenge_id).where(Challenge.generic_name == RANKING_CHALLENGE)
            ).scalar()
            if found is not None:
                count = conn.execute(
                    select(func.count()).where(VisitorChallenge.challenge_id == found)
                ).scalar_one()
                if count == participants:
                    print(f"Reusing challenge {found}: it already has {count:,} participants.")
                    return int(found), None
                conn.execute(
                    VisitorChallenge.__table__.delete().where(VisitorChallenge.challenge_id == found)
                )
                conn.execute(Challenge.__table__.delete().where(Challenge.challenge_id == found))
            started = time.perf_counter()
            challenge_id = populate_challenge(conn, participants, seed)
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds = time.perf_counter() - started
        print(f"Challenge {challenge_id}: {participants:,} participants in {seconds:.1f} s.")
        return challenge_id, seconds
    finally:
        engine.dispose()


def populate_challenge(conn: Any, participants: int, seed: int) -> int:
    visitors = list(
        conn.execute(select(Visitor.visitor_id).order_by(Visitor.creation_date).limit(participants)).scalars()
    )
    if len(visitors) < participants:
        sys.exit(
            f"The database holds {len(visitors):,} visitors, fewer than --participants {participants:,}."
        )
    now = datetime.now(UTC)
    challenge_id = conn.execute(
        Challenge.__table__.insert().returning(Challenge.challenge_id),
        {
            "pc_code": ALL_CENTRES[0],
            "generic_name": RANKING_CHALLENGE,
            "type": "step_counter",
            "start_date": now - timedelta(days=30),
            "end_date": now + timedelta(days=3650),
            "timezone": "Europe/Paris",
            "image_url": None,
            "winner_number": RANKING_TOP,
            "reward_expiration_seconds": 86400,
            "status": "active",
            "display_name": [],
            "description": [],
            "reward_detail": [],
            "creation_date": now,
            "update_date": now,
        },
    ).scalar_one()
    rng = random.Random(seed)
    for start in range(0, participants, BATCH_SIZE):
        rows = []
        for visitor_id in visitors[start : start + BATCH_SIZE]:
            # Step counts: skewed, one in ten still at 0 (a large tie); reached at random instants.
            points = int(rng.gammavariate(1.5, 3000)) if rng.random() < 0.9 else 0
            reached = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            rows.append(
                {
                    "visitor_id": visitor_id,
                    "challenge_id": challenge_id,
                    "points": points,
                    "points_reached_at": reached,
                    "total_entry_count": rng.randint(0, 60),
                    "bonus_entry_count": 0,
                    "last_entry_date": reached,
                    "reward_unlocked": False,
                    "reward_received": False,
                    "reward_expiration_date": None,
                    "registered_date": now - timedelta(days=30),
                    "creation_date": now - timedelta(days=30),
                    "update_date": reached,
                }
            )
        conn.execute(VisitorChallenge.__table__.insert(), rows)
    return int(challenge_id)


def sample_participants(
    sessions: sessionmaker[Session], challenge_id: int, requests: int, rng: random.Random
) -> list[uuid.UUID]:
    with sessions() as session:
        ids = list(
            session.scalars(
                select(VisitorChallenge.visitor_id)
                .where(VisitorChallenge.challenge_id == challenge_id)
                .order_by(func.random())
                .limit(requests)
            )
        )
    params = [ids[i % len(ids)] for i in range(requests)]
    rng.shuffle(params)
    return params


def ranking_queries(session: Session, visitor_id: uuid.UUID, challenge_id: int) -> int:
    """The bare ranking queries the endpoint runs for one participation: its row, its position (two
    index counts), the top and its neighbours; returns the position."""
    participation = session.scalars(
        select(VisitorChallenge).where(
            VisitorChallenge.visitor_id == visitor_id, VisitorChallenge.challenge_id == challenge_id
        )
    ).one()
    position = ranking.position(session, participation)
    ranking.top(session, challenge_id, RANKING_TOP)
    ranking.neighbours(session, participation, position, 2)
    return position


def rankings_http_setup(base_url: str, key: str) -> Setup:
    def setup() -> tuple[Op, Callable[[], None]]:
        client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30.0, trust_env=False
        )

        def op(visitor_id: uuid.UUID) -> bool:
            return client.get(f"/visitors/{visitor_id}/rankings").status_code == 200

        return op, client.close

    return setup


def rankings_orm_setup(sessions: sessionmaker[Session], challenge_id: int) -> Setup:
    def setup() -> tuple[Op, Callable[[], None]]:
        def op(visitor_id: uuid.UUID) -> bool:
            with sessions() as session:
                return ranking_queries(session, visitor_id, challenge_id) >= 1

        return op, lambda: None

    return setup


def ranking_plan(engine: Engine, challenge_id: int) -> list[str]:
    """SQLite's plan of the position count: a range of ix_visitor_challenge_ranking."""
    stmt = (
        select(func.count())
        .select_from(VisitorChallenge)
        .where(VisitorChallenge.challenge_id == challenge_id, VisitorChallenge.points > 1000)
    )
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]


def check_same_ranking(
    base_url: str, key: str, sessions: sessionmaker[Session], challenge_id: int, visitor_ids: list[uuid.UUID]
) -> None:
    """The endpoint's position must be the bare queries' position."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, trust_env=False
    ) as client:
        for visitor_id in visitor_ids[:20]:
            response = client.get(f"/visitors/{visitor_id}/rankings")
            response.raise_for_status()
            items = [i for i in response.json()["data"] if i["challenge"]["challengeId"] == challenge_id]
            with sessions() as session:
                expected = ranking_queries(session, visitor_id, challenge_id)
            if len(items) != 1 or items[0]["visitorRankingPosition"] != expected:
                raise RuntimeError(f"rankings of {visitor_id}: API {items[:1]} vs position {expected}")


# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------


def sample_workload(
    sessions: sessionmaker[Session], requests: int, rng: random.Random
) -> tuple[list[uuid.UUID], list[tuple[str, str]], dict[str, int]]:
    with sessions() as session:
        ids = list(session.scalars(select(Visitor.visitor_id).order_by(func.random()).limit(requests)))
        groups = session.execute(
            select(Visitor.country_code, Visitor.acquisition_pc_code, func.count()).group_by(
                Visitor.country_code, Visitor.acquisition_pc_code
            )
        ).all()
    if not ids or not groups:
        sys.exit("The database holds no visitors.")
    get_params = [ids[i % len(ids)] for i in range(requests)]
    rng.shuffle(get_params)
    pairs = [(cc, pc) for cc, pc, _n in groups if pc is not None]
    list_params = [rng.choice(pairs) for _ in range(requests)]
    sizes = sorted(n for _cc, _pc, n in groups)
    stats = {"pairs": len(pairs), "min": sizes[0], "median": sizes[len(sizes) // 2], "max": sizes[-1]}
    return get_params, list_params, stats


def query_plan(engine: Engine, pair: tuple[str, str]) -> list[str]:
    sql = str(filtered_page(*pair, PAGE_LIMIT + 1).compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]


def check_same_answers(
    base_url: str, key: str, sessions: sessionmaker[Session], pair: tuple[str, str]
) -> None:
    """The HTTP page and the ORM baseline must return the same visitors, in the same order."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, trust_env=False
    ) as client:
        response = client.get(
            "/visitors",
            params={
                "countryCode": pair[0],
                "acquisitionPcCode": pair[1],
                "limit": PAGE_LIMIT,
                "sort": "-creationDate",
            },
        )
        response.raise_for_status()
        api_ids = [item["visitorId"] for item in response.json()["data"]]
        with sessions() as session:
            orm_ids = [str(v.visitor_id) for v in session.scalars(filtered_page(*pair))]
        if api_ids != orm_ids:
            raise RuntimeError(f"HTTP and ORM pages differ for {pair}: {api_ids[:3]}... vs {orm_ids[:3]}...")
        one = client.get(f"/visitors/{orm_ids[0]}")
        if one.status_code != 200 or one.json()["data"]["visitorId"] != orm_ids[0]:
            raise RuntimeError(f"GET /visitors/{orm_ids[0]} answered {one.status_code}: {one.text[:200]}")


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def build_table(results: dict[str, Result], concurrency: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    labels = {
        "get": ("GET /visitors/{id}", "ORM session.get(Visitor, id)"),
        "list": ("GET /visitors?countryCode&acquisitionPcCode&sort", "ORM select where/order_by/limit 25"),
        "rankings": ("GET /visitors/{id}/rankings", "ranking queries: row, position, top, neighbours"),
        "smartparking": (
            "POST /smartparking/visits/entry by licensePlate",
            "ORM plate lookup (non-deleted, latest updated)",
        ),
    }
    for query, (http_label, orm_label) in labels.items():
        if f"http-{query}" not in results:
            continue
        http = results[f"http-{query}"]
        base_n, base_1 = results[f"orm-{query}-{concurrency}"], results[f"orm-{query}-1"]
        rows.append(
            {
                "scenario": f"{http_label} [{concurrency} thr]",
                "p50_ms": http.p50_ms,
                "p99_ms": http.p99_ms,
                "per_s": http.per_s,
                "baseline_per_s": base_n.per_s,
                "ratio": round(http.per_s / base_n.per_s, 3) if base_n.per_s else None,
            }
        )
        for base in (base_1, base_n):
            rows.append(
                {
                    "scenario": f"  baseline: {orm_label} [{base.threads} thr]",
                    "p50_ms": base.p50_ms,
                    "p99_ms": base.p99_ms,
                    "per_s": base.per_s,
                    "baseline_per_s": None,
                    "ratio": None,
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    headers = ("scenario", "p50 ms", "p99 ms", "req/s", "baseline ops/s", "ratio")
    cells = [
        (
            row["scenario"],
            fmt(row["p50_ms"]),
            fmt(row["p99_ms"]),
            fmt(row["per_s"], 0),
            fmt(row["baseline_per_s"], 0),
            fmt(row["ratio"], 3),
        )
        for row in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *cells, strict=False)]
    line = " | ".join(
        h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    print(line)
    print("-+-".join("-" * w for w in widths))
    for cell in cells:
        print(
            " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cell, widths, strict=True))
            )
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--visitors",
        type=int,
        help="visitors in the database (default 1,000,000; --participants with --only rankings)",
    )
    parser.add_argument(
        "--participants", type=int, default=100_000, help="participants of the rankings phase's challenge"
    )
    parser.add_argument(
        "--only",
        choices=PHASES,
        help="run one phase: visitors (get, list), smartparking (entries by plate) or rankings",
    )
    parser.add_argument("--requests", type=int, default=2000, help="measured requests/ops per scenario")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (HTTP and ORM)")
    parser.add_argument("--db", type=Path, help="SQLite file to (re)use; default bench/results/visitors-N.db")
    parser.add_argument("--time-limit", type=float, default=120.0, help="hard limit in seconds per scenario")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests before each scenario")
    parser.add_argument("--seed", type=int, default=20261123, help="seed of the data and of the workload")
    args = parser.parse_args(argv)
    if args.visitors is None:
        args.visitors = args.participants if args.only == "rankings" else 1_000_000
    if min(args.visitors, args.requests, args.concurrency, args.participants) < 1:
        parser.error("--visitors, --requests, --concurrency and --participants must be positive")
    if args.only != "visitors" and args.participants > args.visitors:
        parser.error("--participants cannot exceed --visitors (participants are visitors)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    owned = args.db is None
    db_path: Path = (args.db or RESULTS_DIR / f"visitors-{args.visitors}.db").resolve()
    visitors, populate_s = prepare_db(db_path, args.visitors, args.seed, owned)

    phases = [args.only] if args.only else list(PHASES)
    challenge_id, challenge_s = None, None
    if "rankings" in phases:
        challenge_id, challenge_s = prepare_challenge(sqlite_url(db_path), args.participants, args.seed + 2)

    rng = random.Random(args.seed + 1)
    engine = make_engine(sqlite_url(db_path))  # the service's engine settings (WAL, pragmas)
    sessions = make_session_factory(engine, readonly=True)  # as the service's GET requests
    workloads: list[tuple[str, list[Any]]] = []
    plan: list[str] = []
    pair_stats: dict[str, int] = {}
    list_params: list[tuple[str, str]] = []
    if "visitors" in phases:
        get_params, list_params, pair_stats = sample_workload(sessions, args.requests, rng)
        plan = query_plan(engine, list_params[0])
        print(
            f"Workload: {len(get_params):,} GETs by id, {len(list_params):,} filtered pages over "
            f"{pair_stats['pairs']} (country, centre) pairs of {pair_stats['min']:,}..{pair_stats['max']:,} "
            f"visitors (median {pair_stats['median']:,})."
        )
        print("Filtered page query plan (SQLite): " + "; ".join(plan))
        workloads += [("get", get_params), ("list", list_params)]
    rank_params: list[uuid.UUID] = []
    rank_plan: list[str] = []
    if challenge_id is not None:
        rank_params = sample_participants(sessions, challenge_id, args.requests, rng)
        rank_plan = ranking_plan(engine, challenge_id)
        print(f"Rankings: {len(rank_params):,} GETs of random participants of {args.participants:,}.")
        print("Position count query plan (SQLite): " + "; ".join(rank_plan))
        workloads.append(("rankings", rank_params))
    plates: list[str] = []
    plate_plan: list[str] = []
    if "smartparking" in phases:
        plates = plate_workload(visitors, args.requests, rng)
        plate_plan = plate_query_plan(engine)
        print(f"Smart parking: {len(plates):,} entries by plate.")
        print("Plate lookup query plan (SQLite): " + "; ".join(plate_plan))
        workloads.append(("smartparking", plates))

    results: dict[str, Result] = {}

    def measure(name: str, layer: str, query: str, setup: Setup, params: list[Any], threads: int) -> None:
        if args.warmup:
            run_load(name, layer, query, setup, params[: args.warmup], threads, args.time_limit)
        result = run_load(name, layer, query, setup, params, threads, args.time_limit)
        results[name] = result
        note = " (TIME LIMIT)" if result.hit_time_limit else ""
        print(
            f"  {name:<14} {result.completed:>6,} ok {result.errors:>4} err  p50 {result.p50_ms:8.2f} ms  "
            f"p99 {result.p99_ms:8.2f} ms  {result.per_s:9,.1f}/s{note}",
            flush=True,
        )
        if result.first_error:
            print(f"    first error: {result.first_error}")

    try:
        with running_server(db_path, startup_timeout=120.0) as (base_url, key):
            if list_params:
                check_same_answers(base_url, key, sessions, list_params[0])
            if plates:
                check_smartparking(base_url, key, sessions, visitors)
            if challenge_id is not None:
                check_same_ranking(base_url, key, sessions, challenge_id, rank_params)
            print(f"Measuring ({args.concurrency} threads, {args.requests:,} requests per scenario)...")
            for query, params in workloads:
                if query == "rankings":
                    assert challenge_id is not None
                    http, orm = rankings_http_setup(base_url, key), rankings_orm_setup(sessions, challenge_id)
                else:
                    http, orm = http_setup(base_url, key, query), orm_setup(sessions, query)
                measure(f"http-{query}", "http", query, http, params, args.concurrency)
                for threads in sorted({1, args.concurrency}):
                    measure(f"orm-{query}-{threads}", "orm", query, orm, params, threads)
    finally:
        engine.dispose()

    table = build_table(results, args.concurrency)
    print()
    print(
        f"visitorhub API vs ORM baseline - {visitors:,} visitors, {args.requests:,} requests/scenario, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    print_table(table)
    print("ratio = HTTP req/s / ORM ops/s with the same thread count (1.0 = no HTTP overhead).")

    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).as_posix(), *(argv if argv is not None else sys.argv[1:])]),
        "config": {
            "phases": phases,
            "visitors": visitors,
            "participants": args.participants if challenge_id is not None else None,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "time_limit_s": args.time_limit,
            "warmup": args.warmup,
            "seed": args.seed,
            "db": str(db_path),
        },
        "environment": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "populate": {
            "reused": populate_s is None,
            "seconds": round(populate_s, 1) if populate_s is not None else None,
            "rows_per_s": round(visitors / populate_s) if populate_s else None,
        },
        "workload": {
            "filter_pairs": pair_stats,
            "list_query_plan": plan,
            "plate_query_plan": plate_plan,
            "ranking_position_query_plan": rank_plan,
            "challenge_populate_s": round(challenge_s, 1) if challenge_s is not None else None,
        },
        "scenarios": [asdict(result) for result in results.values()],
        "table": table,
    }
    json_path = JSON_PATH.with_name(f"api_visitors-{args.only}.json") if args.only else JSON_PATH
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"Wrote {json_path.relative_to(REPO_DIR)}.")
    failed = any(r.errors or r.hit_time_limit for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
