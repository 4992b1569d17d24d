"""Credit-card bodies, field for field as the seed shows them: tokenized data only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.credit_cards.pan import has_card_number, texts
from visitorhub.domains.enums import CardType, ServiceType


class _NoCardNumbers(ApiModel):
    @field_validator("*", mode="before")
    @classmethod
    def _refuse_card_numbers(cls, value: Any) -> Any:
        # The message never repeats the value: it must not reach a response or a log either.
        if any(has_card_number(text) for text in texts(value)):
            raise PydanticCustomError(
                "card_number",
                "holds what looks like a full card number; send the paymentMethodToken of a tokenized "
                "card with its firstSixDigits and lastFourDigits only",
            )
        return value


class CreditCardCreate(_NoCardNumbers):
    first_name: str = Field(min_length=1, max_length=200)
    last_name: str = Field(min_length=1, max_length=200)
    # A string; the seed's sample sends a number (75000), accepted and stored as text.
    postal_code: str | None = Field(None, max_length=32, coerce_numbers_to_str=True)
    service_types: list[ServiceType] = Field(default_factory=list)
    year: int = Field(ge=2000, le=2100, examples=[2025])
    month: int = Field(ge=1, le=12, examples=[11])
    fingerprint: str = Field(min_length=1, max_length=200)
    card_type: CardType
    first_six_digits: str = Field(pattern=r"^\d{6}$", examples=["411111"])
    last_four_digits: str = Field(pattern=r"^\d{4}$", examples=["1111"])
    payment_method_token: str = Field(min_length=1, max_length=500, examples=["2kk1wXpfeVrzHJI6LfoOomX1yr1"])


class CreditCardUpdate(_NoCardNumbers):
    first_name: str = not_null(min_length=1, max_length=200)
    last_name: str = not_null(min_length=1, max_length=200)
    postal_code: str | None = Field(None, max_length=32, coerce_numbers_to_str=True)
    service_types: list[ServiceType] = not_null()
    year: int = not_null(ge=2000, le=2100)
    month: int = not_null(ge=1, le=12)
    # Not in the seed's update body: the soft delete's usual undo, as for vehicles.
    deletion_date: datetime | None = Field(None, description="Set to soft-delete, null to restore.")


class CreditCardRead(ApiModel):
    card_id: int
    visitor_id: uuid.UUID
    fingerprint: str
    payment_method_token: str
    good_thru: str = Field(description="MM/YYYY, from month and year")
    card_type: str
    first_six_digits: str
    last_four_digits: str
    deletion_date: datetime | None
    first_name: str
    last_name: str
    postal_code: str | None
    service_types: list[str]
    year: int
    month: int
    creation_date: datetime
    update_date: datetime
