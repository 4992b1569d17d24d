"""Locale bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from visitorhub.core.schemas import ApiModel
from visitorhub.domains.locales.catalog import LocaleCode


class LocaleRead(ApiModel):
    locale_code: str
    locale_label: str


class VisitorLocaleCreate(ApiModel):
    locale_code: LocaleCode


class VisitorLocaleRead(ApiModel):
    locale_code: str
    locale_label: str
    visitor_id: uuid.UUID
    creation_date: datetime
