"""A real ASGI app (an emulator, say) served by uvicorn on 127.0.0.1:<free port> in a thread, for tests that
must go through real HTTP: DNS-free loopback, real sockets, real timeouts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

START_LIMIT_SECONDS = 10.0


class AsgiServer:
    """uvicorn serving `app` on a socket bound here first, so the port is known before it starts (a free
    one, or `port`: a server that takes over from one that was killed)."""

    def __init__(self, app: Any, port: int = 0) -> None:
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then; without it every
        # keep-alive answer (headers, then body) waits ~40 ms for a delayed ACK.
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", port))
        config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning", loop="asyncio")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="asgi-server", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> AsgiServer:
        self.thread.start()
        deadline = time.monotonic() + START_LIMIT_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the ASGI server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(START_LIMIT_SECONDS)
        self.socket.close()


@contextmanager
def serving(app: Any, port: int = 0) -> Iterator[AsgiServer]:
    server = AsgiServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()
