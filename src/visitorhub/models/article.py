"""Articles (news of the venue) with their translated titles and contents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId, TimestampMixin


class Article(TimestampMixin, Base):
    __tablename__ = "article"

    article_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    generic_name: Mapped[str] = mapped_column(String(200))
    main_image_url: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), index=True)
    publish_date: Mapped[datetime] = mapped_column(index=True)
    # [{localeCode, value, creationDate, updateDate}] (see domains/translations.py)
    title: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    content: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
