"""Declaration of the smartparking-visits resource (its two operations are in endpoints.py)."""

from __future__ import annotations

from visitorhub.core.resource import Resource
from visitorhub.domains.smartparking.schemas import SmartParkingVisitRead
from visitorhub.domains.smartparking.service import SmartParkingVisitService
from visitorhub.models import SmartParkingVisit

smartparking_visits = Resource(
    name="smartparking-visits",
    entity="SmartParkingVisit",
    model=SmartParkingVisit,
    read=SmartParkingVisitRead,
    service_class=SmartParkingVisitService,
    parent="visitors",
    tag="smartparking",
    references={"pcCode": "centers"},
    sortable=("visitDate", "visitType"),
    default_sort="-visitDate",
)
smartparking_service = smartparking_visits.service_as(SmartParkingVisitService)
