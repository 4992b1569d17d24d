"""The emulator's state: tenants and their stores, tokens, fault switches and call counters (thread-safe)."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from visitorhub.integration.connectors.entervo.emulator.store import ConsumerStore, Tenant, public
from visitorhub.integration.connectors.entervo.emulator.validation import ApiError, error_body

KINDS = ("token", "search", "create", "update", "delete", "get")


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: str | None
    kinds: frozenset[str] | None


class Emulator:
    """Everything behind one emulator app. One lock guards it all: tests switch faults and read
    counters from their own thread while the server answers in another."""

    def __init__(self, tenants: Iterable[Tenant], token_lifetime: float = 1800.0) -> None:
        self._lock = threading.Lock()
        self.tenants = {tenant.project: tenant for tenant in tenants}
        self.token_lifetime = token_lifetime
        self.latency = 0.0
        self._stores = {project: ConsumerStore(tenant) for project, tenant in self.tenants.items()}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._faults: deque[_Fault] = deque()
        self._calls: Counter[str] = Counter()
        self._answers: Counter[tuple[str, int]] = Counter()

    # fault switches and counters

    def fail_next(
        self,
        status: int,
        count: int = 1,
        retry_after: float | str | None = None,
        kinds: Iterable[str] | None = None,
    ) -> None:
        """Answer the next `count` calls (of `kinds`, default any) with `status`; a 429 carries
        `Retry-After` (1 s unless told)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if isinstance(retry_after, float) and retry_after.is_integer():
            retry_after = int(retry_after)  # delta-seconds are digits: "1", not "1.0"
        header = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.append(_Fault(status, count, header, frozenset(kinds) if kinds else None))

    def clear_faults(self) -> None:
        """Switch every pending fault and the latency off."""
        with self._lock:
            self._faults.clear()
            self.latency = 0.0

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self.latency = max(0.0, seconds)

    def calls(self) -> dict[str, int]:
        """Requests received per kind, answered or faulted."""
        with self._lock:
            return {kind: self._calls[kind] for kind in KINDS}

    def answers(self) -> dict[str, dict[int, int]]:
        """Statuses answered per kind."""
        with self._lock:
            result: dict[str, dict[int, int]] = {kind: {} for kind in KINDS}
            for (kind, status), count in self._answers.items():
                result[kind][status] = count
            return result

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self._answers.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far is expired from now on."""
        with self._lock:
            self._tokens.clear()

    # the stores, seen and changed from outside (tests, the control API)

    def consumers(self, project: str) -> list[dict[str, Any]]:
        with self._lock:
            return [public(r) for r in self._store(project).consumers.values()]

    def find(self, project: str, external_reference: str) -> dict[str, Any] | None:
        with self._lock:
            store = self._store(project)
            business_id = store.by_reference.get(external_reference)
            return public(store.consumers[business_id]) if business_id else None

    def create(self, project: str, customer: str, body: Any) -> dict[str, Any]:
        """Seed a consumer as the API would create it (no HTTP, no counters)."""
        with self._lock:
            return self._store(project).create(customer, body)[1]

    def drift(self, project: str, business_id: str, **fields: Any) -> dict[str, Any]:
        """Change stored fields (camelCase names) as someone in the PM UI would; bumps the revision."""
        with self._lock:
            return self._store(project).drift(business_id, fields)

    def bump_revision(self, project: str, business_id: str, by: int = 1) -> int:
        """Raise the stored revision (a concurrent writer), so the client's next PUT meets a 409."""
        with self._lock:
            record = self._store(project).record(business_id)
            record["revision"] += by
            return int(record["revision"])

    def _store(self, project: str) -> ConsumerStore:
        if project not in self._stores:
            raise KeyError(f"unknown project {project!r}")
        return self._stores[project]

    # serving a request

    async def admit(self, kind: str, path: str) -> Response | None:
        """Count the call, wait the added latency, and answer a switched-on fault if any."""
        with self._lock:
            self._calls[kind] += 1
            fault = self._take_fault(kind)
            latency = self.latency
        if latency:
            await asyncio.sleep(latency)
        if fault is None:
            return None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        message = "Rate limit exceeded" if fault.status == 429 else "Emulated fault"
        return JSONResponse(error_body(fault.status, message, path), fault.status, headers=headers)

    def _take_fault(self, kind: str) -> _Fault | None:
        for fault in self._faults:
            if fault.kinds is None or kind in fault.kinds:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def record(self, kind: str, response: Response) -> Response:
        with self._lock:
            self._answers[(kind, response.status_code)] += 1
        return response

    def serve(self, project: str, operation: Callable[[ConsumerStore], tuple[int, Any]]) -> tuple[int, Any]:
        """Run an operation on the project's store under the lock (check_token vouched for the project)."""
        with self._lock:
            return operation(self._stores[project])

    def issue_token(self, project: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """The client credentials grant, as Keycloak answers it."""
        tenant = self.tenants.get(project)
        if tenant is None:
            return 404, {"error": "Realm does not exist"}
        grant = form.get("grant_type")
        if not grant:
            return 400, {
                "error": "invalid_request",
                "error_description": "Missing form parameter: grant_type",
            }
        if grant != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}
        client_ok = secrets.compare_digest(form.get("client_id", ""), tenant.client_id)
        secret_ok = secrets.compare_digest(form.get("client_secret", ""), tenant.client_secret)
        if not (client_ok and secret_ok):
            return 401, {
                "error": "invalid_client",
                "error_description": "Invalid client or Invalid client credentials",
            }
        token = secrets.token_urlsafe(32)
        lifetime = self.token_lifetime
        with self._lock:
            self._tokens[token] = (project, time.monotonic() + lifetime)
        return 200, {
            "access_token": token,
            "expires_in": int(lifetime) if float(lifetime).is_integer() else lifetime,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "email profile",
        }

    def check_token(self, project: str, authorization: str | None) -> None:
        """ApiError(401) unless the bearer token is live and was issued by this project's realm."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Full authentication is required to access this resource")
        with self._lock:
            issued = self._tokens.get(token.strip())
        if issued is None:
            raise ApiError(401, "Invalid token")
        token_project, expires_at = issued
        if time.monotonic() >= expires_at:
            raise ApiError(401, "Token expired")
        if token_project != project:
            raise ApiError(401, "Token was not issued for this project")
