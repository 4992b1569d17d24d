"""Every ORM table; importing this package registers them all on Base.metadata."""

from visitorhub.core.db import Base, never_reuse_ids
from visitorhub.models.apikey import ApiKey
from visitorhub.models.center import Center, VisitorCenter
from visitorhub.models.changelog import ChangeLogEntry
from visitorhub.models.channel import Channel, ChannelRecord
from visitorhub.models.connector import Connector, ConnectorRecord, ConnectorRun
from visitorhub.models.integration import IntegrationTemplate
from visitorhub.models.stream import StreamDelivery, StreamDeliveryAttempt, StreamPayload, StreamSubscription
from visitorhub.models.vehicle import Vehicle
from visitorhub.models.visitor import ExternalId, Optin, Visitor

__all__ = [
    "ApiKey",
    "Center",
    "ChangeLogEntry",
    "Channel",
    "ChannelRecord",
    "Connector",
    "ConnectorRecord",
    "ConnectorRun",
    "ExternalId",
    "IntegrationTemplate",
    "Optin",
    "StreamDelivery",
    "StreamDeliveryAttempt",
    "StreamPayload",
    "StreamSubscription",
    "Vehicle",
    "Visitor",
    "VisitorCenter",
]

never_reuse_ids(Base.metadata)
