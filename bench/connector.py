#!/usr/bin/env python
"""Benchmark of the entervo connector: N visitors with vehicles kept in step with the emulator on loopback.

    python bench/connector.py [--visitors 10000] [--changed 0.01] [--concurrency 4]

1. builds (once; later runs reuse it) bench/results/connector-N.db: N visitors, each with a vehicle, through
   the built-in `visitors-import` template (the product's bulk path); each run works on a fresh copy;
2. starts the entervo emulator in its own process (`python -m visitorhub emulate entervo`) on 127.0.0.1;
3. creates a connector (event schedule, `--concurrency` calls in flight) and runs, as `visitorhub connectors
   sync` does:
   - full #1: the first sync (every consumer created);
   - full #2: a full sync with nothing changed (it must cost at most N/100 + 2 calls and no write);
   - incremental: after `--changed` of the visitors changed (half a last name, half a licence plate), the
     incremental sync (one update per changed visitor, and a token);
4. prints, per phase, the calls by kind, the total, the seconds, and the calls the seed's naive pattern
   (search by externalReference, then create or update, for every record) would make; checks the emulator's
   own counters and store; writes bench/results/connector.json. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
JSON_PATH = RESULTS_DIR / "connector.json"
PROJECT, CLIENT_ID, SECRET, CUSTOMER = "yourproject", "B2C_yourproject", "emulator-secret", "C2024EmuLat0r"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator() -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR / "src")}
    process = subprocess.Popen(
        [sys.executable, "-m", "visitorhub", "emulate", "entervo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_emulator/calls", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the emulator did not start")


def rows(count: int) -> Iterator[dict[str, str]]:
    countries = ("FR", "ES", "IT", "DE", "GB", "BE", "NL")
    for i in range(count):
        cc = countries[i % len(countries)]
        yield {
            "email": f"visitor.{i}@example.com",
            "first_name": ("Alice", "Bruno", "Chloe", "David", "Emma")[i % 5],
            "last_name": ("Martin", "Garcia", "Rossi", "Muller")[i % 4],
            "gender": "mfu"[i % 3],
            "country_code": cc,
            "center": f"{cc}-SC-{101 + i % 5}",
            "license_plate": f"{cc}-{i:06d}",
            "license_plate_country": cc,
        }


def populate(path: Path, count: int) -> float:
    """N visitors with a vehicle each, through the built-in import template; seconds (0 when reused)."""
    import sqlite3

    if path.exists():
        con = sqlite3.connect(path)
        try:
            have = con.execute("SELECT count(*) FROM vehicle").fetchone()[0]
        except sqlite3.Error:
            have = -1
        con.close()
        if have == count:
            return 0.0
        path.unlink()
    from visitorhub.core.db import make_engine, make_session_factory
    from visitorhub.core.service import WriteContext
    from visitorhub.integration.templates.builtin import builtin_templates
    from visitorhub.integration.templates.execution import ImportOptions, run_import
    from visitorhub.migrations import upgrade

    began = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    upgrade(f"sqlite:///{tmp}")
    engine = make_engine(f"sqlite:///{tmp}")
    with make_session_factory(engine)() as session:
        report = run_import(
            session,
            builtin_templates()["visitors-import"],
            rows(count),
            ImportOptions(chunk_size=1000),
            WriteContext(actor="bench-connector"),
            checkpoint=session.commit,
        )
        session.commit()
    engine.dispose()
    if report.failed:
        raise RuntimeError(f"populating failed: {report.as_json()['errors'][:3]}")
    tmp.replace(path)
    return time.perf_counter() - began


def copy_db(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def emulator_state(url: str) -> tuple[dict[str, int], int]:
    import httpx

    calls = httpx.get(f"{url}/_emulator/calls", timeout=30).json()["calls"]
    consumers = httpx.get(f"{url}/_emulator/projects/{PROJECT}/consumers", timeout=60).json()
    httpx.delete(f"{url}/_emulator/calls", timeout=30)
    return calls, len(consumers)


def change_some(db: Path, share: float) -> int:
    """Change `share` of the visitors through the services: half a last name, half a licence plate."""
    from sqlalchemy import select

    from visitorhub.core.db import make_engine, make_session_factory
    from visitorhub.domains.vehicles.resources import vehicles
    from visitorhub.domains.visitors.resources import visitors
    from visitorhub.models import Vehicle, Visitor

    engine = make_engine(f"sqlite:///{db}")
    with make_session_factory(engine)() as session:
        every = round(1 / share)
        chosen = list(session.scalars(select(Visitor).order_by(Visitor.email)))[::every]
        for n, visitor in enumerate(chosen):
            if n % 2 == 0:
                visitors.service.update(session, visitor, {"last_name": f"Changed {n}"})
            else:
                vehicle = session.scalars(
                    select(Vehicle).where(Vehicle.visitor_id == visitor.visitor_id)
                ).one()
                vehicles.service.update(session, vehicle, {"license_plate": f"NEW-{n:06d}"})
        session.commit()
    engine.dispose()
    return len(chosen)


def run_phases(db: Path, url: str, count: int, share: float, concurrency: int) -> list[dict[str, Any]]:
    from visitorhub.config import Settings
    from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
    from visitorhub.integration.connectors import service
    from visitorhub.integration.connectors.schemas import ConnectorCreate
    from visitorhub.integration.connectors.sync import SyncOptions, sync_connector

    settings = Settings(database_url=f"sqlite:///{db}", allow_private_targets=True)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    body = ConnectorCreate.model_validate(
        {
            "name": "bench",
            "kind": "entervo",
            "settings": {
                "baseUrl": url,
                "project": PROJECT,
                "clientId": CLIENT_ID,
                "clientSecret": SECRET,
                "customerBusinessId": CUSTOMER,
                "contractBusinessId": "A2024XW3pYsa2f",
                "productIds": ["PP000053"],
                "concurrency": concurrency,
            },
        }
    )
    with unit_of_work(sessions) as session:
        connector_id = service.create_connector(session, body, settings).id
    emulator_state(url)
    phases: list[dict[str, Any]] = []

    def phase(name: str, options: SyncOptions, records: int, naive: int) -> None:
        began = time.perf_counter()
        report = sync_connector(sessions, connector_id, settings, options)
        seconds = time.perf_counter() - began
        assert report is not None
        remote_calls, consumers = emulator_state(url)
        phases.append(
            {
                "phase": name,
                "records": records,
                "seconds": round(seconds, 3),
                "calls": report.calls,
                "total_calls": sum(report.calls.values()),
                "remote_counted": remote_calls,
                "naive_calls": naive,
                "created": report.created,
                "updated": report.updated,
                "deleted": report.deleted,
                "unchanged": report.unchanged,
                "failed": report.failed,
                "status": report.status,
                "consumers_after": consumers,
            }
        )
        print(f"  {name}: {seconds:.2f} s, {sum(report.calls.values())} calls", file=sys.stderr)

    # The seed's naive pattern: one search by externalReference, then a create or an update, per record
    # (plus one token).
    phase("full #1 (first)", SyncOptions(trigger="cli"), count, 2 * count + 1)
    phase("full #2 (nothing changed)", SyncOptions(full=True, trigger="cli"), count, 2 * count + 1)
    engine.dispose()
    changed = change_some(db, share)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    phase(f"incremental ({changed} changed)", SyncOptions(trigger="cli"), changed, 2 * changed + 1)
    engine.dispose()
    return phases


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of visitors changed (0.01 = 1%%)")
    parser.add_argument("--concurrency", type=int, default=4, help="the connector's calls in flight")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_DIR / "src"))
    RESULTS_DIR.mkdir(exist_ok=True)
    source = RESULTS_DIR / f"connector-{args.visitors}.db"
    print(f"populating {source.name} ...", file=sys.stderr)
    populated = populate(source, args.visitors)
    work = RESULTS_DIR / "connector-run.db"
    copy_db(source, work)
    process, url = start_emulator()
    try:
        phases = run_phases(work, url, args.visitors, args.changed, args.concurrency)
    finally:
        process.terminate()
        process.wait(10)
    n = args.visitors
    first, second, incremental = phases
    writes = ("create", "update", "delete")
    checks = {
        "first full sync created every consumer": first["created"] == n and first["consumers_after"] == n,
        "second full sync: at most N/100 + 2 calls": second["total_calls"] <= n / 100 + 2,
        "second full sync: no write": all(second["remote_counted"][k] == 0 for k in writes),
        "incremental: one write per changed visitor, and a token": incremental["total_calls"]
        <= incremental["records"] + 1
        and incremental["updated"] == incremental["records"],
        "the emulator counted what the reports say": all(p["remote_counted"] == p["calls"] for p in phases),
    }
    print()
    print(f"{'phase':<28} {'records':>8} {'seconds':>8} {'calls':>7} {'naive':>7}  calls by kind")
    for p in phases:
        kinds = ", ".join(f"{k} {v}" for k, v in p["calls"].items() if v)
        print(
            f"{p['phase']:<28} {p['records']:>8} {p['seconds']:>8.2f} {p['total_calls']:>7} "
            f"{p['naive_calls']:>7}  {kinds}"
        )
    print()
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "visitors": n,
        "concurrency": args.concurrency,
        "populate_seconds": round(populated, 2),
        "phases": phases,
        "checks": checks,
    }
    JSON_PATH.write_text(json.dumps(result, indent=2))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
