"""What connector clients share on top of `visitorhub.core.http`: a request of any method to a checked,
pinned address, a request-rate ceiling, call counters by kind and outcome, and reading `Retry-After` and
the remote's error message.

(`core.http.send_pinned` only POSTs and keeps an excerpt; `request_pinned` is its general form and may
move there.)
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus

import httpx

from visitorhub.core.http import Target

NOT_SENT = frozenset({"blocked", "unresolved"})  # outcomes of requests that never reached the wire


class AnswerTooLarge(Exception):
    """The answer's body passed the size limit."""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read whole."""

    status_code: int
    headers: httpx.Headers
    content: bytes


def request_pinned(
    client: httpx.Client,
    target: Target,
    method: str,
    headers: dict[str, str],
    content: bytes | None,
    max_bytes: int,
) -> Answer:
    """Send to the checked address itself (Host header and TLS server name kept: no DNS rebinding)."""
    request_headers = {**headers, "Host": target.host_header}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    with client.stream(
        method, target.pinned_url, content=content, headers=request_headers, extensions=extensions
    ) as response:
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > max_bytes:
                raise AnswerTooLarge(f"the answer is larger than {max_bytes} bytes")
        return Answer(response.status_code, response.headers, bytes(body))


def outcome(status: int) -> str:
    """The outcome name of an HTTP status, for counters."""
    if 200 <= status < 300:
        return "ok"
    named = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 429: "rate_limited"}
    return named.get(status, "server_error" if status >= 500 else "client_error")


class CallCounters:
    """Requests per kind and outcome (`ok`, `unauthorized`, `not_found`, `conflict`, `rate_limited`,
    `server_error`, `client_error`, `timeout`, `connection_error`; `blocked` and `unresolved` for requests
    never sent); thread-safe."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.kinds = tuple(kinds)
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, kind: str, outcome: str) -> None:
        with self._lock:
            self._counts[(kind, outcome)] += 1

    def calls(self) -> dict[str, int]:
        """Requests sent per kind, retries included (every kind present, 0 when unused)."""
        with self._lock:
            result = dict.fromkeys(self.kinds, 0)
            for (kind, name), count in self._counts.items():
                if name not in NOT_SENT:
                    result[kind] = result.get(kind, 0) + count
            return result

    def outcomes(self) -> dict[str, dict[str, int]]:
        with self._lock:
            result: dict[str, dict[str, int]] = {kind: {} for kind in self.kinds}
            for (kind, name), count in self._counts.items():
                result.setdefault(kind, {})[name] = count
            return result

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class RateLimiter:
    """At most `per_second` requests per second, spaced evenly across threads (None: no ceiling)."""

    def __init__(self, per_second: float | None, sleep: Callable[[float], None] = time.sleep) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError("the rate limit must be positive")
        self.interval = 1.0 / per_second if per_second else 0.0
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            wait = max(0.0, self._next - now)
            self._next = max(now, self._next) + self.interval
        if wait:
            self._sleep(wait)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP date (None when absent or unreadable)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def remote_message(status: int, content: bytes) -> str:
    """The remote's own words: Spring's `message`, OAuth's `error_description`/`error`, or the text."""
    text = content.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "detail"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])[:500]
    return text[:300] or HTTPStatus(status).phrase
