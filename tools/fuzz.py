"""Fuzz the running service with schemathesis over every operation of its /openapi.json.

For each database asked for, it starts the real `visitorhub serve --no-worker` on a free loopback port on an
empty database (SQLite: a file in a temporary directory; PostgreSQL: a database of its own on the server
VISITORHUB_TEST_DATABASE_URL names, dropped afterwards), which migrates it and prints the admin key it makes
on a first start (one process: no `db upgrade` and `keys create` of their own to start), and runs
`st run` with the `not_a_server_error` and `response_schema_conformance` checks through all four phases
(examples, coverage, fuzzing, stateful: the stateful phase follows the OpenAPI links the app publishes, so
the operations behind an id get real ids; the few whose records the fuzzer rarely manages to make, a
subscription, a delivery and a template, get ones made beforehand: tools/schemathesis.toml). It passes with
zero failures.

CI (.ci/run) runs it with a fixed seed and a bounded number of examples: 12 per operation on SQLite, 4 on
PostgreSQL, which runs second. Only the fuzzing phase's random examples are fewer there: the examples,
coverage and stateful phases are the same on both, so every operation meets the schema's boundary values
(lengths, ranges, formats: where PostgreSQL and SQLite differ) on both databases. Locally, for a longer hunt:

    python tools/fuzz.py --seed random --max-examples 200            # SQLite
    python tools/fuzz.py --database postgresql --seed random         # needs VISITORHUB_TEST_DATABASE_URL

Outbound calls: the fuzzer creates stream subscriptions to URLs of its own invention and asks for runs and
replays. The server it starts refuses (at the socket) every connection to an address outside the loopback
range and every name lookup but localhost, so nothing leaves the machine; those calls fail and are
recorded as failed deliveries, as they would be against a dead receiver.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "schemathesis.toml"
CHECKS = "not_a_server_error,response_schema_conformance"
PHASES = "examples,coverage,fuzzing,stateful"
CI_SEED = 20261206
CI_MAX_EXAMPLES = {"sqlite": 12, "postgresql": 4}  # random examples per operation in the fuzzing phase

# Run inside the server's process before visitorhub starts: connections and lookups stay on loopback.
GUARD = """
import ipaddress, socket, sys

def _loopback(host):
    try:
        return ipaddress.ip_address(str(host).split('%')[0]).is_loopback
    except ValueError:
        return host == 'localhost'

_connect = socket.socket.connect
_getaddrinfo = socket.getaddrinfo

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        raise ConnectionRefusedError(f'fuzz guard: no connection to {address[0]} (loopback only)')
    return _connect(self, address)

def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _loopback(host if isinstance(host, str) else host.decode()):
        raise socket.gaierror(socket.EAI_NONAME, 'fuzz guard: names other than localhost do not resolve')
    return _getaddrinfo(host, *args, **kwargs)

socket.socket.connect = connect
socket.getaddrinfo = getaddrinfo
from visitorhub.cli import main
sys.argv = ['visitorhub', 'serve', '--no-worker', '--host', '127.0.0.1', '--port', sys.argv[1]]
main()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="visitorhub-fuzz-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'fuzz.db'}"


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"vh_fuzz_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[tuple[str, str]]:
    """The server on a free port, once it answers: its base URL and the admin key its first start made."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", GUARD, str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        key = re.search(r"^VISITORHUB_ADMIN_KEY=(\S+)$", log.read_text(), flags=re.MULTILINE)
        if key is None:
            sys.exit(f"the server made no admin key on its first start:\n{log.read_text()}")
        yield base, key.group(1)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def seed_records(base: str, key: str) -> dict[str, str]:
    """Records the operations behind an id need and the fuzzer rarely makes itself (a subscription takes a
    stream name, a URL and sizes that agree; a delivery exists once a run failed): their ids, for the
    config's ${VISITORHUB_FUZZ_*} parameters. A visitor (and its centre) gives the subscription a change to
    send."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:

        def ok(response: httpx.Response) -> dict[str, Any]:
            if response.status_code >= 300:
                sys.exit(f"fuzz setup: {response.request.method} {response.request.url} -> {response.text}")
            data: dict[str, Any] = response.json()["data"]
            return data

        ok(
            client.post(
                "/centers", json={"pcCode": "FUZZ-1", "label": "Fuzz", "country": "FR", "isWestfield": True}
            )
        )
        visitor = ok(
            client.post(
                "/visitors",
                json={
                    "lastName": "Fuzz",
                    "firstName": "Seed",
                    "email": "seed@fuzz.visitorhub.dev",
                    "gender": "f",
                    "acquisitionPcCode": "FUZZ-1",
                    "countryCode": "FR",
                    "optins": [],
                },
            )
        )
        subscription = {
            "stream": "visitors",
            "url": "http://receiver.invalid/hook",  # never resolves (and the guard refuses it anyway)
            "startDate": "2000-01-01T00:00:00Z",
            "maxAttempts": 1000,
        }
        kept = ok(client.post("/integration/subscriptions", json={**subscription, "name": "fuzz-kept"}))
        doomed = ok(client.post("/integration/subscriptions", json={**subscription, "name": "fuzz-deleted"}))
        kept_id = kept["subscriptionId"]
        ok(client.post(f"/integration/subscriptions/{kept_id}/run"))
        deliveries = ok(client.get(f"/integration/subscriptions/{kept_id}/deliveries"))
        if not deliveries:
            sys.exit("fuzz setup: the seeded subscription's run left no delivery")
        template = {
            "direction": "out",
            "entities": [{"type": "Visitor", "fields": [{"source": "email", "field": "email"}]}],
        }
        ok(client.put("/integration/templates/fuzz-export", json=template))
        ok(client.put("/integration/templates/fuzz-deleted", json=template))
        connector = {
            "kind": "entervo",
            "schedule": "batch",
            "settings": {
                "baseUrl": "http://remote.invalid",  # never resolves (and the guard refuses it anyway)
                "project": "fuzz",
                "clientId": "fuzz",
                "clientSecret": "fuzz-secret",
                "customerBusinessId": "C1",
                "contractBusinessId": "A1",
                "productIds": ["P1"],
                "backoffSeconds": 0.001,
                "maxRetryAfterSeconds": 0.01,
                "timeoutSeconds": 1,
            },
        }
        kept_connector = ok(client.post("/integration/connectors", json={**connector, "name": "fuzz-kept"}))
        doomed_connector = ok(
            client.post("/integration/connectors", json={**connector, "name": "fuzz-deleted"})
        )
        connector_id = kept_connector["connectorId"]
        client.post(
            f"/integration/connectors/{connector_id}/sync", json={}
        )  # fails: the remote is unreachable
        runs = ok(client.get(f"/integration/connectors/{connector_id}/runs"))
        if not runs:
            sys.exit("fuzz setup: the seeded connector's sync left no run")
    return {
        "VISITORHUB_FUZZ_CONNECTOR": str(connector_id),
        "VISITORHUB_FUZZ_DOOMED_CONNECTOR": str(doomed_connector["connectorId"]),
        "VISITORHUB_FUZZ_CONNECTOR_RUN": str(runs[0]["runId"]),
        "VISITORHUB_FUZZ_VISITOR": str(visitor["visitorId"]),
        "VISITORHUB_FUZZ_SUBSCRIPTION": str(kept_id),
        "VISITORHUB_FUZZ_DOOMED_SUBSCRIPTION": str(doomed["subscriptionId"]),
        "VISITORHUB_FUZZ_DELIVERY": str(deliveries[0]["deliveryId"]),
        "VISITORHUB_FUZZ_TEMPLATE": "fuzz-export",
        "VISITORHUB_FUZZ_DOOMED_TEMPLATE": "fuzz-deleted",
    }


def figures(output: str) -> tuple[int, int, int]:
    """(operations tested, test cases generated, failures) from schemathesis's summary."""
    tested = re.search(r"Tested:\s*(\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    failures = re.search(r"(\d+) unique failures?", output)
    return (
        int(tested.group(1)) if tested else 0,
        int(cases.group(1)) if cases else 0,
        int(failures.group(1)) if failures else 0,
    )


def fuzz(
    kind: str, url: str, seed: int, max_examples: int, max_time: int | None
) -> tuple[int, int, int, int]:
    env = {
        **os.environ,
        "VISITORHUB_DATABASE_URL": url,
        "VISITORHUB_BOOTSTRAP_ADMIN_KEY": "true",
        "VISITORHUB_LOG_LEVEL": "warning",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory(prefix="visitorhub-fuzz-run-") as tmp:
        log = Path(tmp) / "server.log"
        with serving(env, log) as (base, key):
            command = [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(CONFIG),
                "run",
                f"{base}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                CHECKS,
                "--phases",
                PHASES,
                "--seed",
                str(seed),
                "--max-examples",
                str(max_examples),
                "--workers",
                "1",
                "--generation-database",
                "none",
                "--no-color",
            ]
            if max_time:
                command += ["--max-time", str(max_time)]
            ids = seed_records(base, key)
            started = time.monotonic()
            done = subprocess.run(
                command, capture_output=True, text=True, check=False, cwd=tmp, env={**os.environ, **ids}
            )
            elapsed = time.monotonic() - started
        output = done.stdout + done.stderr
        tested, cases, failures = figures(output)
        if done.returncode != 0 or failures or tested == 0:
            print(output)
            print(f"--- server log ({kind}) ---\n{log.read_text()[-20000:]}")
        else:
            start = output.find("=== WARNINGS") if "=== WARNINGS" in output else output.find("=== SUMMARY")
            print(output[max(start, 0) :].rstrip())
    print(
        f"fuzz ({kind}): {tested} operations tested, {cases} test cases generated, {failures} failures, "
        f"seed {seed}, {max_examples} examples per operation, {elapsed:.0f} s"
    )
    return done.returncode, tested, cases, failures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--seed", default=str(CI_SEED), help=f"an integer, or 'random' (default {CI_SEED})")
    parser.add_argument(
        "--max-examples",
        type=int,
        default=None,
        help="random test cases per operation in the fuzzing phase (default: 12 on SQLite, 4 on PostgreSQL)",
    )
    parser.add_argument("--max-time", type=int, default=None, help="time budget of one run, seconds")
    args = parser.parse_args()
    seed = random.randrange(2**31) if args.seed == "random" else int(args.seed)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = []
    for kind in kinds:
        if kind == "sqlite":
            with sqlite_database() as url:
                results.append(
                    fuzz(kind, url, seed, args.max_examples or CI_MAX_EXAMPLES[kind], args.max_time)
                )
            continue
        server = os.environ.get("VISITORHUB_TEST_DATABASE_URL")
        if not server:
            sys.exit(
                "--database postgresql needs VISITORHUB_TEST_DATABASE_URL (a server to make a database on)"
            )
        with postgres_database(server) as url:
            results.append(fuzz(kind, url, seed, args.max_examples or CI_MAX_EXAMPLES[kind], args.max_time))
    cases = sum(r[2] for r in results)
    failures = sum(r[3] for r in results)
    failed = any(code != 0 or fails or tested == 0 for code, tested, _c, fails in results)
    print(f"fuzz: {cases - failures} passed, {failures} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
