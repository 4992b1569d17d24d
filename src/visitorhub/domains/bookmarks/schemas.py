"""Bookmark bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel
from visitorhub.domains.enums import BookmarkSource, BookmarkType


class BookmarkCreate(ApiModel):
    pc_code: str = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    # A string; the seed's sample sends a number (647392), accepted and stored as its digits.
    external_id: str = Field(min_length=1, max_length=200, coerce_numbers_to_str=True, examples=["647392"])
    label: str = Field(min_length=1, max_length=200)
    bookmark_type: BookmarkType
    source: BookmarkSource


class BookmarkRead(ApiModel):
    bookmark_id: int
    visitor_id: uuid.UUID
    pc_code: str
    external_id: str
    label: str
    bookmark_type: str
    source: str
    creation_date: datetime
    update_date: datetime
