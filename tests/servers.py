"""Real HTTP servers on 127.0.0.1 for tests: a webhook receiver whose answers are scripted per request."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_LIMIT_SECONDS = 10.0  # a hanging answer gives up by itself: nothing in a test waits forever
Behaviour = int | float | str


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """Records every POST; answers each with the next scripted behaviour, then with `default`.

    Behaviours: an HTTP status (200, 500, 429, 308...), "hang" (no answer until `release()` or
    HANG_LIMIT_SECONDS, then the connection is closed), "slow" (200 once `release()` is called), a float
    (200 after that many seconds), or "drop" (close the connection without answering). Every request is
    recorded when it arrives, whatever its answer.
    """

    def __init__(self, default: Behaviour = 200) -> None:
        self.default = default
        self.script: deque[Behaviour] = deque()
        self.requests: list[Received] = []
        self.released = threading.Event()
        self.arrived = threading.Condition()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                behaviour = receiver._record(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if behaviour == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if behaviour == "hang":
                    receiver.released.wait(HANG_LIMIT_SECONDS)
                    self.close_connection = True
                    return
                if behaviour == "slow":
                    receiver.released.wait(HANG_LIMIT_SECONDS)
                    behaviour = 200
                elif isinstance(behaviour, float):
                    time.sleep(behaviour)
                    behaviour = 200
                status = int(behaviour)
                answer = json.dumps({"status": status}).encode()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # Polled every 10 ms (not socketserver's 0.5 s): stop() waits for the next poll, at every test's end.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    def _record(self, request: Received) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            behaviour = self.script.popleft() if self.script else self.default
        with self.arrived:
            self.arrived.notify_all()
        return behaviour

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def answer(self, *behaviours: Behaviour) -> None:
        """Script the next answers, in order."""
        with self._lock:
            self.script.extend(behaviours)

    def release(self) -> None:
        """Let hanging answers end."""
        self.released.set()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Until `count` requests have arrived (False when the timeout passes first)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.arrived.wait(left)
        return True

    def records(self) -> list[dict[str, Any]]:
        """Every record of every request, in arrival order (retries included)."""
        return [record for request in self.requests for record in request.json]

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


def running_receiver(default: Behaviour = 200) -> Iterator[Receiver]:
    receiver = Receiver(default).start()
    try:
        yield receiver
    finally:
        receiver.stop()
