"""Sending one payload: the POST to a checked, pinned address, and what came of it."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from visitorhub.config import Settings
from visitorhub.core.http import UnsafeTarget, check_url_on_send, make_client, send_pinned

EXCERPT_BYTES = 1000


@dataclass(frozen=True)
class Attempt:
    """What one POST came to."""

    delivered: bool
    http_status: int | None
    duration_ms: int
    error: str | None = None
    excerpt: str | None = None
    # Refused by the private-target policy before anything was sent: a configuration error, not an
    # attempt (it does not count, and the run stops with it).
    refused: bool = False


class Sender:
    """POSTs payloads over one pooled client, now (`post`) or on its own thread (`submit`), so that a run
    can store the next payload while the current one is on the wire."""

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.streams_timeout_seconds
        self.allow_private = settings.allow_private_targets
        self.client = make_client(self.timeout)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="visitorhub-sender")

    def submit(self, url: str, headers: dict[str, str], body: bytes) -> Future[Attempt]:
        return self._pool.submit(self.post, url, headers, body)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.client.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> Attempt:
        began = time.perf_counter()

        def elapsed() -> int:
            return round((time.perf_counter() - began) * 1000)

        try:
            target = check_url_on_send(url, self.allow_private)
        except UnsafeTarget as exc:
            return Attempt(False, None, elapsed(), f"blocked: {exc}", refused=True)
        except (OSError, UnicodeError) as exc:
            return Attempt(False, None, elapsed(), f"dns: the receiver's name does not resolve ({exc})")
        try:
            status, excerpt = send_pinned(self.client, target, body, headers, EXCERPT_BYTES)
        except httpx.TimeoutException:
            return Attempt(False, None, elapsed(), f"timeout: no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Attempt(False, None, elapsed(), f"connection: {type(exc).__name__}: {exc}"[:500])
        text = excerpt.decode("utf-8", errors="replace") or None
        if 200 <= status < 300:
            return Attempt(True, status, elapsed(), None, text)
        reason = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        return Attempt(False, status, elapsed(), reason, text)
