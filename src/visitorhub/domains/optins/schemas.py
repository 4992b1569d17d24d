"""Opt-in bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel
from visitorhub.domains.enums import OptinChannel, OptinType


class OptinCreate(ApiModel):
    client_id: str | None = Field(None, max_length=200)
    send_id: str | None = Field(None, max_length=200)
    optin_channel: OptinChannel
    optin_type: OptinType
    legal_text_id: int | None = None
    is_active: bool
    last_opened_date: datetime | None = None
    context_id: int | None = None


class OptinUpdate(ApiModel):
    """Only the client and send ids change; consent itself changes by a new opt-in or a disable."""

    client_id: str | None = Field(None, max_length=200)
    send_id: str | None = Field(None, max_length=200)


class OptinRead(ApiModel):
    client_id: str | None
    send_id: str | None
    optin_channel: str
    optin_type: str
    legal_text_id: int | None
    is_active: bool
    last_opened_date: datetime | None
    context_id: int | None
    optin_id: int
    visitor_id: uuid.UUID
    optout_date: datetime | None
    optin_date: datetime | None
    creation_date: datetime
    update_date: datetime
