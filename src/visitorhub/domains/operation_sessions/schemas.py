"""Centre operation session bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from visitorhub.core.schemas import ApiModel

MAX_ITEMS = 500


class CenterOperationSessionCreate(ApiModel):
    pc_code: str = Field(min_length=1, max_length=64, examples=["FR-SC-123"])
    guid: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        examples=["2e90f356-e66f-4332-b108-08c7b27a6d08"],
        description="The session's id; the server generates a UUID when it is left out. Unique.",
    )
    game_id: str = Field(min_length=1, max_length=200, examples=["2e90f356-e66f-4332-b108-08c7b27a6d08"])
    game_name: str = Field(min_length=1, max_length=200, examples=["La Bonne Excuse"])
    optin: bool = False
    is_contest: bool = False
    is_welcome_journey: bool = False
    is_welcome_offer: bool = False
    is_wifit: bool = False
    is_synchronized: bool = False


class CenterOperationSessionRead(ApiModel):
    visitor_id: uuid.UUID
    pc_code: str
    guid: str
    game_id: str
    game_name: str
    optin: bool
    is_contest: bool
    is_welcome_journey: bool
    is_welcome_offer: bool
    is_wifit: bool
    is_synchronized: bool
    creation_date: datetime
    update_date: datetime


class CenterOperationItem(ApiModel):
    """A segment or a store of a session; a numeric id (the seed's store sample) is taken as text."""

    model_config = ConfigDict(**ApiModel.model_config, coerce_numbers_to_str=True)

    id: str = Field(min_length=1, max_length=200, examples=["543db247-4b07-4cc8-ba04-96cb28b58e43"])
    name: str = Field(min_length=1, max_length=200, examples=["Moda y accesorios"])


class CenterOperationItemRead(ApiModel):
    """A segment or store as stored (the change log's representation)."""

    guid: str
    id: str
    name: str
    creation_date: datetime
    update_date: datetime


class CenterOperationItemAdded(ApiModel):
    id: str
    name: str
    creation_date: datetime
    update_date: datetime


class CenterOperationItemsResult(ApiModel):
    success: list[CenterOperationItemAdded] = Field(description="Items added to the session.")
    failed: list[CenterOperationItem] = Field(
        description="Items not added: the session already had one with that id, or the body repeats it."
    )
