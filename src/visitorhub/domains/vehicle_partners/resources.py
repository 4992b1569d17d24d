"""Declaration of the vehicle-partners resource."""

from __future__ import annotations

from visitorhub.core.resource import Resource, Unique
from visitorhub.domains.vehicle_partners.schemas import VehiclePartnerCreate, VehiclePartnerRead
from visitorhub.domains.vehicle_partners.service import VehiclePartnerService
from visitorhub.models import VehiclePartner

vehicle_partners = Resource(
    name="vehicle-partners",
    entity="VehiclePartner",
    model=VehiclePartner,
    read=VehiclePartnerRead,
    create=VehiclePartnerCreate,
    service_class=VehiclePartnerService,
    parent="visitors",
    key="vehiclePartnerId",
    unique=(
        Unique(
            ("parkingPartner", "partnerId", "pcCode"),
            message="{parkingPartner} id {partnerId} already belongs to a vehicle.",
            field="partnerId",
        ),
    ),
    references={"vehicleId": "vehicles", "pcCode": "centers"},
    sortable=("creationDate", "updateDate", "parkingPartner"),
    operations={"create": 131, "list": 132, "delete": 133},
    descriptions={
        "create": "vehicleId, visitorCenterId (when given) and pcCode (when given) must name an existing "
        "vehicle, visitor-centre and centre: 422 naming the field otherwise. A partner's id "
        "(parkingPartner, partnerId, pcCode) belongs to one vehicle: 409 naming partnerId.",
    },
    example={
        "vehicleId": 1,
        "partnerId": "123-ABC-123",
        "parkingPartner": "smartparking_us",
        "pcCode": "FR-SC-75",
    },
)
