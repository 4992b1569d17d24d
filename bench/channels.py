#!/usr/bin/env python
"""Benchmark of an inbound channel: N records pushed in payloads by concurrent senders, stored and applied.

    python bench/channels.py [--records 100000] [--payload 50] [--senders 4]

1. makes a fresh SQLite database (bench/results/channels.db) with a template that maps each record to a
   Visitor (keyed by e-mail) and a channel (`idField` contactNumber) that applies it;
2. builds N S-360-like contact records and cuts them into payloads of `--payload` before the clock starts;
3. baseline: a bare FastAPI endpoint on uvicorn, in its own process, that parses the JSON array and
   answers 200: what receiving alone costs. Measured before and after the channel phases;
4. channel: `visitorhub serve --no-worker` in its own process; `--senders` threads POST the payloads (each
   its share, one after another, as S-360 does per stream) to /inbound/bench/contacts; every payload must
   be answered 200, and only then is it stored and applied (records upserted, mapped to visitors through
   the one write path, change records written, committed; payloads that arrive together group-committed);
5. channel again: the same payloads once more; every record is a duplicate (nothing stored or applied);
6. checks the database (N records, N visitors, N change records, the channel's counters) and prints
   phase | seconds | records/s | payloads/s | ratio (records/s / the baseline's mean) | the server process's
   CPU seconds, records per CPU second and CPU microseconds per record (what a phase cost it, whatever
   else shares the machine: compare changes on these), whether the target
   is met (channel above 5,000 records/s stored and applied; exit status 1 otherwise); also
   bench/results/channels.json. Senders and servers share the machine's cores: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
JSON_PATH = RESULTS_DIR / "channels.json"
MIN_RECORDS_PER_S = 5000.0
CHANNEL_PATH = "bench/contacts"

TEMPLATE: dict[str, Any] = {
    "name": "bench-contacts",
    "direction": "in",
    "entities": [
        {
            "type": "Visitor",
            "key": ["email"],
            "defaults": {"gender": "u"},
            "fields": [
                {"source": "email", "field": "email", "transforms": ["trim", "lower"]},
                {"source": "individualContact.firstName", "field": "firstName"},
                {"source": "individualContact.lastName", "field": "lastName"},
                {"source": "address.country", "field": "countryCode"},
                {"source": "institution", "field": "acquisitionPcCode"},
            ],
        }
    ],
}


# ---------------------------------------------------------------------------------------------------
# The bare receiver (its own process)
# ---------------------------------------------------------------------------------------------------


def bare_app() -> Any:
    from fastapi import Body, FastAPI

    app = FastAPI()
    stats = {"records": 0, "payloads": 0}
    lock = threading.Lock()

    @app.post("/hook")
    def hook(records: list[dict[str, Any]] = Body(...)) -> dict[str, int]:
        with lock:
            stats["records"] += len(records)
            stats["payloads"] += 1
        return {"accepted": len(records)}

    @app.post("/reset")
    def reset() -> dict[str, int]:
        stats.update(records=0, payloads=0)
        return {}

    @app.get("/stats")
    def read_stats() -> dict[str, int]:
        return dict(stats)

    return app


def bare_main(port: int) -> int:
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere): on a shared machine, what a
    phase cost the server whatever else ran meanwhile."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    import httpx

    for _ in range(400):
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{url}: the server did not start")


def start_bare() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--bare", str(port)])
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/stats", process)
    return process, base


def start_visitorhub(database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITORHUB_")}
    env.update(
        VISITORHUB_DATABASE_URL=database_url,
        VISITORHUB_LOG_LEVEL="warning",
        VISITORHUB_BOOTSTRAP_ADMIN_KEY="false",
        PYTHONPATH=str(REPO_DIR / "src"),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "visitorhub", "serve", "--no-worker", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/health", process)
    return process, base


# ---------------------------------------------------------------------------------------------------
# Data and set-up
# ---------------------------------------------------------------------------------------------------


def contacts(count: int) -> list[dict[str, Any]]:
    """Records shaped like S-360 contacts (a subset of ContactDataResult, plus the fields mapped)."""
    countries = ("FR", "ES", "IT", "DE", "GB", "BE", "NL")
    out = []
    for i in range(count):
        cc = countries[i % len(countries)]
        out.append(
            {
                "contactNumber": f"C{10_000_000 + i}",
                "contactId": 10228844446468 + i,
                "email": f"Contact.{i}@Example.com ",
                "individualContact": {
                    "firstName": ("Alice", "Bruno", "Chloe", "David", "Emma")[i % 5],
                    "lastName": ("Martin", "Garcia", "Rossi", "Muller")[i % 4],
                    "birthDate": f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
                },
                "address": {"country": cc, "zipCode": f"{75000 + i % 1000}", "isMain": True},
                "institution": f"{cc}-SC-{101 + i % 5}",
                "creationDate": "2023-02-09T18:25:10.000+01:00",
            }
        )
    return out


def setup(database_url: str) -> None:
    from visitorhub.config import Settings
    from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
    from visitorhub.domains import all_resources
    from visitorhub.integration.channels import service
    from visitorhub.integration.channels.schemas import ChannelCreate
    from visitorhub.integration.templates import service as templates
    from visitorhub.migrations import upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        centers = all_resources()["centers"].service
        for code in sorted({record["institution"] for record in contacts(35)}):
            centers.create(
                session, {"pc_code": code, "label": code, "country": code[:2], "is_westfield": True}
            )
        templates.put_template(session, TEMPLATE["name"], json.dumps(TEMPLATE), "json")
        body = ChannelCreate(
            name="bench", path=CHANNEL_PATH, id_field="contactNumber", template=TEMPLATE["name"]
        )
        service.create_channel(session, body, Settings(database_url=database_url))
    engine.dispose()


def fresh_db(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


# ---------------------------------------------------------------------------------------------------
# Senders
# ---------------------------------------------------------------------------------------------------


def push(url: str, payloads: list[bytes], senders: int) -> tuple[float, list[dict[str, Any]]]:
    """`senders` threads, each POSTing its share of the payloads one after another; every answer must be a
    200. Seconds from the first POST to the last answer, and the answers' bodies."""
    import httpx

    answers: list[dict[str, Any]] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(senders + 1)

    def sender(share: list[bytes]) -> None:
        with httpx.Client(timeout=60, headers={"Content-Type": "application/json"}) as client:
            start.wait()
            for body in share:
                response = client.post(url, content=body)
                with lock:
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}: {response.text[:200]}")
                    else:
                        answers.append(response.json())

    threads = [
        threading.Thread(target=sender, args=(payloads[i::senders],), daemon=True) for i in range(senders)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} payloads refused, e.g. {failures[0]}")
    return seconds, answers


def totals(answers: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("accepted", "duplicates", "applied", "quarantined")
    return {key: sum(answer["data"][key] for answer in answers) for key in keys}


def check_database(database_url: str, count: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
    from visitorhub.models import ChangeLogEntry, Channel, ChannelRecord, Visitor

    engine = make_engine(database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        channel = session.scalars(select(Channel)).one()
        found = {
            "records": session.scalar(select(func.count()).select_from(ChannelRecord)),
            "distinct_source_ids": session.scalar(select(func.count(ChannelRecord.source_id.distinct()))),
            "applied_records": session.scalar(select(func.count()).where(ChannelRecord.status == "applied")),
            "visitors": session.scalar(select(func.count()).select_from(Visitor)),
            "visitor_changes": session.scalar(select(func.count()).where(ChangeLogEntry.entity == "Visitor")),
            "payloads_received": channel.payloads_received,
            "duplicates_counted": channel.duplicates,
        }
    engine.dispose()
    expected = {
        "records": count,
        "distinct_source_ids": count,
        "applied_records": count,
        "visitors": count,
        "visitor_changes": count,
    }
    found["problems"] = [
        f"{key}: {found[key]} (expected {want})" for key, want in expected.items() if found[key] != want
    ]
    return found


# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000, help="records to push")
    parser.add_argument("--payload", type=int, default=50, help="records per payload (S-360: 50)")
    parser.add_argument("--senders", type=int, default=4, help="concurrent senders")
    parser.add_argument("--bare", type=int, help=argparse.SUPPRESS)  # internal: serve the bare endpoint
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare:
        return bare_main(args.bare)
    import httpx
    import orjson

    sys.path.insert(0, str(REPO_DIR / "src"))
    RESULTS_DIR.mkdir(exist_ok=True)
    n, size, senders = args.records, args.payload, args.senders
    records = contacts(n)
    payloads = [orjson.dumps(records[i : i + size]) for i in range(0, n, size)]
    database = RESULTS_DIR / "channels.db"
    database_url = fresh_db(database)
    setup(database_url)

    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    answers: dict[str, dict[str, int]] = {}
    bare, bare_base = start_bare()
    server, base = start_visitorhub(database_url)
    try:
        for phase in ("baseline", "channel", "channel, again (all duplicates)", "baseline (again)"):
            print(f"{phase}...", file=sys.stderr)
            if phase.startswith("baseline"):
                httpx.post(f"{bare_base}/reset")
                before = cpu_seconds(bare.pid)
                seconds[phase], _ = push(f"{bare_base}/hook", payloads, senders)
                cpu[phase] = cpu_seconds(bare.pid) - before
                got = httpx.get(f"{bare_base}/stats").json()
                answers[phase] = {"accepted": got["records"], "payloads": got["payloads"]}
            else:
                before = cpu_seconds(server.pid)
                seconds[phase], replies = push(f"{base}/inbound/{CHANNEL_PATH}", payloads, senders)
                cpu[phase] = cpu_seconds(server.pid) - before
                answers[phase] = totals(replies)
    finally:
        for process in (server, bare):
            process.terminate()
            process.wait(30)
    found = check_database(database_url, n)
    problems = list(found.pop("problems"))
    if answers["channel"] != {"accepted": n, "duplicates": 0, "applied": n, "quarantined": 0}:
        problems.append(f"channel answers: {answers['channel']}")
    again = answers["channel, again (all duplicates)"]
    if again != {"accepted": n, "duplicates": n, "applied": 0, "quarantined": 0}:
        problems.append(f"second push answers: {again}")

    baseline = (seconds["baseline"] + seconds["baseline (again)"]) / 2
    rate = n / seconds["channel"]
    ratio = rate / (n / baseline)
    print(
        f"\nvisitorhub inbound channel - {n:,} records, payloads of {size}, {senders} senders, SQLite, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    header = (
        f"{'phase':<48} | {'seconds':>8} | {'records/s':>10} | {'payloads/s':>10} | ratio | "
        f"{'server CPU s':>12} | {'records/CPU s':>13} | {'CPU us/record':>13}"
    )
    print(header)
    print("-" * len(header))
    labels = {
        "baseline": "bare FastAPI endpoint (parse, answer 200)",
        "channel": "channel (store, apply to visitors, commit)",
        "channel, again (all duplicates)": "channel, same payloads again (duplicates)",
        "baseline (again)": "bare FastAPI endpoint, again",
    }
    for phase, label in labels.items():
        phase_rate = n / seconds[phase]
        per_cpu = f"{n / cpu[phase]:13,.0f}" if cpu[phase] else f"{'-':>13}"
        print(
            f"{label:<48} | {seconds[phase]:8.1f} | {phase_rate:10,.0f} | "
            f"{len(payloads) / seconds[phase]:10,.0f} | {phase_rate / (n / baseline):5.2f} | "
            f"{cpu[phase]:12.1f} | {per_cpu} | {cpu[phase] / n * 1e6:13.0f}"
        )
    ok = rate > MIN_RECORDS_PER_S
    print(
        f"Target: channel {rate:,.0f} records/s stored and applied (> {MIN_RECORDS_PER_S:,.0f}: "
        f"{'met' if ok else 'NOT met'}); ratio {ratio:.2f} to the bare endpoint."
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    JSON_PATH.write_text(
        json.dumps(
            {
                "records": n,
                "payload": size,
                "senders": senders,
                "seconds": seconds,
                "server_cpu_seconds": cpu,
                "load_average": os.getloadavg(),
                "channel_records_per_s": rate,
                "ratio": ratio,
                "answers": answers,
                "database": found,
                "problems": problems,
            },
            indent=2,
        )
    )
    print(f"Wrote {JSON_PATH.relative_to(REPO_DIR)}.")
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
