"""The emulator's HTTP face: the Keycloak token endpoint, the Consumer API, and the `/_emulator` controls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from visitorhub.integration.connectors.entervo.emulator.state import Emulator
from visitorhub.integration.connectors.entervo.emulator.store import ConsumerStore, Tenant
from visitorhub.integration.connectors.entervo.emulator.validation import ApiError, error_body

API_ROOT = "/customers-contracts/v2/{project}"
AGGREGATES = API_ROOT + "/customers/{customer}/consumers/regular/aggregates"
TOKEN_PATH = "/auth/realms/{project}/protocol/openid-connect/token"

Operation = Callable[[ConsumerStore, Any], tuple[int, Any]]


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise ApiError(400, f"JSON parse error: {exc}") from None


def _api_router(emulator: Emulator) -> APIRouter:
    router = APIRouter()

    async def handle(kind: str, request: Request, project: str, operation: Operation) -> Response:
        """Count, fault, check the token, run the operation on the project's store, answer."""
        fault = await emulator.admit(kind, request.url.path)
        if fault is not None:
            return emulator.record(kind, fault)
        try:
            emulator.check_token(project, request.headers.get("authorization"))
            body = await _json_body(request) if request.method in ("POST", "PUT") else None
            status, answer = emulator.serve(project, lambda store: operation(store, body))
        except ApiError as exc:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if exc.status == 401 else None
            error = JSONResponse(error_body(exc.status, exc.message, request.url.path), exc.status, headers)
            return emulator.record(kind, error)
        response = Response(status_code=204) if answer is None else JSONResponse(answer, status)
        return emulator.record(kind, response)

    @router.post(TOKEN_PATH)
    async def token(project: str, request: Request) -> Response:
        fault = await emulator.admit("token", request.url.path)
        if fault is not None:
            return emulator.record("token", fault)
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            status, answer = 400, {"error": "invalid_request", "error_description": "Form data expected"}
        else:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
            status, answer = emulator.issue_token(project, form)
        return emulator.record("token", JSONResponse(answer, status, headers={"Cache-Control": "no-store"}))

    @router.post(AGGREGATES)
    async def create_consumer(project: str, customer: str, request: Request) -> Response:
        return await handle("create", request, project, lambda store, body: store.create(customer, body))

    @router.put(AGGREGATES + "/{business_id}")
    async def update_consumer(project: str, customer: str, business_id: str, request: Request) -> Response:
        return await handle(
            "update", request, project, lambda store, body: store.update(customer, business_id, body)
        )

    @router.get(AGGREGATES + "/{business_id}")
    async def get_consumer(project: str, customer: str, business_id: str, request: Request) -> Response:
        return await handle("get", request, project, lambda store, _body: store.get(customer, business_id))

    @router.delete(AGGREGATES + "/{business_id}")
    async def delete_consumer(project: str, customer: str, business_id: str, request: Request) -> Response:
        return await handle(
            "delete", request, project, lambda store, _body: store.delete(customer, business_id)
        )

    @router.post(API_ROOT + "/consumers")
    async def search_consumers(project: str, request: Request) -> Response:
        return await handle("search", request, project, lambda store, body: store.search(body))

    return router


class FaultSwitch(BaseModel):
    status: int = Field(ge=400, le=599)
    count: int = Field(1, ge=1)
    retry_after: int | float | str | None = Field(None, alias="retryAfter")
    kinds: list[str] | None = None


class Latency(BaseModel):
    seconds: float = Field(ge=0, le=60)


def _control_router(emulator: Emulator) -> APIRouter:
    """`/_emulator/...`: fault switches, counters and remote-side changes (not part of the real API)."""
    router = APIRouter(prefix="/_emulator", tags=["emulator control"])

    def guarded(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except KeyError as exc:
            return JSONResponse({"message": str(exc)}, 404)
        except ApiError as exc:
            return JSONResponse({"message": exc.message}, exc.status)
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, 400)

    @router.get("/calls")
    def get_calls() -> dict[str, Any]:
        """Requests received per kind, and the statuses answered."""
        return {"calls": emulator.calls(), "answers": emulator.answers()}

    @router.delete("/calls", status_code=204)
    def reset_calls() -> None:
        """Set every counter back to 0."""
        emulator.reset_calls()

    @router.post("/faults", status_code=204)
    def add_fault(fault: FaultSwitch) -> None:
        """Answer the next `count` calls (of `kinds`, default any) with `status`."""
        emulator.fail_next(fault.status, fault.count, fault.retry_after, fault.kinds)

    @router.delete("/faults", status_code=204)
    def clear_faults() -> None:
        """Switch every fault and the latency off."""
        emulator.clear_faults()

    @router.put("/latency", status_code=204)
    def set_latency(latency: Latency) -> None:
        """Delay every answer of the emulated API."""
        emulator.set_latency(latency.seconds)

    @router.post("/tokens/expire", status_code=204)
    def expire_tokens() -> None:
        """Expire every token issued so far."""
        emulator.expire_tokens()

    @router.get("/projects/{project}/consumers")
    def list_consumers(project: str) -> Any:
        """Every consumer of a project, as stored."""
        return guarded(lambda: emulator.consumers(project))

    @router.patch("/projects/{project}/consumers/{business_id}")
    def drift(project: str, business_id: str, fields: dict[str, Any]) -> Any:
        """Change a consumer behind the client's back (bumps its revision)."""
        return guarded(lambda: emulator.drift(project, business_id, **fields))

    @router.post("/projects/{project}/consumers/{business_id}/revision")
    def bump_revision(project: str, business_id: str) -> Any:
        """Bump a consumer's revision, so the client's next update meets a 409."""
        return guarded(lambda: {"revision": emulator.bump_revision(project, business_id)})

    return router


def create_emulator(
    project: str = "yourproject",
    client_id: str = "B2C_yourproject",
    client_secret: str = "emulator-secret",
    customer: str | Sequence[str] = "C2024EmuLat0r",
    *,
    contract: str | None = None,
    products: Sequence[str] = (),
    token_lifetime: float = 1800.0,
    tenants: Iterable[Tenant] = (),
) -> FastAPI:
    """The emulator app for one project (plus any `tenants`); its state is `app.state.emulator`."""
    customers = (customer,) if isinstance(customer, str) else tuple(customer)
    first = Tenant(project, client_id, client_secret, customers, contract, tuple(products))
    emulator = Emulator([first, *tenants], token_lifetime)
    app = FastAPI(
        title="entervo infinite Consumer API emulator",
        description="An offline emulator of the entervo infinite Customer & Contract API v2 Consumer API.",
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
    )
    app.state.emulator = emulator
    app.include_router(_api_router(emulator))
    app.include_router(_control_router(emulator))
    return app
