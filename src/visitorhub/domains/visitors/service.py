"""Visitor rules: unique e-mail, partial visitors upgraded by a full registration, opt-ins, external ids."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import func, select
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


class VisitorService(CrudService[Visitor]):
    def find_by_email(self, session: Session, email: str) -> Visitor | None:
        return session.scalars(select(Visitor).where(func.lower(Visitor.email) == email.lower())).first()

    def new_barcode(self, session: Session) -> str:
        """A unique 13-digit barcode (checked, since random codes can collide at millions of visitors)."""
        while True:
            code = f"{secrets.randbelow(10**13):013d}"
            if session.scalar(select(Visitor.visitor_id).where(Visitor.barcode == code)) is None:
                return code

    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        if self.find_by_email(session, values["email"]) is not None:
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
