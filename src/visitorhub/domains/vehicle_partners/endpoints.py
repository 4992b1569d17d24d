"""The vehicle-partner operation that is not plain CRUD: which parking partner serves which centres."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession
from visitorhub.core.responses import one
from visitorhub.core.router import ERROR_RESPONSES, READ, Router
from visitorhub.core.schemas import MetaDataEnvelope
from visitorhub.domains.enums import ParkingPartner
from visitorhub.domains.vehicle_partners.resources import vehicle_partners
from visitorhub.models import Center

router = Router(tags=[vehicle_partners.tag_name], responses=ERROR_RESPONSES)
MAPPINGS_SUMMARY = "Retrieve the centres of each parking partner, by country"


class MappingsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    isActive: bool | None = Field(None, description="Only active (true) or inactive (false) centres")


@router.get(
    "/vehicle-partners/mappings",
    **documented(134, MAPPINGS_SUMMARY),
    dependencies=READ,
    response_model=MetaDataEnvelope[dict[str, dict[str, list[str]]]],
    description="{parkingPartner: {country: [pcCode, ...]}} from the centres' parkingPartner: which partner "
    "a vehicle partner of a centre is registered with. Centres without a partner are left out; pcCodes "
    "are sorted.",
)
def parking_partner_mappings(
    request: Request, session: DbSession, query: Annotated[MappingsQuery, Query()]
) -> JSONResponse:
    stmt = select(Center.parking_partner, Center.country, Center.pc_code).where(
        Center.parking_partner.is_not(None)
    )
    if query.isActive is not None:
        stmt = stmt.where(Center.is_active.is_(query.isActive))
    mapping: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for partner, country, pc_code in session.execute(stmt.order_by(Center.pc_code)):
        mapping[partner or ""][country].append(pc_code)
    ordered = {
        partner.value: dict(sorted(mapping[partner.value].items()))
        for partner in ParkingPartner
        if partner.value in mapping
    }
    return one(ordered, url=request.url)
