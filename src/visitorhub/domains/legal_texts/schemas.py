"""Legal text bodies, field for field as the seed shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.enums import LegalType

SHORT_TEXT = 10_000
DOCUMENT_TEXT = 1_000_000


class LegalTextCreate(ApiModel):
    type: LegalType
    release_date: datetime = Field(description="When the version takes effect; it may be in the future.")
    require_consent: bool = Field(True, description="Visitors must consent to this version.")


class LegalTextUpdate(ApiModel):
    release_date: datetime = not_null()
    require_consent: bool = not_null()


class LegalTextRead(ApiModel):
    creation_date: datetime
    update_date: datetime
    type: LegalType
    release_date: datetime
    require_consent: bool
    optin_display_text: str | None = Field(None, description="In the list's `locale`; null without one.")
    optin_header_text: str | None = Field(None, description="In the list's `locale`; null without one.")
    document_text: str | None = Field(None, description="In the list's `locale`; null without one.")
    id: int
    version: int = Field(description="1 for the first text of its type, then one more for each new one.")
    legal_text_id: int = Field(description="The same as id: the name its paths and locales give it.")


class LegalTextLocaleCreate(ApiModel):
    optin_display_text: str | None = Field(max_length=SHORT_TEXT)
    optin_header_text: str | None = Field(max_length=SHORT_TEXT)
    document_text: str | None = Field(max_length=DOCUMENT_TEXT)


class LegalTextLocaleUpdate(ApiModel):
    optin_display_text: str | None = Field(None, max_length=SHORT_TEXT)
    optin_header_text: str | None = Field(None, max_length=SHORT_TEXT)
    document_text: str | None = Field(None, max_length=DOCUMENT_TEXT)


class LegalTextLocaleRead(ApiModel):
    optin_display_text: str | None
    optin_header_text: str | None
    document_text: str | None
    legal_text_id: int
    locale_code: str
    creation_date: datetime
    update_date: datetime


class RequiredConsentRead(ApiModel):
    legal_text_id: int = Field(description="The latest released version of its type.")
    require_consent: bool
