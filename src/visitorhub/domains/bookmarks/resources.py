"""Declaration of the bookmarks resource."""

from __future__ import annotations

from visitorhub.core.resource import Filter, Resource, Unique, equals
from visitorhub.domains.bookmarks.schemas import BookmarkCreate, BookmarkRead
from visitorhub.domains.enums import BookmarkType
from visitorhub.models import Bookmark

bookmarks = Resource(
    name="bookmarks",
    entity="Bookmark",
    model=Bookmark,
    read=BookmarkRead,
    create=BookmarkCreate,
    parent="visitors",
    key="bookmarkId",
    unique=(
        Unique(
            ("visitorId", "pcCode", "bookmarkType", "externalId"),
            message="Visitor {visitorId} already bookmarked {bookmarkType} {externalId} at {pcCode}.",
        ),
    ),
    references={"pcCode": "centers"},
    sortable=("creationDate", "updateDate", "label", "bookmarkType"),
    filters=(Filter("bookmarkType", BookmarkType, equals(Bookmark.bookmark_type), "Type of bookmark"),),
    operations={"create": 31, "list": 32, "get": 33, "delete": 34},
    example={
        "pcCode": "FR-SC-123",
        "externalId": "647392",
        "label": "adidas",
        "bookmarkType": "store",
        "source": "visitor",
    },
)
