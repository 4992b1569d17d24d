"""Article rules: translated titles and contents stored per locale, with their own dates."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from visitorhub.core.db import utcnow
from visitorhub.core.service import CrudService, WriteContext
from visitorhub.domains.translations import stored_translations
from visitorhub.models import Article

TRANSLATED = ("title", "content")


class ArticleService(CrudService[Article]):
    def prepare_create(self, session: Session, values: dict[str, Any], ctx: WriteContext) -> dict[str, Any]:
        now = utcnow()
        for attr in TRANSLATED:
            values[attr] = stored_translations(values.get(attr) or [], None, now)
        return values

    def prepare_update(
        self, session: Session, obj: Article, changes: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        now = utcnow()
        for attr in TRANSLATED:
            if changes.get(attr) is not None:
                changes[attr] = stored_translations(changes[attr], getattr(obj, attr), now)
        return changes
