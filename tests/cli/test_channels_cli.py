"""`visitorhub push` and `visitorhub channels ...` as real processes, and a server killed with SIGKILL while a
sender pushes: every payload answered 200 is stored, the rest are stored once when the sender retries."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.asgi_servers import serving
from tests.cli.runner import Completed, run_cli
from tests.conftest import new_database
from tests.integration.channels.conftest import CONTACTS_TEMPLATE, Hub, contact, running_hub
from tests.servers import Receiver
from visitorhub.app import create_app
from visitorhub.cli import common
from visitorhub.config import Settings
from visitorhub.core.db import make_engine, make_session_factory, unit_of_work
from visitorhub.integration.channels import service
from visitorhub.integration.channels.schemas import ChannelCreate
from visitorhub.integration.templates import service as templates
from visitorhub.models import ChangeLogEntry, ChannelRecord, Visitor


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITORHUB_")}
    env.update(COLUMNS="250", NO_COLOR="1", PYTHONUNBUFFERED="1", VISITORHUB_DATABASE_URL=url, **extra)
    return env


def cli(*args: str | Path, url: str = "sqlite:///unused.db", **env: str) -> Completed:
    """tests/cli/runner.run_cli with wide consoles (made, and sized, when the CLI was imported): the tables
    and summaries are read whole."""
    widths = common.out.width, common.err.width
    common.out.width = common.err.width = 250
    try:
        return run_cli(*args, url=url, **env)
    finally:
        common.out.width, common.err.width = widths


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with new_database(tmp_path_factory.mktemp("push")) as url, running_hub(url) as served:
        yield served


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


class TestPush:
    def test_a_csv_in_payloads_then_the_channels_commands(self, hub: Hub, tmp_path: Path) -> None:
        channel = hub.contacts_channel(name="csv-contacts")
        people = [contact(i) for i in range(5)]
        lines = ["contactNumber,email,individualContact.firstName,individualContact.lastName"]
        lines += [f"{p['contactNumber']},{p['email']},Ann,Lee{i}" for i, p in enumerate(people)]
        source = tmp_path / "contacts.csv"
        source.write_text("\n".join(lines) + "\n")
        pushed = cli(
            "push", source, "--to", f"{hub.base}/inbound/{channel['path']}", "--batch", "2", "--allow-private"
        )
        assert pushed.returncode == 0, pushed.stderr
        assert (
            "5 records accepted in 3 payloads (0 retries); receiver counted accepted 5, duplicates 0, "
            in (pushed.stdout)
        )
        assert hub.visitors(*(p["email"] for p in people)) == 5

        listed = cli("channels", "list", url=hub.database_url)
        assert listed.returncode == 0, listed.stderr
        assert "csv-contacts" in listed.stdout
        assert f"/inbound/{channel['path']}" in listed.stdout
        shown = json.loads(cli("channels", "show", "csv-contacts", url=hub.database_url).stdout)
        assert (shown["payloadsReceived"], shown["recordsReceived"], shown["recordsApplied"]) == (3, 5, 5)
        records = cli("channels", "records", "csv-contacts", "--json", "--limit", "3", url=hub.database_url)
        rows = [json.loads(line) for line in records.stdout.splitlines()]
        assert [r["sourceId"] for r in rows] == [p["contactNumber"] for p in people[:3]]
        assert rows[0]["record"]["individualContact.firstName"] == "Ann"
        assert cli("channels", "show", "nope", url=hub.database_url).returncode == 1

    def test_a_refused_payload_is_sent_again_with_the_same_id(
        self, receiver: Receiver, tmp_path: Path
    ) -> None:
        receiver.answer(503, 500)
        source = write_jsonl(tmp_path / "rows.jsonl", [{"id": i} for i in range(3)])
        pushed = cli("push", source, "--to", receiver.url, "--batch", "2", "--wait", "0", "--allow-private")
        assert pushed.returncode == 0, pushed.stderr
        assert "3 records accepted in 2 payloads (2 retries)" in pushed.stdout
        assert "HTTP 503" in pushed.stderr
        first, again, third, last = receiver.requests
        assert first.body == again.body == third.body == b'[{"id":0},{"id":1}]'
        assert first.delivery_id == again.delivery_id == third.delivery_id != last.delivery_id
        assert last.json == [{"id": 2}]

    def test_a_payload_refused_for_good_stops_and_says_where_to_resume(
        self, receiver: Receiver, tmp_path: Path
    ) -> None:
        receiver.answer(200, 422)
        source = write_jsonl(tmp_path / "rows.jsonl", [{"id": i} for i in range(5)])
        url = receiver.url
        stopped = cli("push", source, "--to", url, "--batch", "2", "--wait", "0", "--allow-private")
        assert stopped.returncode == 1
        assert "payload 1 (records 2..3) was not accepted after 1 attempt(s): HTTP 422" in stopped.stderr
        assert "Resume with --skip 2" in stopped.stderr
        assert len(receiver.requests) == 2  # a 4xx is not retried
        resumed = cli("push", source, "--to", url, "--batch", "2", "--skip", "2", "--allow-private")
        assert resumed.returncode == 0, resumed.stderr
        assert [r.json for r in receiver.requests[2:]] == [[{"id": 2}, {"id": 3}], [{"id": 4}]]

    def test_auth_modes_reach_the_channel(self, hub: Hub, tmp_path: Path) -> None:
        source = write_jsonl(tmp_path / "rows.jsonl", [{"id": "a"}, {"id": "b"}])
        signed = hub.channel(auth={"type": "hmac"})
        secret = hub.admin.patch(
            f"/integration/channels/{signed['channelId']}", json={"auth": {"type": "hmac"}}
        ).json()["data"]["secret"]
        target = f"{hub.base}/inbound/{signed['path']}"
        # The secret from the environment: it stays out of the process list.
        pushed = cli("push", source, "--to", target, "--allow-private", VISITORHUB_PUSH_AUTH=f"hmac:{secret}")
        assert pushed.returncode == 0, pushed.stderr
        assert hub.stored(signed) == 2
        basic = hub.channel(auth={"type": "basic", "username": "s360", "password": "p:w"})
        target = f"{hub.base}/inbound/{basic['path']}"
        wrong = cli("push", source, "--to", target, "--allow-private", "--auth", "basic:s360:nope")
        assert wrong.returncode == 1
        assert "HTTP 401" in wrong.stderr
        right = cli("push", source, "--to", target, "--allow-private", "--auth", "basic:s360:p:w", "--json")
        assert right.returncode == 0, right.stderr
        assert json.loads(right.stdout)["counts"]["accepted"] == 2
        key = hub.channel(auth={"type": "apiKey", "header": "X-DatX-Key", "value": "k1"})
        target = f"{hub.base}/inbound/{key['path']}"
        assert (
            cli(
                "push", source, "--to", target, "--allow-private", "--auth", "apikey:X-DatX-Key:k1"
            ).returncode
            == 0
        )
        bad = cli("push", source, "--to", target, "--auth", "token:x")
        assert (bad.returncode, "--auth must be" in bad.stderr) == (2, True)

    def test_loopback_targets_need_allowing(self, receiver: Receiver, tmp_path: Path) -> None:
        source = write_jsonl(tmp_path / "rows.jsonl", [{"id": 1}])
        refused = cli("push", source, "--to", receiver.url)
        assert refused.returncode == 1
        assert "blocked" in refused.stderr
        assert "after 1 attempt(s)" in refused.stderr  # a refused target is not tried again
        assert receiver.requests == []
        allowed = cli("push", source, "--to", receiver.url, VISITORHUB_ALLOW_PRIVATE_TARGETS="true")
        assert allowed.returncode == 0, allowed.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _eventually(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _serve(url: str, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "visitorhub", "serve", "--no-worker", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(url, VISITORHUB_BOOTSTRAP_ADMIN_KEY="false", VISITORHUB_LOG_LEVEL="warning"),
    )

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    assert _eventually(up), "the server did not start"
    return process


def test_sigkill_of_the_server_mid_push_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    # Enough payloads (of 5) that the kill, once 20 records are stored, lands mid-push even on a machine
    # several times faster than this one (about 15 ms a payload here; the kill follows the count within a
    # poll of 20 ms), and few enough that the rest, after the restart, takes about a second.
    count = 250
    with new_database(tmp_path) as url:
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        with unit_of_work(sessions) as session:
            templates.put_template(
                session, "contacts", json.dumps({"name": "contacts", **CONTACTS_TEMPLATE}), "json"
            )
            body = ChannelCreate(
                name="crashy", path="s360/contacts/crashy", id_field="contactNumber", template="contacts"
            )
            channel_id = service.create_channel(session, body, Settings(database_url=url))[0].id

        def stored() -> set[str]:
            with unit_of_work(sessions) as session:
                return set(
                    session.scalars(
                        select(ChannelRecord.source_id).where(ChannelRecord.channel_id == channel_id)
                    )
                )

        people = [contact(i) for i in range(count)]
        source = write_jsonl(tmp_path / "contacts.jsonl", people)
        log = tmp_path / "push.log"
        port = _free_port()
        server = _serve(url, port)
        sender = subprocess.Popen(
            [
                sys.executable, "-m", "visitorhub", "push", str(source),
                "--to", f"http://127.0.0.1:{port}/inbound/s360/contacts/crashy",
                "--batch", "5", "--wait", "0.05", "--attempts", "600", "--allow-private", "--log", str(log),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(url),
        )  # fmt: skip
        try:
            assert _eventually(lambda: len(stored()) >= 20), "the push did not start"
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            # The server is dead: every payload the sender saw accepted is in the database.
            accepted = [json.loads(line) for line in log.read_text().splitlines()]
            accepted = [a for a in accepted if a["accepted"]]
            in_database = stored()
            for answer in accepted:
                first, size = answer["firstRecord"], answer["records"]
                assert {p["contactNumber"] for p in people[first : first + size]} <= in_database
            assert len(in_database) < count, "the push finished before the kill"
            # The same app takes over on the same port and database, in this process: a second `serve`
            # would cost seconds of start-up and prove nothing more (the process killed was one).
            app = create_app(Settings(database_url=url))
            try:
                with serving(app, port):
                    stdout, stderr = sender.communicate(timeout=120)
            finally:
                app.state.engine.dispose()
            assert sender.returncode == 0, stderr
        finally:
            for process in (sender, server):
                if process.poll() is None:
                    process.kill()
                    process.wait(10)
        assert "connection" in stderr  # it did see the server go away, and retried
        assert f"{count} records accepted" in stdout
        with unit_of_work(sessions) as session:
            records = session.scalar(select(func.count()).where(ChannelRecord.channel_id == channel_id))
            visitors = session.scalar(select(func.count()).select_from(Visitor))
            changes = session.scalar(select(func.count()).where(ChangeLogEntry.entity == "Visitor"))
        engine.dispose()
        assert records == len(stored()) == count
        assert visitors == changes == count  # each applied once: created, never updated by a resend
