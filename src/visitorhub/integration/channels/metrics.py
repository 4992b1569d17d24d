"""The channels' figures for GET /metrics, read from the database at scrape time (every process, the same
numbers)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from visitorhub.integration.channels.service import QUARANTINED
from visitorhub.models.channel import Channel, ChannelRecord


class ChannelCollector(Collector):
    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        labels = ["channel"]
        payloads = CounterMetricFamily(
            "visitorhub_channel_payloads_received", "Payloads accepted (answered 200)", labels=labels
        )
        records = CounterMetricFamily(
            "visitorhub_channel_records_received",
            "Records in the payloads accepted, duplicates included",
            labels=labels,
        )
        duplicates = CounterMetricFamily(
            "visitorhub_channel_duplicates",
            "Records received again with the same source id and content (not stored nor applied again)",
            labels=labels,
        )
        outcomes = CounterMetricFamily(
            "visitorhub_channel_records",
            "Records put through the channel's template, by outcome (applied, quarantined)",
            labels=["channel", "outcome"],
        )
        quarantine = GaugeMetricFamily(
            "visitorhub_channel_quarantined_records", "Records in quarantine now", labels=labels
        )
        last = GaugeMetricFamily(
            "visitorhub_channel_last_received_timestamp_seconds",
            "When the channel last accepted a payload (Unix time; absent before the first)",
            labels=labels,
        )
        counts = select(ChannelRecord.channel_id, func.count()).where(ChannelRecord.status == QUARANTINED)
        quarantined = {
            row[0]: row[1] for row in self.session.execute(counts.group_by(ChannelRecord.channel_id))
        }
        for channel in self.session.scalars(select(Channel).order_by(Channel.id)):
            name = [channel.name]
            payloads.add_metric(name, channel.payloads_received)
            records.add_metric(name, channel.records_received)
            duplicates.add_metric(name, channel.duplicates)
            outcomes.add_metric([channel.name, "applied"], channel.records_applied)
            outcomes.add_metric([channel.name, "quarantined"], channel.records_quarantined)
            quarantine.add_metric(name, quarantined.get(channel.id, 0))
            if channel.last_received_at is not None:
                last.add_metric(name, channel.last_received_at.timestamp())
        yield from (payloads, records, duplicates, outcomes, quarantine, last)
