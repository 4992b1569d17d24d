"""`visitorhub emulate entervo`: the emulator as a real process, used by the real client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from visitorhub.integration.connectors.entervo.client import EntervoClient


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[str], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the emulator did not start listening")


def test_emulate_entervo_serves_the_consumer_api() -> None:
    port = _free_port()
    args = ["--port", str(port), "--project", "demo", "--client-id", "B2C_demo", "--client-secret", "pssst"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITORHUB_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "visitorhub", "emulate", "entervo", *args, "--customer", "C2026Dem0Cust"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(port, process)
        with EntervoClient(root, "demo", "B2C_demo", "pssst", "C2026Dem0Cust", allow_private=True) as client:
            assert client.create({"externalReference": "EMP1", "lastName": "Demo"}).created
            assert client.search(external_reference="EMP1").total_elements == 1
            assert client.calls()["token"] == 1
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert f"{root}/auth/realms/demo/protocol/openid-connect/token" in err
    assert f"{root}/customers-contracts/v2/demo/" in err


def test_the_cli_does_not_import_the_emulator_until_asked() -> None:
    code = "import sys, visitorhub.cli; print('uvicorn' in sys.modules, any('entervo' in m for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
