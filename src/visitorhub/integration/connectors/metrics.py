"""Connector metrics for /metrics, read from the database at scrape time (every process shows every
worker's syncs): calls by kind and outcome, records by outcome, lag, failed records, last sync."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from visitorhub.integration.connectors import mirror
from visitorhub.integration.connectors.service import lag
from visitorhub.models import Connector, ConnectorRecord


class ConnectorCollector(Collector):
    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        session = self.session
        calls = CounterMetricFamily(
            "visitorhub_connector_calls",
            "Requests to the remote system by kind (token, search, create, update, delete, get) and outcome "
            "(ok, rate_limited, server_error, timeout, ...), retries included",
            labels=["connector", "kind", "outcome"],
        )
        records = CounterMetricFamily(
            "visitorhub_connector_records",
            "Records synced by outcome (created, updated, deleted, unchanged, failed)",
            labels=["connector", "outcome"],
        )
        lag_gauge = GaugeMetricFamily(
            "visitorhub_connector_lag_changes",
            "Change records after the connector's cursor that may concern it (0: up to date)",
            labels=["connector"],
        )
        failed = GaugeMetricFamily(
            "visitorhub_connector_failed_records",
            "Visitors whose last sync failed (retried at the next sync)",
            labels=["connector"],
        )
        last_run = GaugeMetricFamily(
            "visitorhub_connector_last_sync_timestamp_seconds",
            "When the connector's last sync started (Unix time)",
            labels=["connector"],
        )
        failing = dict(
            session.execute(
                select(ConnectorRecord.connector_id, func.count())
                .where(ConnectorRecord.status == mirror.FAILED)
                .group_by(ConnectorRecord.connector_id)
            ).all()
        )
        for row in session.scalars(select(Connector).order_by(Connector.id)):
            for kind, outcomes in sorted((row.call_totals or {}).items()):
                for outcome, value in sorted(outcomes.items()):
                    calls.add_metric([row.name, kind, outcome], value)
            for outcome in ("created", "updated", "deleted", "unchanged", "failed"):
                records.add_metric([row.name, outcome], (row.record_totals or {}).get(outcome, 0))
            lag_gauge.add_metric([row.name], lag(session, row))
            failed.add_metric([row.name], failing.get(row.id, 0))
            if row.last_run_at is not None:
                last_run.add_metric([row.name], row.last_run_at.timestamp())
        yield from (calls, records, lag_gauge, failed, last_run)
