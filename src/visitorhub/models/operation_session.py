"""Centre operation sessions (a visitor's play of a centre's game or contest) and the segments and
stores recorded for a session."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, BigIntId, TimestampMixin


class CenterOperationSession(TimestampMixin, Base):
    __tablename__ = "center_operation_session"

    guid: Mapped[str] = mapped_column(String(64), primary_key=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("visitor.visitor_id", ondelete="CASCADE"), index=True
    )
    pc_code: Mapped[str] = mapped_column(String(64), index=True)
    game_id: Mapped[str] = mapped_column(String(200), index=True)
    game_name: Mapped[str] = mapped_column(String(200))
    optin: Mapped[bool] = mapped_column(default=False)
    is_contest: Mapped[bool] = mapped_column(default=False)
    is_welcome_journey: Mapped[bool] = mapped_column(default=False)
    is_welcome_offer: Mapped[bool] = mapped_column(default=False)
    is_wifit: Mapped[bool] = mapped_column(default=False)
    is_synchronized: Mapped[bool] = mapped_column(default=False)


class CenterOperationSegment(TimestampMixin, Base):
    __tablename__ = "center_operation_segment"
    __table_args__ = (UniqueConstraint("guid", "id"),)

    center_operation_segment_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    guid: Mapped[str] = mapped_column(ForeignKey("center_operation_session.guid", ondelete="CASCADE"))
    id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))


class CenterOperationStore(TimestampMixin, Base):
    __tablename__ = "center_operation_store"
    __table_args__ = (UniqueConstraint("guid", "id"),)

    center_operation_store_id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    guid: Mapped[str] = mapped_column(ForeignKey("center_operation_session.guid", ondelete="CASCADE"))
    id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
