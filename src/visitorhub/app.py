"""create_app(settings): the ASGI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from visitorhub import __version__
from visitorhub.api import build_api_router
from visitorhub.config import Settings, get_settings
from visitorhub.core.db import make_engine, make_session_factory
from visitorhub.core.router import operation_id
from visitorhub.handlers import install_error_handlers

DESCRIPTION = """The Visitor API of visitorhub: visitors, vehicles, centres and more.

Authenticate with `Authorization: Bearer <key>` (scopes: read < write < admin). Lists take `offset`,
`limit` (1..500, default 25), `sort` (`-creationDate,updateDate`) and `fields`; errors come as
`{"errors": [{"code", "type", "field", "message"}]}`."""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """`serve` sets app.state.run_worker: the worker then runs in this process, stopped cleanly with it."""
    worker = None
    if getattr(app.state, "run_worker", False):
        from visitorhub.worker.runner import WorkerThread

        worker = WorkerThread(app.state.settings, app.state.sessions)
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()


def create_app(settings: Settings | None = None, *, bind: Any = None) -> FastAPI:
    """Build the app; `bind` (an Engine or Connection) overrides the one made from settings (tests)."""
    settings = settings or get_settings()
    engine: Engine | Any = (
        bind if bind is not None else make_engine(settings.database_url, settings.database_echo)
    )
    app = FastAPI(
        title="visitorhub",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        lifespan=_lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.read_sessions = make_session_factory(engine, readonly=bind is None)
    install_error_handlers(app)
    app.include_router(build_api_router())
    logging.getLogger("visitorhub").setLevel(settings.log_level.upper())
    return app
