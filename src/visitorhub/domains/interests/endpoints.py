"""PUT .../interests/batch: replace a visitor's interests in one transaction."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Path, Request
from fastapi.responses import JSONResponse

from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.responses import listing
from visitorhub.core.router import ERROR_RESPONSES, WRITE, Router, check_parent
from visitorhub.core.schemas import ListEnvelope
from visitorhub.domains.interests.resources import interest_service, interests
from visitorhub.domains.interests.schemas import InterestCreate, InterestRead
from visitorhub.errors import BadRequest

MAX_BATCH = 500
router = Router(tags=[interests.tag_name], responses=ERROR_RESPONSES)


@router.put(
    "/visitors/{visitorId}/interests/batch",
    **documented(103),
    dependencies=WRITE,
    response_model=ListEnvelope[InterestRead],
    description=f"Replaces the visitor's interests with the array (at most {MAX_BATCH} items; [] removes "
    "them all), matched by externalId: a known one keeps its interestId (its label updated), a new one is "
    "created, one left out is deleted. All or nothing; a repeated externalId is a 422 naming the item. "
    "Answers the interests, in the array's order.",
)
def replace_interests(
    request: Request,
    session: DbSession,
    ctx: WriteCtx,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    items: Annotated[list[InterestCreate], Body()],
) -> JSONResponse:
    if len(items) > MAX_BATCH:
        raise BadRequest(
            f"At most {MAX_BATCH} items per batch; got {len(items)}.", field="body", code="too_many"
        )
    check_parent(session, interests, {"visitorId": visitor_id})
    rows = interest_service.replace_all(session, visitor_id, [item.model_dump() for item in items], ctx)
    return listing(request.url, [interest_service.represent(row) for row in rows])
