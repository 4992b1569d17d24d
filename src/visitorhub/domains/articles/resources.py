"""Declaration of the articles resource."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select

from visitorhub.core.resource import Filter, Resource, equals
from visitorhub.domains.articles.schemas import ArticleCreate, ArticleRead
from visitorhub.domains.articles.service import ArticleService
from visitorhub.domains.enums import ArticleStatus
from visitorhub.errors import InvalidInput
from visitorhub.models import Article


def _instant(raw: str, field: str, end_of_day: bool) -> datetime:
    """A date-time, or a date (the seed's examples): its first instant, or the next day's for `Until`."""
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), tzinfo=UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field}: '{raw}' is neither a date (2023-09-01) nor a date-time (2023-09-01T10:00:00Z).",
            field=field,
            code="invalid_date",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _since(stmt: Select[Any], raw: str) -> Select[Any]:
    return stmt.where(Article.publish_date >= _instant(raw, "publishDateSince", False))


def _until(stmt: Select[Any], raw: str) -> Select[Any]:
    if len(raw.strip()) == 10:  # a whole day: up to the next midnight, excluded
        return stmt.where(Article.publish_date < _instant(raw, "publishDateUntil", True))
    return stmt.where(Article.publish_date <= _instant(raw, "publishDateUntil", False))


articles = Resource(
    name="articles",
    entity="Article",
    model=Article,
    read=ArticleRead,
    create=ArticleCreate,
    service_class=ArticleService,
    key="articleId",
    sortable=("creationDate", "updateDate", "publishDate", "genericName", "status"),
    filters=(
        Filter("status", ArticleStatus, equals(Article.status), "Status of the article"),
        Filter("publishDateSince", str, _since, "publishDate on or after this date (2023-09-01) or instant"),
        Filter("publishDateUntil", str, _until, "publishDate on or before this date (2023-10-01) or instant"),
    ),
    operations={"create": 127, "list": 128, "get": 129, "update": 130},
    descriptions={"update": "A translated field given (title, content) replaces the previous one."},
    example={
        "genericName": "Christmas opening hours",
        "mainImageUrl": "https://cdn.example.com/christmas.jpg",
        "status": "draft",
        "publishDate": "2019-08-24T14:15:22Z",
        "title": [{"localeCode": "fr-FR", "value": "Horaires de Noël"}],
        "content": [{"localeCode": "fr-FR", "value": "Ouvert tous les jours de 9 h à 22 h."}],
    },
    example_update={"status": "published", "genericName": "Christmas and New Year opening hours"},
)
