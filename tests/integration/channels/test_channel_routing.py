"""The inbound route is matched before the others (app.FirstUnder) and the request hygiene looks only at the
routes a path can match: which route answers a request, 404 and 405 included, is the same as before."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Match

from tests.integration.channels.conftest import Hub
from visitorhub.api import build_api_router
from visitorhub.app import FirstUnder
from visitorhub.integration.channels.schemas import INBOUND_PREFIX


def _scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/inbound/a", "/inbound/a/b/c", "/inbound/"])
def test_no_other_route_matches_under_the_inbound_prefix(hub: Hub, method: str, path: str) -> None:
    """What FirstUnder requires: put first, the inbound route takes no request from another route."""
    routes = hub.app.router.routes
    assert isinstance(routes[0], FirstUnder)
    others = [route for route in routes[1:] if getattr(route, "path", "") != INBOUND_PREFIX + "{path:path}"]
    assert len(others) == len(routes) - 2
    assert [route for route in others if route.matches(_scope(method, path))[0] is not Match.NONE] == []


def test_the_first_route_does_not_match_elsewhere(hub: Hub) -> None:
    first = hub.app.router.routes[0]
    for path in ("/inbound", "/health", "/visitors", "/integration/channels", "/x/inbound/a"):
        assert first.matches(_scope("POST", path))[0] is Match.NONE


def test_the_openapi_document_lists_the_operations_in_route_order(hub: Hub) -> None:
    paths = hub.admin.get("/openapi.json").json()["paths"]
    declared = [route.path_format for route in build_api_router().routes if isinstance(route, APIRoute)]
    assert list(paths) == list(dict.fromkeys(declared))
    assert list(paths["/inbound/{path}"]) == ["post"]


def test_answers_around_the_inbound_route(hub: Hub) -> None:
    channel = hub.channel()
    base = hub.base
    assert hub.send(channel["path"], [{"id": 1}]).status_code == 200
    assert hub.send(channel["path"] + "/", [{"id": 2}]).status_code == 200  # a trailing slash is ignored
    assert [r["sourceId"] for r in hub.records(channel)] == ["1", "2"]
    not_allowed = httpx.get(f"{base}/inbound/{channel['path']}")
    assert (not_allowed.status_code, not_allowed.headers["allow"]) == (405, "POST")
    unknown = hub.send("no/such/path", [])
    assert unknown.json()["errors"][0]["message"] == "No channel receives at /inbound/no/such/path."
    assert httpx.post(f"{base}/inboundx", json=[]).status_code == 404
    (error,) = hub.send(channel["path"] + "?dryRun=true", [{"id": 3}]).json()["errors"]
    assert (error["code"], error["field"]) == ("unknown_parameter", "dryRun")  # the hygiene found the route
    assert hub.stored(channel) == 2
    # Other routes answer as before.
    assert httpx.get(f"{base}/health").status_code == 200
    assert httpx.head(f"{base}/health").status_code == 200
    assert hub.admin.get("/integration/channels", params={"bogus": 1}).status_code == 400
    assert hub.admin.get(f"/integration/channels/{channel['channelId']}/").status_code == 200
    assert hub.admin.post(f"/integration/channels/{channel['channelId']}").status_code == 405
