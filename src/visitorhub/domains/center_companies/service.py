"""Center company rules: a company that visitor-centres point to is not deleted under them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from visitorhub.core.service import CrudService, WriteContext
from visitorhub.errors import Conflict
from visitorhub.models import CenterCompany, VisitorCenter


class CenterCompanyService(CrudService[CenterCompany]):
    def purge(self, session: Session, obj: CenterCompany, ctx: WriteContext | None = None) -> None:
        used = session.scalar(
            select(func.count()).where(VisitorCenter.center_company_id == obj.center_company_id)
        )
        if used:
            raise Conflict(
                f"Center company {obj.center_company_id} is the company of {used} visitor-centre(s) "
                "(centerCompanyId): change or clear theirs first.",
                field="centerCompanyId",
                code="in_use",
            )
        super().purge(session, obj, ctx)
