"""Article bodies, field for field as the seed shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.enums import ArticleStatus
from visitorhub.domains.translations import ArticleTranslationRead, Translations


class ArticleCreate(ApiModel):
    generic_name: str = Field(min_length=1, max_length=200)
    main_image_url: str = Field(min_length=1, max_length=2048)
    status: ArticleStatus
    publish_date: datetime
    title: Translations = not_null()
    content: Translations = not_null()


class ArticleRead(ApiModel):
    generic_name: str
    main_image_url: str
    status: ArticleStatus
    publish_date: datetime
    creation_date: datetime
    update_date: datetime
    article_id: int
    title: list[ArticleTranslationRead]
    content: list[ArticleTranslationRead]
