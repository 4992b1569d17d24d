"""Declarations of the parkings and parking-histories resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_

from visitorhub.core.resource import Filter, Imports, Resource, at_least, at_most, equals
from visitorhub.domains.enums import ParkingPartner
from visitorhub.domains.parkings.schemas import (
    ParkingCreate,
    ParkingHistoryCreate,
    ParkingHistoryRead,
    ParkingHistoryUpdate,
    ParkingRead,
)
from visitorhub.domains.parkings.service import ParkingHistoryService, ParkingService, normalize_access_device
from visitorhub.models import Parking, ParkingHistory

parkings = Resource(
    name="parkings",
    entity="Parking",
    model=Parking,
    read=ParkingRead,
    create=ParkingCreate,
    service_class=ParkingService,
    parent="visitors",
    key="parkingId",
    soft_delete="unsubscribedAt",
    sortable=("creationDate", "updateDate", "subscriptionDate", "unsubscribedAt"),
    filters=(Filter("parkingPartner", ParkingPartner, equals(Parking.parking_partner), "Parking partner"),),
    operations={"create": 82, "list": 83, "get": 84, "delete": 85},
    descriptions={
        "create": "isActive true, subscriptionDate now. One active parking per partner (409 naming "
        "parkingPartner while one is active).",
        "list": "Active parkings; includeDeleted=true adds the unsubscribed ones.",
        "delete": "Unsubscribes: isActive false, unsubscribedAt now; the parking stays for its parking "
        "histories (listed with includeDeleted=true).",
    },
    example={"parkingPartner": "smartparking_us"},
)


def access_device_is(value: str) -> ColumnElement[bool]:
    """accessDevice or exitAccessDevice is this plate or barcode (case, spaces and dashes aside)."""
    normalized = normalize_access_device(value)
    return or_(
        ParkingHistory.access_device_normalized == normalized,
        ParkingHistory.exit_access_device_normalized == normalized,
    )


def _access_device(stmt: Select[Any], value: str) -> Select[Any]:
    return stmt.where(access_device_is(value))


HISTORY_FILTERS = (
    Filter(
        "accessDevice",
        str,
        _access_device,
        "Licence plate or barcode: accessDevice or exitAccessDevice (case, spaces and dashes ignored)",
    ),
    Filter("parkingId", int, equals(ParkingHistory.parking_id), "Parking ID"),
)

parking_histories = Resource(
    name="parking-histories",
    entity="ParkingHistory",
    model=ParkingHistory,
    read=ParkingHistoryRead,
    create=ParkingHistoryCreate,
    update=ParkingHistoryUpdate,
    service_class=ParkingHistoryService,
    parent="visitors",
    key="parkingHistoryId",
    derived={
        "access_device_normalized": ("access_device", normalize_access_device),
        "exit_access_device_normalized": ("exit_access_device", normalize_access_device),
    },
    references={"parkingId": "parkings", "cardId": "credit-cards", "pcCode": "centers"},
    sortable=("creationDate", "updateDate", "parkingSessionStart", "parkingSessionEnd", "paidAt", "amount"),
    filters=(
        *HISTORY_FILTERS,
        Filter(
            "startDate",
            datetime,
            at_least(ParkingHistory.parking_session_start),
            "parkingSessionStart >= this",
        ),
        Filter(
            "endDate", datetime, at_most(ParkingHistory.parking_session_start), "parkingSessionStart <= this"
        ),
        Filter("parkingSessionId", int, equals(ParkingHistory.parking_session_id), "Parking session id"),
    ),
    operations={"create": 86, "list": 87, "update": 88, "get": 89, "delete": 90},
    descriptions={
        "create": "parkingId, cardId and pcCode must name an existing parking, credit card (deleted or not) "
        "and centre: 422 naming the field otherwise.",
        "list": "startDate and endDate bound the session's start (parkingSessionStart).",
    },
    imports=Imports(),
    example={
        "parkingSessionStart": "2026-11-02T09:00:00Z",
        "parkingSessionEnd": "2026-11-02T11:30:00Z",
        "amount": 450,
        "currency": "EUR",
        "accessDevice": "AB-123-CD",
        "paymentStatus": "succeeded",
        "parkingId": 1,
        "cardId": 1,
        "pcCode": "FR-SC-123",
    },
    example_update={"paymentStatus": "refunded", "refundedAmount": 4.5},
)
