"""Integration templates saved through the API or the CLI (built-in ones ship as files, not rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from visitorhub.core.db import Base, utcnow


class IntegrationTemplate(Base):
    __tablename__ = "integration_template"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text, default="")
    # The validated template in its native form (loaders.dump_template): what imports and exports run.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The text as it was sent (XML, YAML or JSON), so that its author gets back what they wrote.
    source: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(8))
    creation_date: Mapped[datetime] = mapped_column(default=utcnow)
    update_date: Mapped[datetime] = mapped_column(default=utcnow)
