"""Visitor rules: unique e-mail, partial visitors upgraded by a full registration, opt-ins, external ids."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from visitorhub.core.db import utcnow
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.domains.centers.service import visitor_center_service
from visitorhub.domains.enums import AccountType
from visitorhub.domains.vehicles.service import vehicle_service
from visitorhub.domains.visitors.schemas import ExternalIdRead, OptinRead, VisitorRead
from visitorhub.errors import Conflict
from visitorhub.models import ExternalId, Optin, Vehicle, Visitor, VisitorCenter

ORIGIN_TYPE_API = "api"


class OptinService(CrudService[Optin]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        now = utcnow()
        values["optin_date"] = now if values["is_active"] else None
        values["optout_date"] = None if values["is_active"] else now
        return values


class ExternalIdService(CrudService[ExternalId]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        pc_code = values.get("pc_code")
        same_slot = self.find(session, values["visitor_id"], values["external_type"], pc_code)
        if same_slot:
            where = f" at {pc_code}" if pc_code else ""
            raise Conflict(
                f"Visitor already has a {values['external_type']} external id{where}.",
                field="externalType",
                code="duplicate",
            )
        owner = session.scalars(
            select(ExternalId).where(
                ExternalId.external_type == values["external_type"],
                ExternalId.external_id == values["external_id"],
                func.coalesce(ExternalId.pc_code, "") == (pc_code or ""),
            )
        ).first()
        if owner:
            raise Conflict(
                f"{values['external_type']} id {values['external_id']} already belongs to another visitor.",
                field="externalId",
                code="duplicate",
            )
        return values

    def find(
        self, session: Session, visitor_id: uuid.UUID, external_type: str, pc_code: str | None
    ) -> ExternalId | None:
        return session.scalars(
            select(ExternalId).where(
                ExternalId.visitor_id == visitor_id,
                ExternalId.external_type == external_type,
                func.coalesce(ExternalId.pc_code, "") == (pc_code or ""),
            )
        ).first()


_BATCH_KEY = "visitorhub.visitor_batch"
_IN_LIST = 500  # values per IN (...) list: well under every backend's parameter limit


@dataclass
class _Preloaded:
    """What VisitorService.batch looked up for a batch of creations (valid until the next flush)."""

    emails_checked: set[str] = field(default_factory=set)  # lower-cased e-mails looked up
    emails_taken: set[str] = field(default_factory=set)  # those of them some visitor already has
    barcodes: list[str] = field(default_factory=list)  # distinct codes no visitor has


@event.listens_for(Session, "after_flush")
def _forget_preloaded(session: Session, _flush_context: Any) -> None:
    """A flush may add visitors: preloaded answers no longer hold, prepare_create queries again."""
    session.info.pop(_BATCH_KEY, None)


def _random_barcode() -> str:
    return f"{secrets.randbelow(10**13):013d}"


class VisitorService(CrudService[Visitor]):
    def find_by_email(self, session: Session, email: str) -> Visitor | None:
        return session.scalars(select(Visitor).where(func.lower(Visitor.email) == email.lower())).first()

    def email_taken(self, session: Session, email: str) -> bool:
        preloaded: _Preloaded | None = session.info.get(_BATCH_KEY)
        lowered = email.lower()
        if preloaded is not None and lowered in preloaded.emails_checked:
            return lowered in preloaded.emails_taken
        return self.find_by_email(session, email) is not None

    def new_barcode(self, session: Session) -> str:
        """A unique 13-digit barcode (checked, since random codes can collide at millions of visitors)."""
        preloaded: _Preloaded | None = session.info.get(_BATCH_KEY)
        if preloaded is not None and preloaded.barcodes:
            return preloaded.barcodes.pop()
        while True:
            code = _random_barcode()
            if session.scalar(select(Visitor.visitor_id).where(Visitor.barcode == code)) is None:
                return code

    @contextmanager
    def batch(self, session: Session, candidates: Sequence[dict[str, Any]]) -> Iterator[None]:
        """The e-mail check and the barcode check of prepare_create, for a whole batch: one query per 500
        candidates each, instead of two queries per visitor. Same conditions as the per-visitor queries;
        skipped when the session autoflushes (those queries would then also see pending visitors)."""
        if session.autoflush or not candidates:
            yield
            return
        preloaded = _Preloaded()
        emails = sorted({v["email"].lower() for v in candidates if isinstance(v.get("email"), str)})
        lowered = func.lower(Visitor.email)
        for start in range(0, len(emails), _IN_LIST):
            part = emails[start : start + _IN_LIST]
            preloaded.emails_taken.update(session.scalars(select(lowered).where(lowered.in_(part))))
            preloaded.emails_checked.update(part)
        codes: set[str] = set()
        while len(codes) < len(candidates):
            codes.add(_random_barcode())
        code_list = list(codes)
        for start in range(0, len(code_list), _IN_LIST):
            part = code_list[start : start + _IN_LIST]
            codes.difference_update(session.scalars(select(Visitor.barcode).where(Visitor.barcode.in_(part))))
        preloaded.barcodes = list(codes)
        previous = session.info.get(_BATCH_KEY)
        session.info[_BATCH_KEY] = preloaded
        try:
            yield
        finally:
            if previous is None:
                session.info.pop(_BATCH_KEY, None)
            else:
                session.info[_BATCH_KEY] = previous

    def insert_many(self, session: Session, records: Sequence[Visitor]) -> None:
        super().insert_many(session, records)
        session.info.pop(_BATCH_KEY, None)  # as after a flush: the new visitors make preloaded answers stale

    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        if self.email_taken(session, values["email"]):
            raise Conflict(
                f"A visitor with email {values['email']} already exists.", field="email", code="duplicate"
            )
        values.setdefault("account_type", AccountType.full.value)
        if values["account_type"] == AccountType.full.value:
            values.setdefault("registration_date", utcnow())
        values.setdefault("visitor_id", uuid.uuid4())
        values.setdefault("barcode", self.new_barcode(session))
        values.setdefault("origin_type", ORIGIN_TYPE_API)
        values.setdefault("origin", ctx.actor)
        return values

    def prepare_update(
        self, session: Session, obj: Visitor, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        email = changes.get("email")
        if email is not None and email.lower() != obj.email.lower():
            other = self.find_by_email(session, email)
            if other is not None and other.visitor_id != obj.visitor_id:
                raise Conflict(
                    f"A visitor with email {email} already exists.", field="email", code="duplicate"
                )
        return changes

    def register(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> Visitor:
        """A full registration; an existing partial visitor with the same e-mail is upgraded in place."""
        optins = values.pop("optins", [])
        existing = self.find_by_email(session, values["email"])
        if existing is not None and existing.account_type == AccountType.partial:
            # Merge: what the registration gives wins, what it leaves empty keeps the partial's value.
            changes = {k: v for k, v in values.items() if v is not None and k != "acquisition_pc_code"}
            changes.update(
                upgrade_pc_code=values["acquisition_pc_code"],
                account_type=AccountType.full.value,
                registration_date=utcnow(),
            )
            self.update(session, existing, changes, ctx)
            visitor = existing
        else:
            visitor = self.create(session, values, ctx)
        self.add_optins(session, visitor, optins, ctx)
        return visitor

    def register_partial(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> Visitor:
        """A partial visitor; its preferred centre becomes its acquisition centre and a favourite."""
        optins = values.pop("optins", [])
        preferred = values.pop("preferred_center")
        values.update(account_type=AccountType.partial.value, acquisition_pc_code=preferred)
        visitor = self.create(session, values, ctx)
        visitor_center_service.create(
            session, {"visitor_id": visitor.visitor_id, "pc_code": preferred, "is_favorite": True}, ctx
        )
        self.add_optins(session, visitor, optins, ctx)
        return visitor

    def add_optins(
        self, session: Session, visitor: Visitor, optins: list[dict[str, Any]], ctx: WriteContext
    ) -> None:
        for optin in optins:
            optin_service.create(session, {**optin, "visitor_id": visitor.visitor_id}, ctx)

    def before_delete(self, session: Session, obj: Visitor, ctx: WriteContext) -> None:
        """Dependants go first, each through its own service, so every deletion reaches the change log."""
        vid = obj.visitor_id
        for optin in session.scalars(select(Optin).where(Optin.visitor_id == vid)):
            optin_service.delete(session, optin, ctx)
        for ext in session.scalars(select(ExternalId).where(ExternalId.visitor_id == vid)):
            external_id_service.delete(session, ext, ctx)
        for vehicle in session.scalars(select(Vehicle).where(Vehicle.visitor_id == vid)):
            vehicle_service.purge(session, vehicle, ctx)
        for link in session.scalars(select(VisitorCenter).where(VisitorCenter.visitor_id == vid)):
            visitor_center_service.delete(session, link, ctx)


visitor_service = VisitorService(Visitor, "Visitor", VisitorRead)
optin_service = OptinService(Optin, "Optin", OptinRead)
external_id_service = ExternalIdService(ExternalId, "ExternalId", ExternalIdRead)
