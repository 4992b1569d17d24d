"""Interest rules: the batch replaces a visitor's whole set, matched by externalId."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.service import CrudService, WriteContext
from visitorhub.errors import ValidationErrors
from visitorhub.models import Interest


class InterestService(CrudService[Interest]):
    def replace_all(
        self, session: Session, visitor_id: uuid.UUID, items: list[dict[str, Any]], ctx: WriteContext
    ) -> list[Interest]:
        """Make the visitor's interests exactly `items`: a known externalId keeps its record (its label
        updated when it differs), a new one is created, one left out is deleted. Returns them in item order."""
        seen: dict[str, int] = {}
        duplicates = []
        for index, item in enumerate(items):
            if item["external_id"] in seen:
                duplicates.append(
                    (
                        f"[{index}].externalId",
                        "duplicate",
                        f"[{index}].externalId: {item['external_id']} is also item {seen[item['external_id']]}.",
                    )
                )
            seen.setdefault(item["external_id"], index)
        if duplicates:
            raise ValidationErrors(duplicates)
        current = {
            row.external_id: row
            for row in session.scalars(select(Interest).where(Interest.visitor_id == visitor_id))
        }
        for external_id in sorted(current.keys() - seen.keys()):
            self.delete(session, current[external_id], ctx)
        result = []
        for item in items:
            existing = current.get(item["external_id"])
            if existing is None:
                result.append(self.create(session, {**item, "visitor_id": visitor_id}, ctx))
            else:
                self.update(session, existing, {"label": item["label"]}, ctx)
                result.append(existing)
        return result
