"""Declaration of the optins resource."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, or_
from sqlalchemy.orm import aliased

from visitorhub.core.resource import Filter, Imports, Resource, equals
from visitorhub.domains.enums import OptinChannel, OptinType
from visitorhub.domains.optins.schemas import OptinCreate, OptinRead, OptinUpdate
from visitorhub.domains.optins.service import OptinService
from visitorhub.models import Optin


def _latest(stmt: Select[Any], value: bool) -> Select[Any]:
    """latest=true: only the newest opt-in of each (type, channel), the consent in force."""
    if not value:
        return stmt
    newer = aliased(Optin)
    return stmt.where(
        ~exists().where(
            newer.visitor_id == Optin.visitor_id,
            newer.optin_type == Optin.optin_type,
            newer.optin_channel == Optin.optin_channel,
            or_(
                newer.creation_date > Optin.creation_date,
                and_(newer.creation_date == Optin.creation_date, newer.optin_id > Optin.optin_id),
            ),
        )
    )


optins = Resource(
    name="optins",
    entity="Optin",
    model=Optin,
    read=OptinRead,
    create=OptinCreate,
    update=OptinUpdate,
    service_class=OptinService,
    parent="visitors",
    key="optinId",
    sortable=("creationDate", "updateDate", "optinDate", "optoutDate", "optinType", "optinChannel"),
    filters=(
        Filter("isActive", bool, equals(Optin.is_active), "Active (consent given) or not"),
        Filter("contextId", int, equals(Optin.context_id), "Context id"),
        Filter("latest", bool, _latest, "Only the newest opt-in of each optinType and optinChannel"),
        Filter("optinType", OptinType, equals(Optin.optin_type), "Type of opt-in"),
        Filter("optinChannel", OptinChannel, equals(Optin.optin_channel), "Channel of opt-in"),
    ),
    operations={"list": 115, "create": 116, "get": 118, "update": 119},
    descriptions={
        "list": "Every opt-in the visitor gave or withdrew, oldest first; latest=true keeps the newest of "
        "each optinType and optinChannel (the consent in force).",
        "create": "A new opt-in (the earlier ones of the same type and channel stay, as history): optinDate "
        "is now when isActive, optoutDate is now otherwise.",
        "update": "Only clientId and sendId change.",
    },
    imports=Imports(),
    example={"optinChannel": "email", "optinType": "commercial", "isActive": True, "clientId": "crm"},
    example_update={"sendId": "campaign-42"},
)
optin_service = optins.service_as(OptinService)
