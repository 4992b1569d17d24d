"""Legal text rules: versions numbered per type, the latest released version of each type, and the
consents a visitor owes for the centres they belong to (and one they are joining)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from visitorhub.core.db import utcnow
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.domains.enums import LegalType, ParkingPartner
from visitorhub.models import Center, LegalText, Optin, Visitor, VisitorCenter

# EU member states and the rest of the EEA: where privacy_eu applies.
EEA_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "IS",
        "LI",
        "NO",
    ]
)

# Which centres a legal type concerns; a type absent here concerns every visitor.
CenterRule = Callable[[Center], bool]
CENTER_RULES: dict[LegalType, CenterRule] = {
    LegalType.loyalty: lambda c: bool(c.has_loyalty or c.has_basic_loyalty),
    LegalType.privacy_eu: lambda c: c.country in EEA_COUNTRIES,
    LegalType.privacy_us: lambda c: c.country == "US",
    LegalType.sms_us: lambda c: c.country == "US",
    LegalType.smartparking_us: lambda c: c.parking_partner == ParkingPartner.smartparking_us,
}


class LegalTextService(CrudService[LegalText]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        # A new text of a type is its next version: it takes effect at its releaseDate, and visitors who
        # consented to an earlier version owe a new consent from then on.
        latest = session.scalar(select(func.max(LegalText.version)).where(LegalText.type == values["type"]))
        values["version"] = (latest or 0) + 1
        return values


def latest_released(stmt: Select[Any], now: datetime) -> Select[Any]:
    """`stmt` (over LegalText) narrowed to the latest released version of each type: the greatest
    releaseDate not after `now` (the greatest version on a tie)."""
    newer = aliased(LegalText)
    return stmt.where(
        LegalText.release_date <= now,
        ~exists().where(
            newer.type == LegalText.type,
            newer.release_date <= now,
            or_(
                newer.release_date > LegalText.release_date,
                and_(newer.release_date == LegalText.release_date, newer.version > LegalText.version),
            ),
        ),
    )


def visitor_centers(session: Session, visitor: Visitor, new_center: Center | None) -> list[Center]:
    """The centres a visitor belongs to: acquisition and upgrade centres, visitor-centres, and the one
    they are joining."""
    codes: set[str] = {code for code in (visitor.acquisition_pc_code, visitor.upgrade_pc_code) if code}
    codes.update(
        session.scalars(select(VisitorCenter.pc_code).where(VisitorCenter.visitor_id == visitor.visitor_id))
    )
    centers = list(session.scalars(select(Center).where(Center.pc_code.in_(codes)))) if codes else []
    if new_center is not None and new_center.pc_code not in codes:
        centers.append(new_center)
    return centers


def concerned(legal_type: str, centers: Iterable[Center]) -> bool:
    rule = CENTER_RULES.get(LegalType(legal_type))
    return rule is None or any(rule(center) for center in centers)


def required_consents(
    session: Session, visitor: Visitor, new_center: Center | None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """For each legal type that concerns the visitor's centres and has a released version: that
    version, and whether the visitor must consent to it (it asks for consent and the visitor has no
    active opt-in for that very version)."""
    now = now or utcnow()
    centers = visitor_centers(session, visitor, new_center)
    order = {legal_type.value: index for index, legal_type in enumerate(LegalType)}
    texts = sorted(
        (
            text
            for text in session.scalars(latest_released(select(LegalText), now))
            if concerned(text.type, centers)
        ),
        key=lambda text: order.get(text.type, len(order)),
    )
    consented = _consented(session, visitor.visitor_id, [text.id for text in texts])
    return [
        {"legalTextId": text.id, "requireConsent": bool(text.require_consent and text.id not in consented)}
        for text in texts
    ]


def _consented(session: Session, visitor_id: uuid.UUID, legal_text_ids: list[int]) -> set[int]:
    if not legal_text_ids:
        return set()
    rows = session.scalars(
        select(Optin.legal_text_id).where(
            Optin.visitor_id == visitor_id,
            Optin.is_active.is_(True),
            Optin.legal_text_id.in_(legal_text_ids),
        )
    )
    return {row for row in rows if row is not None}
