"""Declarations of the centers and visitor-centers resources."""

from __future__ import annotations

from visitorhub.core.resource import Filter, Imports, Resource, Unique, equals
from visitorhub.domains.centers.schemas import (
    CenterCreate,
    CenterRead,
    VisitorCenterCreate,
    VisitorCenterRead,
)
from visitorhub.domains.centers.service import VisitorCenterService
from visitorhub.domains.enums import CountryCode
from visitorhub.models import Center, VisitorCenter

centers = Resource(
    name="centers",
    entity="Center",
    model=Center,
    read=CenterRead,
    create=CenterCreate,
    key="pcCode",
    unique=(Unique(("pcCode",), message="A center with pcCode {pcCode} already exists."),),
    sortable=("creationDate", "updateDate", "pcCode", "label", "country"),
    filters=(
        Filter("isActive", bool, equals(Center.is_active), "Center is active or not"),
        Filter("country", CountryCode, equals(Center.country), "Filter by country"),
    ),
    operations={"create": 53, "list": 54, "update": 55, "get": 56},
    imports=Imports(),
    example={"pcCode": "FR-SC-123", "label": "Les 4 Temps", "country": "FR", "isWestfield": True},
    example_update={"label": "Westfield Les 4 Temps"},
)

visitor_centers = Resource(
    name="visitor-centers",
    entity="VisitorCenter",
    model=VisitorCenter,
    read=VisitorCenterRead,
    create=VisitorCenterCreate,
    service_class=VisitorCenterService,
    parent="visitors",
    path="/visitors/{visitorId}/centers",
    key="pcCode",
    unique=(Unique(("visitorId", "pcCode"), message="Visitor {visitorId} already has center {pcCode}."),),
    references={"pcCode": "centers"},
    sortable=("creationDate", "updateDate", "pcCode", "favoriteDate"),
    operations={"create": 42, "list": 43, "get": 45, "update": 46},
    imports=Imports(),
    example={"pcCode": "FR-SC-123", "isFavorite": True},
    example_update={"isFavorite": False},
)
visitor_center_service = visitor_centers.service_as(VisitorCenterService)
