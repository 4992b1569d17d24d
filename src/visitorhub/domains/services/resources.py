"""Declarations of services, their stores and segments, the theme and target catalogues, and the links
that give a theme or a target to a service."""

from __future__ import annotations

from datetime import datetime

from visitorhub.core.resource import Filter, Resource, Unique, at_least, at_most, equals
from visitorhub.domains.enums import ThemeCategory
from visitorhub.domains.services.schemas import (
    ServiceCreate,
    ServiceRead,
    ServiceSegmentCreate,
    ServiceSegmentRead,
    ServiceServiceTargetCreate,
    ServiceServiceTargetRead,
    ServiceServiceThemeCreate,
    ServiceServiceThemeRead,
    ServiceStoreCreate,
    ServiceStoreRead,
    ServiceTargetCreate,
    ServiceTargetRead,
    ServiceThemeCreate,
    ServiceThemeRead,
)
from visitorhub.domains.services.service import ServiceService, ServiceThemeLinkService
from visitorhub.models import (
    Service,
    ServiceSegment,
    ServiceServiceTarget,
    ServiceServiceTheme,
    ServiceStore,
    ServiceTarget,
    ServiceTheme,
)

services = Resource(
    name="services",
    entity="Service",
    model=Service,
    read=ServiceRead,
    create=ServiceCreate,
    service_class=ServiceService,
    key="serviceId",
    references={"pcCode": "centers"},
    sortable=("creationDate", "updateDate", "name", "startDate", "endDate"),
    filters=(
        Filter("pcCode", str, equals(Service.pc_code), "PC Code"),
        Filter("endDateSince", datetime, at_least(Service.end_date), "endDate >= this instant"),
        Filter("endDateUntil", datetime, at_most(Service.end_date), "endDate <= this instant"),
    ),
    operations={"list": 1, "create": 2, "get": 3, "update": 4},
    descriptions={
        "list": "Each service embeds its stores, targets, themes and segments and its checkinCount.",
    },
    example={
        "pcCode": "FR-SC-123",
        "name": "La Bonne Excuse",
        "category": "lounge",
        "useRate": "free",
        "daysOfUse": [1, 2, 3, 4, 5],
        "colorCode": "#FFFFFF",
    },
    example_update={"name": "La Meilleure Excuse", "isPremium": True},
)

service_stores = Resource(
    name="service-stores",
    entity="ServiceStore",
    model=ServiceStore,
    read=ServiceStoreRead,
    create=ServiceStoreCreate,
    parent="services",
    path="/services/{serviceId}/stores",
    key="storeId",
    unique=(
        Unique(
            ("serviceId", "storeId"), message="Store {storeId} is already a store of service {serviceId}."
        ),
    ),
    sortable=("creationDate", "updateDate", "storeId", "storeName"),
    operations={"list": 5, "create": 6, "delete": 7},
    descriptions={"delete": "storeId is the store's id (as given when it was added)."},
    example={"storeId": 69044, "storeName": "Bershka"},
)

service_segments = Resource(
    name="service-segments",
    entity="ServiceSegment",
    model=ServiceSegment,
    read=ServiceSegmentRead,
    create=ServiceSegmentCreate,
    parent="services",
    path="/services/{serviceId}/segments",
    key="segmentId",
    unique=(
        Unique(
            ("serviceId", "segmentId"),
            message="Segment {segmentId} is already a segment of service {serviceId}.",
        ),
    ),
    sortable=("creationDate", "updateDate", "segmentId", "segmentName"),
    operations={"list": 8, "create": 9, "delete": 10},
    descriptions={"delete": "segmentId is the segment's id (as given when it was added)."},
    example={"segmentId": 12, "segmentName": "Families"},
)

service_themes = Resource(
    name="service-themes",
    entity="ServiceTheme",
    model=ServiceTheme,
    read=ServiceThemeRead,
    create=ServiceThemeCreate,
    key="serviceThemeId",
    unique=(
        Unique(
            ("category", "value"),
            lower=True,
            message="A {category} theme '{value}' already exists.",
            field="value",
        ),
    ),
    sortable=("creationDate", "updateDate", "value", "category"),
    filters=(
        Filter("category", ThemeCategory, equals(ServiceTheme.category), "event or service"),
        Filter("deprecated", bool, equals(ServiceTheme.deprecated), "Deprecated or not"),
    ),
    operations={"create": 19, "list": 20, "update": 13},
    descriptions={
        "create": "Adds a theme to the catalogue; POST /services/{serviceId}/themes gives it to a service."
    },
    example={"value": "Christmas", "category": "event"},
    example_update={"deprecated": True},
)

service_targets = Resource(
    name="service-targets",
    entity="ServiceTarget",
    model=ServiceTarget,
    read=ServiceTargetRead,
    create=ServiceTargetCreate,
    key="serviceTargetId",
    unique=(Unique(("value",), lower=True, message="A target '{value}' already exists."),),
    sortable=("creationDate", "updateDate", "value"),
    operations={"create": 21, "list": 22, "update": 17},
    descriptions={
        "create": "Adds a target to the catalogue; POST /services/{serviceId}/targets gives it to a service."
    },
    example={"value": "Families"},
    example_update={"value": "Young families"},
)

service_service_themes = Resource(
    name="service-service-themes",
    entity="ServiceServiceTheme",
    model=ServiceServiceTheme,
    read=ServiceServiceThemeRead,
    create=ServiceServiceThemeCreate,
    service_class=ServiceThemeLinkService,
    parent="services",
    path="/services/{serviceId}/themes",
    key="serviceThemeId",
    references={"serviceThemeId": "service-themes"},
    unique=(
        Unique(
            ("serviceId", "serviceThemeId"),
            message="Service {serviceId} already has theme {serviceThemeId}.",
        ),
    ),
    sortable=("creationDate", "updateDate", "serviceThemeId"),
    example={"serviceThemeId": 117},
    operations={"list": 11, "create": 12, "delete": 14},
    descriptions={
        "create": "Gives a theme of the catalogue (not deprecated) to the service.",
        "delete": "Takes the theme from the service; the theme stays in the catalogue.",
    },
    tag="service-themes",
)

service_service_targets = Resource(
    name="service-service-targets",
    entity="ServiceServiceTarget",
    model=ServiceServiceTarget,
    read=ServiceServiceTargetRead,
    create=ServiceServiceTargetCreate,
    parent="services",
    path="/services/{serviceId}/targets",
    key="serviceTargetId",
    references={"serviceTargetId": "service-targets"},
    unique=(
        Unique(
            ("serviceId", "serviceTargetId"),
            message="Service {serviceId} already has target {serviceTargetId}.",
        ),
    ),
    sortable=("creationDate", "updateDate", "serviceTargetId"),
    example={"serviceTargetId": 117},
    operations={"list": 15, "create": 16, "delete": 18},
    descriptions={
        "create": "Gives a target of the catalogue to the service.",
        "delete": "Takes the target from the service; the target stays in the catalogue.",
    },
    tag="service-targets",
)
