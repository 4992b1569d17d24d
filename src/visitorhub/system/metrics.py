"""GET /metrics: Prometheus text format, read from the database at scrape time.

The figures come from the database, not from process memory, so every API process shows the same
numbers, including the deliveries made by separate worker processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from visitorhub.core import auth
from visitorhub.core.deps import AppSettings, DbSession
from visitorhub.core.router import Router
from visitorhub.integration.channels.metrics import ChannelCollector
from visitorhub.integration.connectors.metrics import ConnectorCollector
from visitorhub.integration.streams.service import lag as stream_lag
from visitorhub.models.stream import StreamDelivery, StreamSubscription

router = Router(tags=["system"])


class StreamCollector(Collector):
    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        session = self.session
        deliveries = CounterMetricFamily(
            "visitorhub_stream_deliveries",
            "Delivery attempts by outcome (delivered, failed), and payloads dead-lettered (dead_lettered)",
            labels=["subscription", "outcome"],
        )
        records = CounterMetricFamily(
            "visitorhub_stream_records_delivered", "Records accepted by the receiver", labels=["subscription"]
        )
        lag = GaugeMetricFamily(
            "visitorhub_stream_lag_records",
            "Records of the stream waiting after the subscription's cursor (0: up to date)",
            labels=["subscription"],
        )
        pending = GaugeMetricFamily(
            "visitorhub_stream_pending_attempts",
            "Failed attempts of the payload waiting to be accepted (0: none has failed)",
            labels=["subscription"],
        )
        pending_attempts = (
            select(StreamDelivery.subscription_id, func.max(StreamDelivery.attempts))
            .where(StreamDelivery.status == "pending")
            .group_by(StreamDelivery.subscription_id)
        )
        waiting: dict[int, int] = {row[0]: row[1] for row in session.execute(pending_attempts)}
        for sub in session.scalars(select(StreamSubscription).order_by(StreamSubscription.id)):
            deliveries.add_metric([sub.name, "delivered"], sub.attempts_delivered)
            deliveries.add_metric([sub.name, "failed"], sub.attempts_failed)
            deliveries.add_metric([sub.name, "dead_lettered"], sub.payloads_dead)
            records.add_metric([sub.name], sub.records_delivered)
            lag.add_metric([sub.name], stream_lag(session, sub))
            pending.add_metric([sub.name], waiting.get(sub.id, 0))
        yield from (deliveries, records, lag, pending)


def _metrics_auth(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(auth.bearer)],
) -> None:
    if not settings.metrics_public:
        auth.require("read")(request, session, credentials)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[Depends(_metrics_auth)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
    description="Stream deliveries by outcome, records delivered and lag per subscription; connector calls "
    "and records by outcome, lag and failed records per connector; payloads, records, duplicates and "
    "quarantined records per inbound channel. Needs a key "
    "(read scope) unless VISITORHUB_METRICS_PUBLIC=true.",
)
def metrics(session: DbSession) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StreamCollector(session))
    registry.register(ConnectorCollector(session))
    registry.register(ChannelCollector(session))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
