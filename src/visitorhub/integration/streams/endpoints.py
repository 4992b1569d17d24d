"""/integration/subscriptions and /integration/deliveries: outbound streams (admin scope)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select

from visitorhub.core.db import checkpoint
from visitorhub.core.deps import AppSessions, AppSettings, DbSession
from visitorhub.core.listing import OffsetQuery
from visitorhub.core.responses import listing, one, page
from visitorhub.core.router import ADMIN, ERROR_RESPONSES, Router
from visitorhub.core.schemas import DataEnvelope, ListEnvelope
from visitorhub.integration.streams import delivery as runs
from visitorhub.integration.streams import service
from visitorhub.integration.streams.payloads import stored_body
from visitorhub.integration.streams.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryRead,
    PayloadOutcome,
    RunReport,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from visitorhub.integration.streams.sender import Sender
from visitorhub.models.stream import StreamDelivery, StreamDeliveryAttempt

router = Router(
    prefix="/integration",
    tags=["streams"],
    responses=ERROR_RESPONSES,
    dependencies=ADMIN,
)
SubscriptionId = Annotated[int, Path(alias="subscriptionId", description="The subscription's id")]
DeliveryId = Annotated[str, Path(alias="deliveryId", max_length=40, description="The delivery's id")]


class DeliveryQuery(OffsetQuery):
    status: Literal["pending", "delivered", "dead"] | None = Field(None, description="Only this status")


@router.get(
    "/streams",
    summary="List the streams a subscription can follow",
    response_model=ListEnvelope[dict[str, str]],
)
def list_streams(request: Request) -> JSONResponse:
    data = [{"stream": name, "entity": entity} for name, entity in service.streams().items()]
    return listing(request.url, data)


@router.post(
    "/subscriptions",
    summary="Create a stream subscription",
    status_code=201,
    response_model=DataEnvelope[SubscriptionCreated],
    description="Pushes the stream's changes to `url` every `intervalMinutes`: at most `maxPerRun` records a "
    "run, at most `maxPerPayload` per POSTed JSON array. Without `startDate` it starts with the changes "
    "made from now on. An HMAC secret left out is generated and shown here once.",
)
def create_subscription(session: DbSession, settings: AppSettings, body: SubscriptionCreate) -> JSONResponse:
    sub, secret = service.create_subscription(session, body, settings)
    return one(service.represent(session, sub, secret), 201)


@router.get(
    "/subscriptions",
    summary="List stream subscriptions",
    response_model=ListEnvelope[SubscriptionRead],
)
def list_subscriptions(
    request: Request, session: DbSession, query: Annotated[OffsetQuery, Query()]
) -> JSONResponse:
    subs = service.list_subscriptions(session, query.offset, query.limit + 1)
    return page(request.url, subs, query, lambda sub: service.represent(session, sub))


@router.get(
    "/subscriptions/{subscriptionId}",
    summary="Read a stream subscription",
    response_model=DataEnvelope[SubscriptionRead],
)
def get_subscription(session: DbSession, subscription_id: SubscriptionId) -> JSONResponse:
    return one(service.represent(session, service.get_subscription(session, subscription_id)))


@router.patch(
    "/subscriptions/{subscriptionId}",
    summary="Update a stream subscription",
    response_model=DataEnvelope[SubscriptionCreated],
    description="Changes the given fields. A new `startDate` re-places the cursor (the pending payload, if "
    "any, is dead-lettered and stays replayable); `auth` replaces the whole auth setting.",
)
def update_subscription(
    session: DbSession, settings: AppSettings, subscription_id: SubscriptionId, body: SubscriptionUpdate
) -> JSONResponse:
    sub = service.get_subscription(session, subscription_id)
    secret = service.update_subscription(session, sub, body, settings)
    return one(service.represent(session, sub, secret))


@router.delete(
    "/subscriptions/{subscriptionId}",
    summary="Delete a stream subscription",
    status_code=204,
    response_class=Response,
)
def delete_subscription(session: DbSession, subscription_id: SubscriptionId) -> Response:
    service.delete_subscription(session, service.get_subscription(session, subscription_id))
    return Response(status_code=204)


@router.post(
    "/subscriptions/{subscriptionId}/run",
    summary="Run a stream subscription now",
    response_model=DataEnvelope[RunReport],
    description="One run, as the worker would make it (the schedule is unchanged), and its report. "
    "`outcome` busy: another run holds the subscription.",
)
def run_subscription(
    session: DbSession, settings: AppSettings, sessions: AppSessions, subscription_id: SubscriptionId
) -> JSONResponse:
    service.get_subscription(session, subscription_id)
    checkpoint(session)  # the request only checked the key: hand over to the run
    with Sender(settings) as sender:
        report = runs.run_subscription(sessions, subscription_id, settings, sender)
    return one(report.as_json())


def _delivery(row: StreamDelivery) -> dict[str, Any]:
    return DeliveryRead.model_validate(row).as_json()


@router.get(
    "/subscriptions/{subscriptionId}/deliveries",
    summary="List a subscription's deliveries",
    response_model=ListEnvelope[DeliveryRead],
    description="The delivery log, newest first: each payload with its attempts, last HTTP status, duration, "
    "record count, seq range and the start of the receiver's answer.",
)
def list_deliveries(
    request: Request,
    session: DbSession,
    subscription_id: SubscriptionId,
    query: Annotated[DeliveryQuery, Query()],
) -> JSONResponse:
    service.get_subscription(session, subscription_id)
    stmt = select(StreamDelivery).where(StreamDelivery.subscription_id == subscription_id)
    if query.status is not None:
        stmt = stmt.where(StreamDelivery.status == query.status)
    stmt = stmt.order_by(StreamDelivery.first_seq.desc()).offset(query.offset).limit(query.limit + 1)
    return page(request.url, list(session.scalars(stmt)), query, _delivery)


@router.get(
    "/deliveries/{deliveryId}",
    summary="Read a delivery with its attempts and records",
    response_model=DataEnvelope[DeliveryDetail],
)
def get_delivery(session: DbSession, delivery_id: DeliveryId) -> JSONResponse:
    row = service.get_delivery(session, delivery_id)
    attempts = session.scalars(
        select(StreamDeliveryAttempt)
        .where(StreamDeliveryAttempt.delivery_id == delivery_id)
        .order_by(StreamDeliveryAttempt.number)
    )
    detail = DeliveryDetail.model_validate(row).model_copy(
        update={
            "attempt_log": [AttemptRead.model_validate(attempt) for attempt in attempts],
            "records": orjson.loads(stored_body(session.connection(), delivery_id) or b"[]"),
        }
    )
    return one(detail.as_json())


@router.post(
    "/deliveries/{deliveryId}/replay",
    summary="Replay a delivery",
    response_model=DataEnvelope[PayloadOutcome],
    description="Sends a dead-lettered or past payload again now: the same records under the same "
    "`webhook-id`. A dead-lettered payload the receiver accepts becomes delivered. A pending one is a 409: "
    "runs send it, in order.",
)
def replay_delivery(
    session: DbSession, settings: AppSettings, sessions: AppSessions, delivery_id: DeliveryId
) -> JSONResponse:
    checkpoint(session)  # the request only checked the key: hand over to the run
    with Sender(settings) as sender:
        outcome = runs.replay_delivery(sessions, delivery_id, settings, sender)
    return one(outcome.as_json())
