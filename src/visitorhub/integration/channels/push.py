"""Pushing rows to a receiver the S-360 way: JSON arrays of at most `batch` records, one after another, a
refused payload sent again (same records, same `webhook-id`) until it is accepted or the attempts run out.

A sender for tests, demos and one-off loads (`visitorhub push`). Requests go through the streams' Sender:
the SSRF policy of core/http.py (private targets only when allowed), no redirects, bounded timeouts.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from visitorhub.config import Settings
from visitorhub.integration.streams.auth import (
    AnyAuth,
    ApiKeyAuth,
    BasicAuth,
    HmacAuth,
    NoAuth,
    request_headers,
)
from visitorhub.integration.streams.sender import Attempt, Sender

AUTH_FORMS = "none, basic:USER:PASSWORD, apikey:VALUE, apikey:HEADER:VALUE or hmac:whsec_..."
# A 4xx says the payload itself is refused: the same bytes would be refused again. These say "later".
RETRIED_4XX = frozenset({408, 425, 429})


class PushError(ValueError):
    """Options that cannot work (an auth text that does not parse)."""


def parse_auth(text: str | None) -> AnyAuth:
    """An auth mode from its command-line form (AUTH_FORMS)."""
    if text is None or text.strip().lower() in ("", "none"):
        return NoAuth()
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    try:
        if kind == "basic":
            username, sep, password = rest.partition(":")
            if not sep:
                raise PushError("--auth basic:USER:PASSWORD needs both, separated by ':'")
            return BasicAuth(type="basic", username=username, password=password)
        if kind == "apikey":
            header, sep, value = rest.partition(":")
            if not sep:
                return ApiKeyAuth(type="apiKey", value=header)
            return ApiKeyAuth(type="apiKey", header=header, value=value)
        if kind == "hmac":
            return HmacAuth(type="hmac", secret=rest)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise PushError(f"--auth {kind}: {problem['msg']}") from None
    raise PushError(f"--auth must be {AUTH_FORMS}; got '{kind}:...'")


@dataclass
class PayloadResult:
    """A payload's fate: accepted after `attempts` tries, or not."""

    index: int
    first: int  # 0-based position of its first record in the file
    count: int
    delivery_id: str
    attempts: int
    accepted: bool
    http_status: int | None
    error: str | None
    answer: dict[str, Any] | None  # the receiver's `data`, when it answers as visitorhub does


@dataclass
class PushReport:
    payloads: int = 0
    records: int = 0
    retries: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # summed from visitorhub answers
    stopped: bool = False
    error: str | None = None
    resume_at: int | None = None  # --skip value that resumes where it stopped

    def as_json(self) -> dict[str, Any]:
        return {
            "payloads": self.payloads,
            "records": self.records,
            "retries": self.retries,
            "counts": self.counts,
            "stopped": self.stopped,
            "error": self.error,
            "resumeAt": self.resume_at,
        }


def _answer(excerpt: str | None) -> dict[str, Any] | None:
    try:
        data = orjson.loads(excerpt or "")
    except orjson.JSONDecodeError:
        return None
    inner = data.get("data") if isinstance(data, dict) else None
    return inner if isinstance(inner, dict) else None


def _retried(attempt: Attempt) -> bool:
    """No answer, a 5xx, or a 4xx that means "later" is tried again; another 4xx is the payload's fault,
    and a target the SSRF policy refuses stays refused."""
    status = attempt.http_status
    if status is None:
        return not (attempt.error or "").startswith("blocked:")
    return status >= 500 or status in RETRIED_4XX or status < 400


def _batches(rows: Iterable[Mapping[str, Any]], size: int, skip: int) -> Iterator[tuple[int, list[Any]]]:
    iterator = iter(rows)
    for _ in itertools.islice(iterator, skip):
        pass
    first = skip
    while batch := list(itertools.islice(iterator, size)):
        yield first, batch
        first += len(batch)


class Pusher:
    def __init__(
        self,
        url: str,
        auth: AnyAuth,
        settings: Settings,
        attempts: int = 12,
        wait_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.auth = auth
        self.settings = settings
        self.attempts = attempts
        self.wait_seconds = wait_seconds
        self.sleep = sleep

    def push(
        self,
        rows: Iterable[Mapping[str, Any]],
        batch: int = 50,
        skip: int = 0,
        on_attempt: Callable[[PayloadResult], None] | None = None,
    ) -> PushReport:
        """Send `rows` (after the first `skip`) in payloads of `batch`; stops at the first payload that is
        refused for good (a 4xx) or still not accepted after the attempts."""
        report = PushReport()
        with Sender(self.settings) as sender:
            for index, (first, records) in enumerate(_batches(rows, batch, skip)):
                result = self._send(sender, index, first, records, on_attempt)
                report.payloads += 1
                report.retries += result.attempts - 1
                if not result.accepted:
                    report.stopped = True
                    report.resume_at = first
                    report.error = (
                        f"payload {index} (records {first}..{first + len(records) - 1}) was not accepted "
                        f"after {result.attempts} attempt(s): {result.error}"
                    )
                    break
                report.records += len(records)
                for key, value in (result.answer or {}).items():
                    if isinstance(value, int):
                        report.counts[key] = report.counts.get(key, 0) + value
        return report

    def _send(
        self,
        sender: Sender,
        index: int,
        first: int,
        records: list[Any],
        on_attempt: Callable[[PayloadResult], None] | None,
    ) -> PayloadResult:
        body = orjson.dumps(records)
        delivery_id = f"psh_{uuid.uuid4().hex}"  # the same at every attempt: the receiver's idempotency key
        number = 0
        while True:
            number += 1
            # Headers are made per attempt: an HMAC signature carries the time it was made.
            attempt = sender.post(self.url, request_headers(self.auth, delivery_id, body), body)
            error = attempt.error
            if attempt.error and attempt.excerpt:
                error = f"{attempt.error}: {attempt.excerpt[:300]}"
            result = PayloadResult(
                index,
                first,
                len(records),
                delivery_id,
                number,
                attempt.delivered,
                attempt.http_status,
                error,
                _answer(attempt.excerpt) if attempt.delivered else None,
            )
            if on_attempt is not None:
                on_attempt(result)
            if attempt.delivered or not _retried(attempt) or number >= self.attempts:
                return result
            self.sleep(self.wait_seconds)
