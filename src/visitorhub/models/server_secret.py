"""Secrets the service generates for itself and keeps (e.g. the event-token signing key when none is set)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, utcnow


class ServerSecret(Base):
    __tablename__ = "server_secret"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Sealed with VISITORHUB_SECRETS_KEY when it is set (core.secrets), as given otherwise.
    value: Mapped[str] = mapped_column(Text)
    creation_date: Mapped[datetime] = mapped_column(default=utcnow)
