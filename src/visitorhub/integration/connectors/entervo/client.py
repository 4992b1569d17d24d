"""A typed client for the entervo infinite Customer & Contract API v2 Consumer API (shared/docs/external-systems.md §1).

Every request passes the private-target policy of `visitorhub.core.http` (resolved, checked and pinned to
the checked address on every send). One OAuth token serves its whole lifetime: it is fetched again shortly
before `expires_in` runs out, and once more when the API answers 401. 429 waits what `Retry-After` asks
(capped); 5xx, timeouts and connection errors are retried with jittered exponential backoff (tenacity), a
bounded number of times, after which a `RemoteError` carries the status and the remote message. Requests
that could create twice (a create without `externalReference`) are retried only when the remote cannot
have applied them (429, 503, no connection). The client secret and tokens are never logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

import httpx
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from visitorhub.core.http import UnsafeTarget, check_url_on_send, make_client, parse_target
from visitorhub.integration.connectors.outbound import (
    Answer,
    AnswerTooLarge,
    CallCounters,
    RateLimiter,
    outcome,
    remote_message,
    request_pinned,
    retry_after_seconds,
)

log = logging.getLogger("visitorhub.connectors.entervo")

KINDS = ("token", "search", "create", "update", "delete", "get")
MAX_PAGE_SIZE = 100
MAX_ANSWER_BYTES = 16 * 1024 * 1024
DEFAULT_EXPIRES_IN = 60.0  # when a token answer has no expires_in [INF]


class RemoteError(Exception):
    """A call that failed for good: `status` (None when no answer came) and the remote's own message.
    `retriable`: the failure was transient (429, 5xx, network) and may pass on a later run."""

    def __init__(self, kind: str, status: int | None, message: str, *, retriable: bool = False) -> None:
        self.kind = kind
        self.status = status
        self.message = message
        self.retriable = retriable
        where = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"entervo {kind}: {where}: {message}")


class AuthError(RemoteError):
    """The token endpoint refused the client (400/401), or the API refused a freshly fetched token."""


class RevisionConflict(RemoteError):
    """409 on update: the stored revision differs (someone else changed the consumer), or the
    externalReference belongs to another consumer; the message says which."""


class NotFoundRemote(RemoteError):
    """404: no such consumer (or customer) in this project."""


class TargetRefused(RemoteError):
    """The private-target policy refused the URL (private, loopback, link-local or metadata address)."""


class _Transient(Exception):
    """A failed attempt worth another: `maybe_applied` when the remote may have acted on it."""

    def __init__(
        self, status: int | None, message: str, *, maybe_applied: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.maybe_applied = maybe_applied
        self.retry_after = retry_after


@dataclass(frozen=True)
class Page:
    """One page of a consumer search (a Spring `Page`; unknown fields ignored)."""

    content: list[dict[str, Any]]
    number: int
    size: int
    total_elements: int
    total_pages: int

    @property
    def last(self) -> bool:
        return self.number >= self.total_pages - 1


class Upsert(NamedTuple):
    """What a create answered: the stored aggregate, and whether it was new (201) or updated (200)."""

    consumer: dict[str, Any]
    created: bool


class EntervoClient:
    """The Consumer API of one project and customer.

    `base_url` and `auth_url` are roots (`https://pm.preprod.parking.scheidt-bachmann.net`); the client adds
    `/customers-contracts/v2/{project}/...` and `/auth/realms/{project}/...`. `auth_url` defaults to
    `base_url`. `allow_private` lets calls reach private and loopback addresses (tests, on-prem).
    """

    def __init__(
        self,
        base_url: str,
        project: str,
        client_id: str,
        client_secret: str | SecretStr,
        customer_business_id: str,
        *,
        auth_url: str | None = None,
        allow_private: bool = False,
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 60.0,
        rate_limit: float | None = None,
        refresh_margin: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for url in (base_url, auth_url or base_url):
            parse_target(url)  # syntax now; the address is checked on every send
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.auth_url = (auth_url or base_url).rstrip("/")
        self.project = project
        self.client_id = client_id
        self._secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        self.customer_business_id = customer_business_id
        self.allow_private = allow_private
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self.refresh_margin = refresh_margin
        self.counters = CallCounters(KINDS)
        self._backoff = wait_random_exponential(multiplier=backoff_initial, max=backoff_max)
        self._sleep = sleep
        self._clock = clock
        self._limiter = RateLimiter(rate_limit, sleep)
        self._http = make_client(timeout)
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        quoted = quote(project, safe="")
        self._api = f"{self.base_url}/customers-contracts/v2/{quoted}"
        self._aggregates = (
            f"{self._api}/customers/{quote(customer_business_id, safe='')}/consumers/regular/aggregates"
        )
        self._token_url = f"{self.auth_url}/auth/realms/{quoted}/protocol/openid-connect/token"

    def __repr__(self) -> str:
        return f"EntervoClient(base_url={self.base_url!r}, project={self.project!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EntervoClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def calls(self) -> dict[str, int]:
        """Requests sent per kind: `{token, search, create, update, delete, get}`."""
        return self.counters.calls()

    # the Consumer API

    def search(
        self,
        external_reference: str | None = None,
        email: str | None = None,
        page: int = 0,
        size: int = MAX_PAGE_SIZE,
        sort_direction: str = "ASC",
    ) -> Page:
        """One page of the project's consumers (all customers), filtered by reference and/or e-mail."""
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"size must be between 1 and {MAX_PAGE_SIZE}")
        body = {
            "page": page,
            "size": size,
            "sortDirection": sort_direction,
            "and": {
                "consumer": {"consumerEmail": email, "regular": {"externalReference": external_reference}}
            },
        }
        answer = self._json(
            "search", self._call("search", "POST", f"{self._api}/consumers", body, idempotent=True)
        )
        content = answer.get("content") or []
        return Page(
            content=list(content),
            number=int(answer.get("number", page)),
            size=int(answer.get("size", size)),
            total_elements=int(answer.get("totalElements", len(content))),
            total_pages=int(answer.get("totalPages", 1 if content else 0)),
        )

    def iter_all(self, size: int = MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every consumer of the project, page by page, oldest first (new ones land on the last page)."""
        page = 0
        while True:
            result = self.search(page=page, size=size)
            yield from result.content
            if result.last or not result.content:
                return
            page += 1

    def find(self, external_reference: str) -> dict[str, Any] | None:
        """The consumer with this externalReference, if any (references are unique per project)."""
        content = self.search(external_reference=external_reference, size=1).content
        return content[0] if content else None

    def create(self, consumer: Mapping[str, Any]) -> Upsert:
        """POST the aggregate: created, or updated in place when its externalReference exists (no revision)."""
        idempotent = consumer.get("externalReference") is not None
        response = self._call("create", "POST", self._aggregates, dict(consumer), idempotent=idempotent)
        return Upsert(self._json("create", response), response.status_code == 201)

    def update(self, business_id: str, consumer: Mapping[str, Any], revision: int) -> dict[str, Any]:
        """PUT the whole aggregate at `revision`; RevisionConflict on 409, NotFoundRemote on 404."""
        body = {**consumer, "businessId": business_id, "revision": revision}
        return self._json(
            "update", self._call("update", "PUT", self._consumer_url(business_id), body, idempotent=True)
        )

    def get(self, business_id: str) -> dict[str, Any]:
        return self._json(
            "get", self._call("get", "GET", self._consumer_url(business_id), None, idempotent=True)
        )

    def delete(self, business_id: str) -> bool:
        """Delete the consumer: True, or False when it was already gone (404)."""
        try:
            self._call("delete", "DELETE", self._consumer_url(business_id), None, idempotent=True)
        except NotFoundRemote:
            return False
        return True

    # plumbing

    def _consumer_url(self, business_id: str) -> str:
        return f"{self._aggregates}/{quote(business_id, safe='')}"

    @staticmethod
    def _json(kind: str, response: Answer) -> dict[str, Any]:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise RemoteError(kind, response.status_code, "the answer is not a JSON object")
        return body

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        return float(self._backoff(state))

    def _retrying(self, kind: str, idempotent: bool) -> Retrying:
        def worth_another(exc: BaseException) -> bool:
            return isinstance(exc, _Transient) and (idempotent or not exc.maybe_applied)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.upcoming_sleep
            log.warning(
                "entervo %s: attempt %d failed (%s); retrying in %.2f s",
                kind,
                state.attempt_number,
                exc,
                wait,
            )

        return Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(worth_another),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )

    def _call(self, kind: str, method: str, url: str, body: Any, *, idempotent: bool) -> Answer:
        """One logical call: retried per the policy, 401 answered by one fresh token; errors typed."""
        try:
            answer = self._retrying(kind, idempotent)(self._authorized, kind, method, url, body)
        except _Transient as exc:
            raise RemoteError(kind, exc.status, exc.message, retriable=True) from None
        status = answer.status_code
        if 200 <= status < 300:
            return answer
        message = remote_message(status, answer.content)
        if status == 401:
            raise AuthError(kind, status, message)
        if status == 404:
            raise NotFoundRemote(kind, status, message)
        if status == 409 and kind == "update":
            raise RevisionConflict(kind, status, message)
        raise RemoteError(kind, status, message, retriable=status >= 500)

    def _authorized(self, kind: str, method: str, url: str, body: Any) -> Answer:
        token = self._current_token()
        answer = self._attempt(kind, method, url, body, token)
        if answer.status_code == 401:
            log.info("entervo %s: 401, fetching a new token and trying once more", kind)
            answer = self._attempt(kind, method, url, body, self._renew_token(token))
        return answer

    def _attempt(self, kind: str, method: str, url: str, body: Any, token: str) -> Answer:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, separators=(",", ":")).encode()
        return self._classify(self._send(kind, method, url, headers, content))

    @staticmethod
    def _classify(answer: Answer) -> Answer:
        """Raise _Transient for answers worth another attempt; return the others."""
        status = answer.status_code
        if status == 429:
            retry_after = retry_after_seconds(answer.headers.get("retry-after"))
            raise _Transient(
                status, remote_message(status, answer.content), maybe_applied=False, retry_after=retry_after
            )
        if status >= 500:
            raise _Transient(status, remote_message(status, answer.content), maybe_applied=status != 503)
        return answer

    def _send(
        self, kind: str, method: str, url: str, headers: dict[str, str], content: bytes | None
    ) -> Answer:
        """One request to the checked, pinned address, counted by kind and outcome."""
        try:
            target = check_url_on_send(url, self.allow_private)
        except UnsafeTarget as exc:
            self.counters.add(kind, "blocked")
            raise TargetRefused(kind, None, str(exc)) from None
        except (OSError, UnicodeError) as exc:
            self.counters.add(kind, "unresolved")
            raise _Transient(None, f"the name does not resolve ({exc})", maybe_applied=False) from None
        self._limiter.acquire()
        began = time.perf_counter()
        try:
            answer = request_pinned(self._http, target, method, headers, content, MAX_ANSWER_BYTES)
        except AnswerTooLarge as exc:
            self.counters.add(kind, "client_error")
            raise RemoteError(kind, None, str(exc)) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self.counters.add(kind, "connection_error")
            raise _Transient(None, f"connection: {type(exc).__name__}: {exc}", maybe_applied=False) from None
        except httpx.TimeoutException as exc:
            self.counters.add(kind, "timeout")
            raise _Transient(None, f"timeout: {type(exc).__name__}", maybe_applied=True) from None
        except httpx.HTTPError as exc:
            self.counters.add(kind, "connection_error")
            raise _Transient(None, f"connection: {type(exc).__name__}: {exc}", maybe_applied=True) from None
        self.counters.add(kind, outcome(answer.status_code))
        log.debug(
            "entervo %s: %s %s → %d in %.0f ms",
            kind,
            method,
            url,
            answer.status_code,
            (time.perf_counter() - began) * 1000,
        )
        return answer

    # the token

    def _current_token(self) -> str:
        with self._token_lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _renew_token(self, stale: str) -> str:
        """A new token after a 401 with `stale`, unless another thread already fetched one."""
        with self._token_lock:
            if self._token in (None, stale):
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _fetch_token(self) -> None:
        """Client credentials grant (form-encoded) at the realm's token endpoint; the lock is held."""
        form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._secret.get_secret_value(),
            }
        ).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        asked_at = self._clock()

        def attempt() -> Answer:
            return self._classify(self._send("token", "POST", self._token_url, headers, form))

        try:
            answer = self._retrying("token", idempotent=True)(attempt)
        except _Transient as exc:
            raise RemoteError("token", exc.status, exc.message, retriable=True) from None
        status = answer.status_code
        if status in (400, 401, 403):
            raise AuthError("token", status, remote_message(status, answer.content))
        if not 200 <= status < 300:
            raise RemoteError("token", status, remote_message(status, answer.content))
        body = self._json("token", answer)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthError("token", status, "the token answer has no access_token")
        expires_in = body.get("expires_in")
        lifetime = (
            float(expires_in)
            if isinstance(expires_in, int | float) and expires_in > 0
            else DEFAULT_EXPIRES_IN
        )
        self._token = token
        self._refresh_at = asked_at + lifetime - min(self.refresh_margin, lifetime / 10)
        log.info("entervo: new token for %s, valid %.0f s", self.project, lifetime)
