"""/integration/connectors: connectors, a sync now, and the run log (admin scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from visitorhub.core.db import checkpoint
from visitorhub.core.deps import AppSessions, AppSettings, DbSession
from visitorhub.core.listing import OffsetQuery
from visitorhub.core.responses import one, page
from visitorhub.core.router import ADMIN, ERROR_RESPONSES, Router
from visitorhub.core.schemas import DataEnvelope, ListEnvelope
from visitorhub.integration.connectors import service
from visitorhub.integration.connectors.schemas import (
    ConnectorCreate,
    ConnectorRead,
    ConnectorUpdate,
    SyncReport,
    SyncRequest,
)
from visitorhub.integration.connectors.sync import SyncOptions, run_report, sync_connector
from visitorhub.models import ConnectorRun

router = Router(prefix="/integration", tags=["connectors"], responses=ERROR_RESPONSES, dependencies=ADMIN)
ConnectorId = Annotated[int, Path(alias="connectorId", description="The connector's id")]
RunId = Annotated[int, Path(alias="runId", description="The run's id")]


@router.post(
    "/connectors",
    summary="Create a connector",
    status_code=201,
    response_model=DataEnvelope[ConnectorRead],
    description="Keeps a remote system's records in step with the visitors `filter` keeps. The first "
    "sync is a full one. Secrets in `settings` are sealed and never returned; URLs are checked against "
    "the private-target policy.",
)
def create_connector(session: DbSession, settings: AppSettings, body: ConnectorCreate) -> JSONResponse:
    row = service.create_connector(session, body, settings)
    return one(service.represent(session, row), 201)


@router.get("/connectors", summary="List connectors", response_model=ListEnvelope[ConnectorRead])
def list_connectors(
    request: Request, session: DbSession, query: Annotated[OffsetQuery, Query()]
) -> JSONResponse:
    rows = service.list_connectors(session, query.offset, query.limit + 1)
    return page(request.url, rows, query, lambda row: service.represent(session, row))


@router.get(
    "/connectors/{connectorId}", summary="Read a connector", response_model=DataEnvelope[ConnectorRead]
)
def get_connector(session: DbSession, connector_id: ConnectorId) -> JSONResponse:
    return one(service.represent(session, service.get_connector(session, connector_id)))


@router.patch(
    "/connectors/{connectorId}",
    summary="Update a connector",
    response_model=DataEnvelope[ConnectorRead],
    description="Changes the given fields; `settings` are merged into the current ones. A new `filter` or "
    "new mapping settings make the next sync a full one; a new host, project or customer also forgets "
    "the mirror.",
)
def update_connector(
    session: DbSession, settings: AppSettings, connector_id: ConnectorId, body: ConnectorUpdate
) -> JSONResponse:
    row = service.get_connector(session, connector_id)
    service.update_connector(session, row, body, settings)
    return one(service.represent(session, row))


@router.delete(
    "/connectors/{connectorId}",
    summary="Delete a connector",
    status_code=204,
    response_class=Response,
    description="The connector, its mirror and its run log; the remote records stay as they are.",
)
def delete_connector(session: DbSession, connector_id: ConnectorId) -> Response:
    service.delete_connector(session, service.get_connector(session, connector_id))
    return Response(status_code=204)


@router.post(
    "/connectors/{connectorId}/sync",
    summary="Sync a connector now",
    response_model=DataEnvelope[SyncReport],
    description="One sync now (a disabled connector too; the schedule is unchanged), and its report. "
    "409 while another sync of the connector runs.",
)
def sync_now(
    session: DbSession,
    settings: AppSettings,
    sessions: AppSessions,
    connector_id: ConnectorId,
    body: Annotated[SyncRequest | None, Body()] = None,
) -> JSONResponse:
    service.get_connector(session, connector_id)
    checkpoint(session)  # the request only checked the connector: hand over to the sync
    request = body or SyncRequest()
    options = SyncOptions(full=request.full, dry_run=request.dry_run, trigger="api")
    report = sync_connector(sessions, connector_id, settings, options)
    assert report is not None  # only scheduled syncs skip
    return one(report.as_json())


@router.get(
    "/connectors/{connectorId}/runs",
    summary="List a connector's syncs",
    response_model=ListEnvelope[SyncReport],
    description="The run log, newest first (the last 1000 runs; scheduled syncs with nothing to do are "
    "not logged).",
)
def list_runs(
    request: Request, session: DbSession, connector_id: ConnectorId, query: Annotated[OffsetQuery, Query()]
) -> JSONResponse:
    service.get_connector(session, connector_id)
    stmt = (
        select(ConnectorRun)
        .where(ConnectorRun.connector_id == connector_id)
        .order_by(ConnectorRun.id.desc())
        .offset(query.offset)
        .limit(query.limit + 1)
    )
    return page(request.url, list(session.scalars(stmt)), query, lambda run: run_report(run).as_json())


@router.get(
    "/connectors/{connectorId}/runs/{runId}",
    summary="Read a connector's sync",
    response_model=DataEnvelope[SyncReport],
)
def get_run(session: DbSession, connector_id: ConnectorId, run_id: RunId) -> JSONResponse:
    return one(run_report(service.get_run(session, connector_id, run_id)).as_json())
