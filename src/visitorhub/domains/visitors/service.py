"""Visitor rules: partial visitors upgraded by a full registration, the opt-ins given with it, barcodes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.db import new_uuid, one_of, utcnow
from visitorhub.core.service import IN_LIST, CrudService, WriteContext
from visitorhub.domains.enums import AccountType
from visitorhub.models import Visitor

ORIGIN_TYPE_API = "api"
_BARCODES = "visitorhub.free_barcodes"  # session.info: barcodes checked free for a batch


def _random_barcode() -> str:
    return f"{secrets.randbelow(10**13):013d}"


class VisitorService(CrudService[Visitor]):
    def find_by_email(self, session: Session, email: str) -> Visitor | None:
        column = self._unique_columns(self.resource.unique[0])[0]
        return session.scalars(select(Visitor).where(column == email.lower())).first()

    def new_barcode(self, session: Session) -> str:
        """A unique 13-digit barcode (checked, since random codes can collide at millions of visitors)."""
        free: list[str] | None = session.info.get(_BARCODES)
        if free:
            return free.pop()
        while True:
            code = _random_barcode()
            if session.scalar(select(Visitor.visitor_id).where(Visitor.barcode == code)) is None:
                return code

    @contextmanager
    def batch(self, session: Session, candidates: Sequence[dict[str, Any]]) -> Iterator[None]:
        """The generic unique lookups, plus the barcodes of a whole batch: one query per 500 candidates
        instead of one per visitor."""
        with super().batch(session, candidates):
            if session.autoflush or not candidates:
                yield
                return
            codes: set[str] = set()
            while len(codes) < len(candidates):
                codes.add(_random_barcode())
            code_list = list(codes)
            for start in range(0, len(code_list), IN_LIST):
                part = code_list[start : start + IN_LIST]
                codes.difference_update(
                    session.scalars(
                        select(Visitor.barcode).where(one_of(Visitor.__table__.c.barcode, part, session))
                    )
                )
            session.info[_BARCODES] = list(codes)
            try:
                yield
            finally:
                session.info.pop(_BARCODES, None)

    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        values.setdefault("account_type", AccountType.full.value)
        if values["account_type"] == AccountType.full.value:
            values.setdefault("registration_date", utcnow())
        values.setdefault("visitor_id", new_uuid())
        values.setdefault("barcode", self.new_barcode(session))
        values.setdefault("origin_type", ORIGIN_TYPE_API)
        values.setdefault("origin", ctx.actor)
        return values

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
        from visitorhub.domains.centers.resources import visitor_centers

        optins = values.pop("optins", [])
        preferred = values.pop("preferred_center")
        values.update(account_type=AccountType.partial.value, acquisition_pc_code=preferred)
        visitor = self.create(session, values, ctx)
        visitor_centers.service.create(
            session, {"visitor_id": visitor.visitor_id, "pc_code": preferred, "is_favorite": True}, ctx
        )
        self.add_optins(session, visitor, optins, ctx)
        return visitor

    def add_optins(
        self, session: Session, visitor: Visitor, optins: list[dict[str, Any]], ctx: WriteContext
    ) -> None:
        from visitorhub.domains.optins.resources import optins as optin_resource

        for optin in optins:
            optin_resource.service.create(session, {**optin, "visitor_id": visitor.visitor_id}, ctx)
