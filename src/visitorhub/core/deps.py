"""Request dependencies: the request's unit of work, and who is writing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from visitorhub.core.db import unit_of_work
from visitorhub.core.service import WriteContext

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _request_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent.

    scope="function" (below) ends this dependency when the endpoint returns and before FastAPI sends
    anything, so a failed commit becomes an error response, never a 2xx.
    """
    state = request.app.state
    factory = state.read_sessions if request.method in _READ_METHODS else state.sessions
    with unit_of_work(factory) as session:
        yield session


DbSession = Annotated[Session, Depends(_request_session, scope="function")]


def _write_context(request: Request) -> WriteContext:
    return WriteContext(actor=getattr(request.state, "api_key_name", None))


WriteCtx = Annotated[WriteContext, Depends(_write_context)]
