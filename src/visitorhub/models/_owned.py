"""What every record a visitor owns shares: its visitor, and the index its lists and cascades use."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from visitorhub.core.db import TimestampMixin
from visitorhub.models.visitor import Visitor


class OwnedByVisitor(TimestampMixin):
    """visitor_id (deleted with the visitor) and the relationship the unit of work orders inserts by."""

    visitor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visitor.visitor_id", ondelete="CASCADE"))

    @declared_attr
    def visitor(cls) -> Mapped[Visitor]:
        # Declared so the unit of work inserts a new visitor before records that point to it (bulk imports
        # flush both at once); never loaded.
        return relationship(Visitor, lazy="raise", viewonly=False)
