"""Declaration of the checkins resource."""

from __future__ import annotations

from visitorhub.core.resource import Filter, Imports, Resource, equals
from visitorhub.domains.checkins.schemas import CheckinCreate, CheckinRead
from visitorhub.models import Checkin

checkins = Resource(
    name="checkins",
    entity="Checkin",
    model=Checkin,
    read=CheckinRead,
    create=CheckinCreate,
    parent="visitors",
    key="checkinId",
    references={"pcCode": "centers"},
    sortable=("creationDate", "updateDate", "pcCode", "serviceId"),
    filters=(Filter("pcCode", str, equals(Checkin.pc_code), "PC Code"),),
    operations={"create": 76, "list": 77, "get": 80, "delete": 81},
    imports=Imports(),
    example={"pcCode": "FR-SC-123", "serviceId": 12, "origin": "partner"},
)
