"""Request hygiene for every route, in one place (an ASGI middleware in front of the router): what a request
must look like before any endpoint sees it.

- Body size: a request body larger than VISITORHUB_MAX_BODY_BYTES (VISITORHUB_MAX_IMPORT_BODY_BYTES on the
  routes in LARGE_BODY_ROUTES) is a 413: at once from its Content-Length, or as soon as the bytes streamed
  so far pass the limit (the body is never read whole).
- Query parameters: a name the operation does not declare is a 400 `unknown_parameter` (on every method:
  `POST /visitors?dryRun=true` creates nothing); a parameter that takes one value given twice is a 400
  `repeated_parameter` (not silently the last one).
- JSON bodies: on an operation that takes a JSON body, a body sent without `Content-Type:
  application/json` (or a `+json` type) is a 415 that names the expected type. (An empty body is a 400
  `body_required`, malformed or non-UTF-8 JSON a 400 `malformed_json` with line and column: handlers.py.)
- HEAD: answered as the GET of the same URL, without the body (`HEAD /health` for probes).
- A trailing slash is ignored: `/visitors/` is `/visitors` (no redirect).
"""

from __future__ import annotations

import email.message
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette._utils import get_route_path
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from visitorhub.handlers import error_response

# Operations that take bulk data: they get VISITORHUB_MAX_IMPORT_BODY_BYTES instead of
# VISITORHUB_MAX_BODY_BYTES.
LARGE_BODY_ROUTES = frozenset({("POST", "/integration/{template}")})
JSON_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RouteRules:
    """What one route accepts, read once from its declaration."""

    query: dict[str, bool]  # declared query parameter -> whether it takes several values
    json_body: bool  # the operation reads a JSON body through FastAPI (a declared body parameter)
    body_required: bool
    large_body: bool


def _dependants(root: Dependant) -> Iterable[Dependant]:
    stack = [root]
    while stack:
        dependant = stack.pop()
        yield dependant
        stack.extend(dependant.dependencies)


def _is_sequence(annotation: Any) -> bool:
    from fastapi._compat import field_annotation_is_sequence

    return bool(field_annotation_is_sequence(annotation))


def _query_names(route: APIRoute) -> dict[str, bool]:
    names: dict[str, bool] = {}
    for dependant in _dependants(route.dependant):
        for field in dependant.query_params:
            annotation = field.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                for name, info in annotation.model_fields.items():
                    names[info.alias or name] = _is_sequence(info.annotation)
            else:
                names[field.alias] = _is_sequence(annotation)
    return names


def route_rules(route: APIRoute) -> RouteRules:
    body = route.body_field
    form = body is not None and type(body.field_info).__name__ in {"Form", "File"}
    return RouteRules(
        query=_query_names(route),
        json_body=body is not None and not form,
        body_required=body is not None and body.field_info.is_required(),
        large_body=any((method, route.path) in LARGE_BODY_ROUTES for method in route.methods or ()),
    )


def _first_segment(path: str) -> str | None:
    """The literal first segment of a route's path ("visitors" of /visitors/{visitorId}); None when it holds
    a parameter."""
    segment = path[1:].partition("/")[0]
    return None if "{" in segment else segment


def _problem(status: int, code: str, message: str, field: str | None = None) -> Any:
    kind = "invalid_request"
    return error_response(status, [{"code": code, "type": kind, "field": field, "message": message}])


def _is_json(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _content_length(headers: Headers) -> int | None:
    raw = headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


class RequestHygiene:
    """The ASGI middleware; `routes` are the API's routes (matched here the way the router will)."""

    def __init__(
        self, app: ASGIApp, *, routes: Sequence[BaseRoute], max_body_bytes: int, max_import_body_bytes: int
    ) -> None:
        self.app = app
        self.routes = [route for route in routes if isinstance(route, APIRoute)]
        self.rules: dict[int, RouteRules] = {}  # made on a route's first request: cheap start-up
        # The routes a path may match, by its first segment: those whose path starts with that segment or
        # with a parameter, in their order (a route with another literal first segment cannot match).
        self._by_segment: dict[str, list[APIRoute]] = {}
        self._any_segment = [route for route in self.routes if _first_segment(route.path) is None]
        for route in self.routes:
            segment = _first_segment(route.path)
            if segment is not None and segment not in self._by_segment:
                self._by_segment[segment] = [
                    other for other in self.routes if _first_segment(other.path) in (segment, None)
                ]
        self.max_body_bytes = max_body_bytes
        self.max_import_body_bytes = max_import_body_bytes

    def _rules(self, route: APIRoute) -> RouteRules:
        found = self.rules.get(id(route))
        if found is None:
            found = self.rules[id(route)] = route_rules(route)
        return found

    def _match(self, scope: Scope) -> APIRoute | None:
        segment = get_route_path(scope)[1:].partition("/")[0]
        for route in self._by_segment.get(segment, self._any_segment):
            match, _child = route.matches(scope)
            if match is Match.FULL:
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
            raw: bytes | None = scope.get("raw_path")
            if raw:
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        route = self._match(scope)
        if route is None and scope["method"] == "HEAD":
            as_get = {**scope, "method": "GET"}
            route = self._match(as_get)
            if route is not None:
                scope, send = as_get, _without_body(send)
        rules = self._rules(route) if route is not None else None
        headers = Headers(scope=scope)
        limit = self.max_import_body_bytes if rules and rules.large_body else self.max_body_bytes
        length = _content_length(headers)
        if length is not None and length > limit:
            await _too_large(limit)(scope, receive, send)
            return
        if rules is not None:
            problem = self._check(scope, headers, rules, length)
            if problem is not None:
                await problem(scope, receive, send)
                return
        await self.app(scope, _limited(receive, limit), send)

    def _check(self, scope: Scope, headers: Headers, rules: RouteRules, length: int | None) -> Any:
        query = QueryParams(scope.get("query_string", b""))
        counts: dict[str, int] = {}
        for key, _value in query.multi_items():
            counts[key] = counts.get(key, 0) + 1
        for key, count in counts.items():
            if key not in rules.query:
                known = ", ".join(rules.query) if rules.query else None
                return _problem(
                    400,
                    "unknown_parameter",
                    f"Unknown query parameter '{key}'; "
                    + (f"this operation takes: {known}." if known else "this operation takes none."),
                    key,
                )
            if count > 1 and not rules.query[key]:
                return _problem(
                    400,
                    "repeated_parameter",
                    f"Query parameter '{key}' is given {count} times; it takes one value.",
                    key,
                )
        if rules.json_body and scope["method"] in JSON_BODY_METHODS:
            content_type = headers.get("content-type")
            has_body = (length or 0) > 0 or "transfer-encoding" in headers
            if (content_type or has_body) and not (content_type and _is_json(content_type)):
                return _problem(
                    415,
                    "unsupported_media_type",
                    "This operation takes a JSON body: send it with 'Content-Type: application/json' "
                    + (f"(not '{content_type}')." if content_type else "(the request has no Content-Type)."),
                )
        return None


def _too_large(limit: int) -> Any:
    return _problem(
        413, "payload_too_large", f"The request body is larger than this operation's limit of {limit} bytes."
    )


def _limited(receive: Receive, limit: int) -> Receive:
    """Counts the body as it streams in: past `limit`, a 413 (an HTTPException, which FastAPI's body
    reading passes on to the handlers)."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(
                    413, f"The request body is larger than this operation's limit of {limit} bytes."
                )
        return message

    return receive_limited


def _without_body(send: Send) -> Send:
    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_head
