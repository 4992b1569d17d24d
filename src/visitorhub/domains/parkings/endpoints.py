"""The parking-history summary: amounts and session counts per month in the visitor's time zone."""

from __future__ import annotations

import uuid
import zoneinfo
from collections import defaultdict
from functools import cache
from operator import itemgetter
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select

from visitorhub.core.catalogue import documented
from visitorhub.core.db import as_utc
from visitorhub.core.deps import DbSession
from visitorhub.core.listing import PageQuery
from visitorhub.core.responses import page
from visitorhub.core.router import ERROR_RESPONSES, READ, Router, check_parent
from visitorhub.core.schemas import ListEnvelope
from visitorhub.domains.parkings.resources import access_device_is, parking_histories
from visitorhub.domains.parkings.schemas import ParkingSummaryRead
from visitorhub.errors import BadRequest, InvalidInput
from visitorhub.models import ParkingHistory

router = Router(tags=[parking_histories.tag_name], responses=ERROR_RESPONSES)
SUMMARY_FIELDS = ("year", "month", "totalAmount", "currency", "totalHistories")
DEFAULT_SORT = "-year,-month,currency"


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name` (422 naming timezone when there is none by that name)."""
    if name not in _zone_names():
        raise InvalidInput(
            f"timezone '{name}' is not an IANA time zone name (such as Europe/Paris or UTC).",
            field="timezone",
            code="unknown_timezone",
        )
    return zoneinfo.ZoneInfo(name)


class SummaryQuery(PageQuery):
    timezone: str = Field(description="IANA time zone the months are counted in", examples=["Europe/Paris"])
    parkingId: int | None = Field(None, description="Parking ID")
    accessDevice: str | None = Field(
        None, description="Licence plate or barcode (accessDevice or exitAccessDevice)"
    )
    pcCode: str | None = Field(None, description="pcCode")


def _sort_keys(raw: str | None) -> list[str]:
    names = [part.strip() for part in (raw or DEFAULT_SORT).split(",")]
    for name in names:
        if name.lstrip("-") not in SUMMARY_FIELDS:
            raise BadRequest(
                f"Cannot sort by '{name.lstrip('-')}'; sortable fields: {', '.join(SUMMARY_FIELDS)}.",
                field="sort",
                code="unknown_field",
            )
    return names


@router.get(
    "/visitors/{visitorId}/parking-histories/summary",
    **documented(91),
    dependencies=READ,
    response_model=ListEnvelope[ParkingSummaryRead],
    description="One item per month and currency: the month (year, month) in `timezone` of each session's "
    "start (its creationDate when it has none), totalAmount the sum of the amounts, totalHistories the "
    "number of sessions. Newest month first unless sorted otherwise (year, month, totalAmount, currency, "
    "totalHistories).",
)
def summarize_parking_histories(
    request: Request,
    session: DbSession,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    query: Annotated[SummaryQuery, Query()],
) -> JSONResponse:
    zone = time_zone(query.timezone)
    sort = _sort_keys(query.sort)
    check_parent(session, parking_histories, {"visitorId": visitor_id})
    stmt = select(
        ParkingHistory.parking_session_start,
        ParkingHistory.creation_date,
        ParkingHistory.amount,
        ParkingHistory.currency,
    ).where(ParkingHistory.visitor_id == visitor_id)
    if query.parkingId is not None:
        stmt = stmt.where(ParkingHistory.parking_id == query.parkingId)
    if query.accessDevice is not None:
        stmt = stmt.where(access_device_is(query.accessDevice))
    if query.pcCode is not None:
        stmt = stmt.where(ParkingHistory.pc_code == query.pcCode)
    totals: dict[tuple[int, int, str], list[int]] = defaultdict(lambda: [0, 0])
    for start, created, amount, currency in session.execute(stmt):
        local = as_utc(start or created).astimezone(zone)
        bucket = totals[(local.year, local.month, currency)]
        bucket[0] += amount or 0
        bucket[1] += 1
    rows: list[dict[str, Any]] = [
        {"year": y, "month": m, "totalAmount": total, "currency": c, "totalHistories": count}
        for (y, m, c), (total, count) in totals.items()
    ]
    for name in reversed(sort):  # stable sorts, last key first
        rows.sort(key=itemgetter(name.lstrip("-")), reverse=name.startswith("-"))
    return page(request.url, rows[query.offset : query.offset + query.limit + 1], query, lambda row: row)
