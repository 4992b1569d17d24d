"""Every ORM table; importing this package registers them all on Base.metadata."""

from visitorhub.core.db import Base, never_reuse_ids
from visitorhub.models.apikey import ApiKey
from visitorhub.models.article import Article
from visitorhub.models.bookmark import Bookmark
from visitorhub.models.center import Center, VisitorCenter
from visitorhub.models.center_company import CenterCompany
from visitorhub.models.challenge import Challenge, VisitorChallenge, VisitorChallengeHistory
from visitorhub.models.changelog import ChangeLogEntry
from visitorhub.models.channel import Channel, ChannelRecord
from visitorhub.models.checkin import Checkin
from visitorhub.models.connector import Connector, ConnectorRecord, ConnectorRun
from visitorhub.models.credit_card import CreditCard
from visitorhub.models.device import App, Device
from visitorhub.models.integration import IntegrationTemplate
from visitorhub.models.interest import Interest
from visitorhub.models.legal_text import LegalText, LegalTextLocale
from visitorhub.models.locale import VisitorLocale
from visitorhub.models.operation_session import (
    CenterOperationSegment,
    CenterOperationSession,
    CenterOperationStore,
)
from visitorhub.models.parking import Parking, ParkingHistory
from visitorhub.models.reward import Reward
from visitorhub.models.server_secret import ServerSecret
from visitorhub.models.service import (
    Service,
    ServiceSegment,
    ServiceServiceTarget,
    ServiceServiceTheme,
    ServiceStore,
    ServiceTarget,
    ServiceTheme,
)
from visitorhub.models.smartparking import SmartParkingVisit
from visitorhub.models.stream import StreamDelivery, StreamDeliveryAttempt, StreamPayload, StreamSubscription
from visitorhub.models.vehicle import Vehicle
from visitorhub.models.vehicle_partner import VehiclePartner
from visitorhub.models.visitor import ExternalId, Optin, Visitor

__all__ = [
    "ApiKey",
    "App",
    "Article",
    "Bookmark",
    "Center",
    "CenterCompany",
    "CenterOperationSegment",
    "CenterOperationSession",
    "CenterOperationStore",
    "Challenge",
    "ChangeLogEntry",
    "Channel",
    "ChannelRecord",
    "Checkin",
    "Connector",
    "ConnectorRecord",
    "ConnectorRun",
    "CreditCard",
    "Device",
    "ExternalId",
    "IntegrationTemplate",
    "Interest",
    "LegalText",
    "LegalTextLocale",
    "Optin",
    "Parking",
    "ParkingHistory",
    "Reward",
    "ServerSecret",
    "Service",
    "ServiceSegment",
    "ServiceServiceTarget",
    "ServiceServiceTheme",
    "ServiceStore",
    "ServiceTarget",
    "ServiceTheme",
    "SmartParkingVisit",
    "StreamDelivery",
    "StreamDeliveryAttempt",
    "StreamPayload",
    "StreamSubscription",
    "Vehicle",
    "VehiclePartner",
    "Visitor",
    "VisitorCenter",
    "VisitorChallenge",
    "VisitorChallengeHistory",
    "VisitorLocale",
]

never_reuse_ids(Base.metadata)
