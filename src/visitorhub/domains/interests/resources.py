"""Declaration of the interests resource."""

from __future__ import annotations

from visitorhub.core.resource import Imports, Resource, Unique
from visitorhub.domains.interests.schemas import InterestCreate, InterestRead
from visitorhub.domains.interests.service import InterestService
from visitorhub.models import Interest

interests = Resource(
    name="interests",
    entity="Interest",
    model=Interest,
    read=InterestRead,
    create=InterestCreate,
    service_class=InterestService,
    parent="visitors",
    key="interestId",
    unique=(
        Unique(("visitorId", "externalId"), message="Visitor {visitorId} already has interest {externalId}."),
    ),
    sortable=("creationDate", "updateDate", "label", "externalId"),
    operations={"create": 101, "list": 102, "get": 104, "delete": 105},
    imports=Imports(),
    example={"externalId": "fashion", "label": "Fashion"},
)
interest_service = interests.service_as(InterestService)
