"""Centre operation session rules: the server numbers sessions; segments and stores are added per item."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.resource import Resource
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.models import CenterOperationSession


class CenterOperationSessionService(CrudService[CenterOperationSession]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        if values.get("guid") is None:
            values["guid"] = str(uuid.uuid4())
        return values


def add_items(
    session: Session, resource: Resource, guid: str, items: list[dict[str, Any]], ctx: WriteContext
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Add segments or stores (`resource`) to session `guid`, each on its own: (added records, items
    refused because the session already has their id or the body repeats it)."""
    model: Any = resource.model
    taken = set(session.scalars(select(model.id).where(model.guid == guid)))
    added: list[Any] = []
    failed: list[dict[str, Any]] = []
    for item in items:
        if item["id"] in taken:
            failed.append(item)
            continue
        taken.add(item["id"])
        added.append(resource.service.create(session, {**item, "guid": guid}, ctx))
    return added, failed
