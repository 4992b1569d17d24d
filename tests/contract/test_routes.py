"""Every route of the service, whatever declared it: no key is a 401, a read key cannot write (403), and
only the few public routes answer without a key."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.conftest import bearer
from visitorhub.api import build_api_router
from visitorhub.core.router import operation_id

# Public on purpose: the load balancer's probe. (Channels' inbound routes authenticate with their own
# credentials; the docs pages are FastAPI's.)
PUBLIC = {("GET", "/health")}
# Answered by the channel's own credentials, never an API key's (tests/integration/channels test them).
OWN_AUTH = {("POST", "/inbound/{path:path}")}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _dummy(name: str) -> str:
    if name.endswith("Id") and name not in ("externalId", "deliveryId", "deviceId"):
        return str(uuid.uuid4()) if name == "visitorId" else "1"
    return "x"


def _routes() -> list[object]:
    found = []
    for route in build_api_router().routes:
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) in OWN_AUTH:
                continue
            url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: _dummy(m.group(1)), route.path)
            found.append(pytest.param(method, route.path, url, id=f"{method} {route.path}"))
    return found


ROUTES = _routes()


def _takes_json(method: str, path: str) -> bool:
    """The operation reads a JSON body through its declared body parameter."""
    for route in build_api_router().routes:
        if isinstance(route, APIRoute) and route.path == path and method in route.methods:
            return route.body_field is not None
    return False


@pytest.mark.parametrize(("method", "path", "url"), ROUTES)
def test_a_request_without_a_key_is_401_unless_public(
    anon: TestClient, method: str, path: str, url: str
) -> None:
    response = anon.request(method, url, json={})
    if (method, path) in PUBLIC:
        assert response.status_code == 200
    else:
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["errors"][0]["type"] == "authentication_error"


@pytest.mark.parametrize(("method", "path", "url"), [p for p in ROUTES if p.values[0] in WRITES])
def test_a_read_key_cannot_write(
    anon: TestClient, keys: dict[str, str], method: str, path: str, url: str
) -> None:
    response = anon.request(method, url, json={}, headers=bearer(keys["read"]))
    assert response.status_code == 403, response.text
    assert response.json()["errors"][0]["type"] == "permission_error"


@pytest.mark.parametrize(("method", "path", "url"), ROUTES)
def test_an_unknown_query_parameter_is_400_on_every_route(
    client: TestClient, method: str, path: str, url: str
) -> None:
    response = client.request(method, url, params={"bogusParam": "1"}, json={})
    assert response.status_code == 400, response.text
    found = response.json()["errors"][0]
    assert (found["code"], found["field"]) == ("unknown_parameter", "bogusParam")


JSON_BODY = [p for p in ROUTES if _takes_json(p.values[0], p.values[1])]


@pytest.mark.parametrize(("method", "path", "url"), JSON_BODY)
def test_a_json_body_needs_the_json_content_type_on_every_route(
    client: TestClient, method: str, path: str, url: str
) -> None:
    response = client.request(method, url, content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["errors"][0]["message"]


def test_the_routes_are_all_there() -> None:
    assert len(ROUTES) >= 51
    assert len(JSON_BODY) >= 17


def test_every_route_is_built_from_hardened_endpoints_and_named_for_clients() -> None:
    """Routes are served as built (core.router.Router): a route declared on a plain APIRouter would miss
    the int64 and text hardening of its parameters and get FastAPI's default operation id."""
    for route in build_api_router().routes:
        assert isinstance(route, APIRoute)
        assert getattr(route.endpoint, "__hardened_signature__", False), route.path
        assert route.unique_id == operation_id(route), route.path
