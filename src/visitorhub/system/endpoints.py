"""GET /health (public), GET /changes and /keys (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from visitorhub import __version__
from visitorhub.core import auth, changelog
from visitorhub.core.deps import DbSession
from visitorhub.core.listing import MAX_LIMIT
from visitorhub.core.resource import entity_names
from visitorhub.core.responses import listing, one
from visitorhub.core.router import ADMIN, ERROR_RESPONSES, Router
from visitorhub.core.schemas import ApiModel, DataEnvelope, ListEnvelope
from visitorhub.domains import all_resources
from visitorhub.errors import BadRequest
from visitorhub.system import keys

router = Router(responses=ERROR_RESPONSES)


@router.get("/health", summary="Service health", tags=["system"])
def health(session: DbSession) -> dict[str, Any]:
    """Public: answers 200 when the database answers."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


class ChangeRead(ApiModel):
    seq: int
    entity: str
    entity_id: str
    operation: str
    occurred_at: datetime


class ChangesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int = Field(0, ge=0, description="Return changes with seq greater than this")
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Limit number of records")
    entity: str | None = Field(None, description="Only this entity (e.g. Visitor or visitors)")


@router.get(
    "/changes",
    summary="Read the change log",
    tags=["system"],
    dependencies=ADMIN,
    response_model=ListEnvelope[ChangeRead],
    description="Every create/update/delete in ascending seq. Page with after=<last seq seen>.",
)
def read_changes(
    request: Request, session: DbSession, query: Annotated[ChangesQuery, Query()]
) -> JSONResponse:
    entity = None
    if query.entity is not None:
        all_resources()
        names = entity_names()
        entity = names.get(query.entity)
        if entity is None:
            raise BadRequest(
                f"Unknown entity '{query.entity}'; known: {', '.join(sorted(set(names.values())))}.",
                field="entity",
                code="unknown_entity",
            )
    rows = changelog.read_after(session, query.after, query.limit + 1, entity)
    has_next = len(rows) > query.limit
    rows = rows[: query.limit]
    data = [ChangeRead.model_validate(row).model_dump(mode="json", by_alias=True) for row in rows]
    return listing(request.url, data, {"after": rows[-1].seq} if has_next else None)


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scope: str = Field(pattern="^(read|write|admin)$", description="read, write or admin")


class KeyRead(ApiModel):
    id: int
    name: str
    scope: str
    prefix: str
    creation_date: datetime
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    key: str = Field(description="The key itself: shown once, never stored")


def _key(row: Any) -> dict[str, Any]:
    return KeyRead.model_validate(row).model_dump(mode="json", by_alias=True)


@router.get(
    "/keys",
    summary="List API keys",
    tags=["system"],
    dependencies=ADMIN,
    response_model=ListEnvelope[KeyRead],
)
def list_api_keys(request: Request, session: DbSession) -> JSONResponse:
    return listing(request.url, [_key(row) for row in auth.list_keys(session)])


@router.post(
    "/keys",
    summary="Create an API key",
    tags=["system"],
    dependencies=ADMIN,
    status_code=201,
    response_model=DataEnvelope[KeyCreated],
)
def create_api_key(session: DbSession, body: Annotated[KeyCreate, Body()]) -> JSONResponse:
    row, plain = auth.create_key(session, body.name, body.scope)
    return one({**_key(row), "key": plain}, 201)


@router.delete(
    "/keys/{keyId}",
    summary="Revoke an API key",
    tags=["system"],
    dependencies=ADMIN,
    status_code=204,
    response_class=Response,
    description="Requests with the key get 401 from then on; revoking a revoked key again is a 204 too. "
    "The last active admin key cannot be revoked (409): create another admin key first.",
)
def revoke_api_key(session: DbSession, key_id: Annotated[int, Path(alias="keyId")]) -> Response:
    keys.revoke(session, key_id)
    return Response(status_code=204)
