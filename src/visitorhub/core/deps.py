"""Request dependencies: the request's unit of work, who is writing, and the app's settings and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings
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


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]


def _sessions(request: Request) -> sessionmaker[Session]:
    """For work that commits in steps of its own (a stream run), outside the request's transaction."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


AppSessions = Annotated[sessionmaker[Session], Depends(_sessions)]
