"""create_app(settings): the ASGI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from visitorhub import __version__
from visitorhub.api import build_api_router
from visitorhub.config import Settings, get_settings
from visitorhub.core.db import make_engine, make_session_factory
from visitorhub.core.router import int64_bounds, openapi_links
from visitorhub.core.wal import BackgroundCheckpointer, has_wal_file
from visitorhub.handlers import install_error_handlers
from visitorhub.hygiene import RequestHygiene
from visitorhub.integration.channels.schemas import INBOUND_PREFIX

DESCRIPTION = """The Visitor API of visitorhub: visitors, vehicles, centres and more.

Authenticate with `Authorization: Bearer <key>` (scopes: read < write < admin). Lists take `offset`,
`limit` (1..500, default 25), `sort` (`-creationDate,updateDate`) and `fields`; errors come as
`{"errors": [{"code", "type", "field", "message"}]}`.

Every integer is a 64-bit one and text never holds the NUL character (422 naming the field otherwise). A
query parameter the operation does not declare, or one that takes one value given twice, is a 400; a JSON
body needs `Content-Type: application/json` (415) and must be UTF-8 JSON (400 `malformed_json`, with the
line and column); a body over the size limit is a 413. `HEAD` works wherever `GET` does, and a trailing
slash is ignored."""

# The docs pages' assets (Swagger UI, ReDoc) are served by the service itself, from the fastapi-offline
# package: /docs and /redoc work with no internet access.
DOCS_ASSETS = "/docs-assets"


class FirstUnder(BaseRoute):
    """`route`, tried before every other route for the paths under `prefix` (and only for them): the
    router matches routes one after the other, and the inbound route, which senders call most, would come
    after some 80 others. Only for a route that no other one matches under `prefix` (test_routing checks
    it): which route answers a request, 404 and 405 included, stays the same. The route keeps its place in
    the router's list too (OpenAPI is made from that list; this one is not in it)."""

    def __init__(self, prefix: str, route: BaseRoute) -> None:
        self.prefix = prefix
        self.route = route
        self.path_format = getattr(route, "path_format", None)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or not get_route_path(scope).startswith(self.prefix):
            return Match.NONE, {}
        return self.route.matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the route itself, further down the list, answers


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """`serve` sets app.state.run_worker: the worker then runs in this process, stopped cleanly with it. The
    channels' group committer, if a payload came, is closed with it. On a SQLite file, the write-ahead log is
    checkpointed in the background (core.wal) while the app runs."""
    worker = None
    if getattr(app.state, "run_worker", False):
        from visitorhub.worker.runner import WorkerThread

        worker = WorkerThread(app.state.settings, app.state.sessions)
        worker.start()
    checkpointer = None
    engine, period_ms = app.state.engine, app.state.settings.sqlite_checkpoint_ms
    if period_ms and isinstance(engine, Engine) and has_wal_file(engine):
        checkpointer = BackgroundCheckpointer(engine, period_ms / 1000)
        checkpointer.start()
    app.state.checkpointer = checkpointer
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()
        committer = getattr(app.state, "channel_committer", None)  # made by the first inbound payload
        if committer is not None:
            committer.close(timeout=30)  # what is queued is committed and answered, then its thread ends
        if checkpointer is not None:
            checkpointer.stop()


def bind_database(app: FastAPI, engine: Engine | Any, *, readonly_reads: bool) -> None:
    """Where the app's requests write and read (tests rebind one app to each test's connection)."""
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.read_sessions = make_session_factory(engine, readonly=readonly_reads)


def create_app(settings: Settings | None = None, *, bind: Any = None) -> FastAPI:
    """Build the app; `bind` (an Engine or Connection) overrides the one made from settings (tests)."""
    settings = settings or get_settings()
    engine: Engine | Any = (
        bind if bind is not None else make_engine(settings.database_url, settings.database_echo)
    )
    api = build_api_router()
    app: FastAPI = FastAPIOffline(
        title="visitorhub",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url="/redoc",
        static_url=DOCS_ASSETS,
        lifespan=_lifespan,
    )
    app.add_middleware(
        RequestHygiene,
        routes=api.routes,
        max_body_bytes=settings.max_body_bytes,
        max_import_body_bytes=settings.max_import_body_bytes,
    )
    app.state.settings = settings
    bind_database(app, engine, readonly_reads=bind is None)
    install_error_handlers(app)
    app.router.routes.extend(api.routes)  # built once per process and shared (core.router.Router)
    inbound = next(route for route in api.routes if getattr(route, "path", "").startswith(INBOUND_PREFIX))
    app.router.routes.insert(0, FirstUnder(INBOUND_PREFIX, inbound))
    build_openapi = app.openapi
    linked: list[int] = []

    def openapi() -> dict[str, Any]:
        document = build_openapi()  # cached by FastAPI until the routes change
        if not linked or linked[-1] != id(document):
            openapi_links(document)
            int64_bounds(document)
            linked.append(id(document))
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    logging.getLogger("visitorhub").setLevel(settings.log_level.upper())
    return app
