#!/usr/bin/env python
"""Benchmark of stream delivery: N changed visitors pushed to a local receiver, against the receiver alone.

    python bench/streams.py [--records 100000] [--payload 50]

1. builds (once; later runs reuse it) bench/results/streams-N.db: N visitors created through the template
   import (the product's bulk path), so the change log holds N Visitor records with their representation;
   each run works on a fresh copy of it;
2. starts the receiver in its own process: a FastAPI endpoint on uvicorn, on 127.0.0.1, that validates the
   JSON array it gets, counts records and delivery ids and checks their order, and answers 200;
3. baseline: the same N records, shaped as stream records and cut into payloads of `--payload` records
   beforehand, POSTed one after another by the same HTTP client a stream uses: what the receiver alone
   costs. Measured before and after the stream phase; the ratio uses their mean;
4. stream: a subscription (maxPerRun N, maxPerPayload `--payload`, startDate in the past) and one
   `run_subscription`, as `visitorhub streams run` does: read the change log, store each payload, POST it,
   record the attempt and move the cursor, payload after payload;
5. checks that the receiver got every record once, in seq order, under N/payload distinct ids, and prints
   phase | seconds | records/s | ratio, and whether the issue's targets are met (stream above 5,000
   records/s, ratio to the baseline above 0.5); also bench/results/streams.json. Exit status 1 otherwise.
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
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
JSON_PATH = RESULTS_DIR / "streams.json"
MIN_RECORDS_PER_S = 5000.0
MIN_RATIO = 0.5

TEMPLATE: dict[str, Any] = {
    "name": "bench-visitors",
    "direction": "in",
    "entities": [
        {
            "type": "Visitor",
            "key": ["email"],
            "fields": [
                {"source": "email", "field": "email"},
                {"source": "first", "field": "firstName"},
                {"source": "last", "field": "lastName"},
                {"source": "gender", "field": "gender"},
                {"source": "country", "field": "countryCode"},
                {"source": "centre", "field": "acquisitionPcCode"},
            ],
        }
    ],
}


# ---------------------------------------------------------------------------------------------------
# The receiver (its own process)
# ---------------------------------------------------------------------------------------------------


def receiver_app() -> Any:
    from fastapi import Body, FastAPI, Header

    app = FastAPI()
    stats: dict[str, Any] = {"records": 0, "payloads": 0, "ids": set(), "last_seq": 0, "out_of_order": 0}

    @app.post("/hook")
    def hook(
        records: list[dict[str, Any]] = Body(...), webhook_id: str = Header(..., alias="webhook-id")
    ) -> dict[str, int]:
        for record in records:
            if record["seq"] <= stats["last_seq"]:
                stats["out_of_order"] += 1
            stats["last_seq"] = record["seq"]
        stats["records"] += len(records)
        stats["payloads"] += 1
        stats["ids"].add(webhook_id)
        return {"accepted": len(records)}

    @app.post("/reset")
    def reset() -> dict[str, int]:
        stats.update(records=0, payloads=0, ids=set(), last_seq=0, out_of_order=0)
        return {}

    @app.get("/stats")
    def read_stats() -> dict[str, int]:
        return {
            "records": stats["records"],
            "payloads": stats["payloads"],
            "distinct_ids": len(stats["ids"]),
            "out_of_order": stats["out_of_order"],
        }

    return app


def receiver_main(port: int) -> int:
    import uvicorn

    uvicorn.run(receiver_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--receiver", str(port)])
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(200):
        try:
            httpx.get(f"{base}/stats", timeout=1)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the receiver did not start")


# ---------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------


def rows(count: int) -> Iterator[dict[str, str]]:
    countries = ("FR", "ES", "IT", "DE", "GB", "BE", "NL")
    for i in range(count):
        cc = countries[i % len(countries)]
        yield {
            "email": f"visitor.{i}@example.com",
            "first": ("Alice", "Bruno", "Chloe", "David", "Emma")[i % 5],
            "last": ("Martin", "Garcia", "Rossi", "Muller")[i % 4],
            "gender": "mfu"[i % 3],
            "country": cc,
            "centre": f"{cc}-SC-{101 + i % 5}",
        }


def populate(path: Path, count: int) -> float:
    """The visitors, through the template import; seconds taken (0 when the file was already there)."""
    import sqlite3

    if path.exists():
        con = sqlite3.connect(path)
        try:
            have = con.execute("SELECT count(*) FROM change_log WHERE entity = 'Visitor'").fetchone()[0]
        except sqlite3.Error:
            have = -1
        con.close()
        if have == count:
            return 0.0
        path.unlink()
    from visitorhub.core.db import make_engine, make_session_factory
    from visitorhub.core.service import WriteContext
    from visitorhub.domains import all_resources
    from visitorhub.integration.templates.execution import ImportOptions, run_import
    from visitorhub.integration.templates.loaders import load_template
    from visitorhub.migrations import upgrade

    began = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    upgrade(f"sqlite:///{tmp}")
    engine = make_engine(f"sqlite:///{tmp}")
    with make_session_factory(engine)() as session:
        # The centres the rows name exist first (a visitor's acquisitionPcCode must name one).
        centers = all_resources()["centers"].service
        for code in sorted({row["centre"] for row in rows(35)}):
            centers.create(
                session, {"pc_code": code, "label": code, "country": code[:2], "is_westfield": True}
            )
        report = run_import(
            session,
            load_template(json.dumps(TEMPLATE), "json"),
            rows(count),
            ImportOptions(chunk_size=1000),
            WriteContext(actor="bench-streams"),
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


# ---------------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------------


def prebuilt_payloads(db: Path, count: int, size: int) -> list[bytes]:
    """The records a stream sends, built and cut into payloads before the clock starts."""
    import orjson
    from sqlalchemy import select

    from visitorhub.core.db import make_engine, make_session_factory
    from visitorhub.models import ChangeLogEntry

    engine = make_engine(f"sqlite:///{db}")
    with make_session_factory(engine)() as session:
        stmt = (
            select(ChangeLogEntry)
            .where(ChangeLogEntry.entity == "Visitor")
            .order_by(ChangeLogEntry.seq)
            .limit(count)
        )
        records = [
            {
                "seq": entry.seq,
                "operation": entry.operation,
                "entity": entry.entity,
                "entityId": entry.entity_id,
                "occurredAt": entry.occurred_at.isoformat().replace("+00:00", "Z"),
                "data": entry.data,
            }
            for entry in session.scalars(stmt)
        ]
    engine.dispose()
    return [orjson.dumps(records[i : i + size]) for i in range(0, len(records), size)]


def phase_baseline(url: str, payloads: list[bytes]) -> float:
    """The receiver alone: pre-built payloads POSTed one after another by the client streams use."""
    from visitorhub.core.http import make_client

    with make_client(30.0) as client:
        began = time.perf_counter()
        for body in payloads:
            headers = {"Content-Type": "application/json", "webhook-id": f"dlv_{uuid.uuid4().hex}"}
            response = client.post(url, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"baseline: the receiver answered {response.status_code}")
        return time.perf_counter() - began


def phase_stream(db: Path, url: str, count: int, size: int) -> tuple[float, dict[str, Any]]:
    """One run of a subscription that has the N changes to send, as `visitorhub streams run` makes it."""
    from visitorhub.config import Settings
    from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
    from visitorhub.integration.streams import service
    from visitorhub.integration.streams.delivery import run_subscription
    from visitorhub.integration.streams.schemas import SubscriptionCreate
    from visitorhub.integration.streams.sender import Sender

    settings = Settings(database_url=f"sqlite:///{db}", allow_private_targets=True)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    body = SubscriptionCreate(
        name="bench",
        stream="visitors",
        url=url,
        max_per_run=count,
        max_per_payload=size,
        start_date=datetime(2000, 1, 1, tzinfo=UTC),
    )
    with unit_of_work(sessions) as session:
        subscription_id = service.create_subscription(session, body, settings)[0].id
    with Sender(settings) as sender:
        began = time.perf_counter()
        report = run_subscription(sessions, subscription_id, settings, sender)
        seconds = time.perf_counter() - began
    engine.dispose()
    return seconds, report.as_json()


# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000, help="changed visitors to deliver")
    parser.add_argument("--payload", type=int, default=50, help="records per payload (maxPerPayload)")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # internal: serve on this port
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.receiver:
        return receiver_main(args.receiver)
    import httpx

    RESULTS_DIR.mkdir(exist_ok=True)
    n, size = args.records, args.payload
    source = RESULTS_DIR / f"streams-{n}.db"
    print(f"populating {source.name} ({n:,} visitors through the template import)...", file=sys.stderr)
    populate_seconds = populate(source, n)
    work = RESULTS_DIR / f"streams-{n}.run.db"
    copy_db(source, work)
    payloads = prebuilt_payloads(work, n, size)
    process, base = start_receiver()
    hook = f"{base}/hook"
    try:
        results: dict[str, Any] = {}
        stats: dict[str, dict[str, int]] = {}
        for phase in ("baseline", "stream", "baseline (again)"):
            httpx.post(f"{base}/reset")
            print(f"{phase}...", file=sys.stderr)
            if phase == "stream":
                seconds, report = phase_stream(work, hook, n, size)
                results["report"] = {k: v for k, v in report.items() if k != "payloads"}
            else:
                seconds = phase_baseline(hook, payloads)
            results[phase] = seconds
            stats[phase] = httpx.get(f"{base}/stats").json()
    finally:
        process.terminate()
        process.wait(10)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)

    expected = {"records": n, "payloads": len(payloads), "distinct_ids": len(payloads), "out_of_order": 0}
    problems = [f"{phase}: receiver saw {got}" for phase, got in stats.items() if got != expected]
    baseline = (results["baseline"] + results["baseline (again)"]) / 2
    table = [
        ("receiver alone, pre-built payloads", results["baseline"]),
        ("stream run (read, store, POST, record)", results["stream"]),
        ("receiver alone, again", results["baseline (again)"]),
    ]
    stream_rate = n / results["stream"]
    ratio = stream_rate / (n / baseline)
    print(
        f"\nvisitorhub stream delivery - {n:,} records, payloads of {size}, SQLite, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs"
    )
    header = f"{'phase':<40} | {'seconds':>8} | {'records/s':>10} | {'payloads/s':>10} | ratio"
    print(header)
    print("-" * len(header))
    for label, seconds in table:
        rate = n / seconds
        print(
            f"{label:<40} | {seconds:8.1f} | {rate:10,.0f} | {len(payloads) / seconds:10,.0f} | "
            f"{rate / (n / baseline):.2f}"
        )
    ok_rate = stream_rate > MIN_RECORDS_PER_S
    ok_ratio = ratio > MIN_RATIO
    print(
        f"Targets: stream {stream_rate:,.0f} records/s (> {MIN_RECORDS_PER_S:,.0f}: "
        f"{'met' if ok_rate else 'NOT met'}); ratio {ratio:.2f} to the receiver alone (> {MIN_RATIO}: "
        f"{'met' if ok_ratio else 'NOT met'})."
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    JSON_PATH.write_text(
        json.dumps(
            {
                "records": n,
                "payload": size,
                "populate_seconds": populate_seconds,
                "seconds": results,
                "stream_records_per_s": stream_rate,
                "ratio": ratio,
                "receiver_stats": stats,
                "problems": problems,
            },
            indent=2,
        )
    )
    print(f"Wrote {JSON_PATH.relative_to(REPO_DIR)}.")
    return 0 if ok_rate and ok_ratio and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
