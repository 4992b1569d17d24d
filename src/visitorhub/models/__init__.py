"""Every ORM table; importing this package registers them all on Base.metadata."""

from visitorhub.models.apikey import ApiKey
from visitorhub.models.article import Article
from visitorhub.models.center import Center, VisitorCenter
from visitorhub.models.center_company import CenterCompany
from visitorhub.models.challenge import Challenge, VisitorChallenge, VisitorChallengeHistory
from visitorhub.models.changelog import ChangeLogEntry
from visitorhub.models.connector import Connector, ConnectorRecord, ConnectorRun
from visitorhub.models.integration import IntegrationTemplate
from visitorhub.models.legal_text import LegalText, LegalTextLocale
from visitorhub.models.operation_session import (
    CenterOperationSegment,
    CenterOperationSession,
    CenterOperationStore,
)
from visitorhub.models.service import (
    Service,
    ServiceSegment,
    ServiceServiceTarget,
    ServiceServiceTheme,
    ServiceStore,
    ServiceTarget,
    ServiceTheme,
)
from visitorhub.models.stream import StreamDelivery, StreamDeliveryAttempt, StreamPayload, StreamSubscription
from visitorhub.models.vehicle import Vehicle
from visitorhub.models.visitor import ExternalId, Optin, Visitor

__all__ = [
    "ApiKey",
    "Article",
    "Center",
    "CenterCompany",
    "CenterOperationSegment",
    "CenterOperationSession",
    "CenterOperationStore",
    "Challenge",
    "ChangeLogEntry",
    "Connector",
    "ConnectorRecord",
    "ConnectorRun",
    "ExternalId",
    "IntegrationTemplate",
    "LegalText",
    "LegalTextLocale",
    "Optin",
    "Service",
    "ServiceSegment",
    "ServiceServiceTarget",
    "ServiceServiceTheme",
    "ServiceStore",
    "ServiceTarget",
    "ServiceTheme",
    "StreamDelivery",
    "StreamDeliveryAttempt",
    "StreamPayload",
    "StreamSubscription",
    "Vehicle",
    "Visitor",
    "VisitorCenter",
    "VisitorChallenge",
    "VisitorChallengeHistory",
]
