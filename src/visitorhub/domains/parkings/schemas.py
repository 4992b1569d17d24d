"""Parking and parking-history bodies, field for field as the seed shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from visitorhub.core.schemas import ApiModel, not_null
from visitorhub.domains.enums import Currency, ParkingPartner, PaymentStatus


class ParkingCreate(ApiModel):
    parking_partner: ParkingPartner


class ParkingRead(ApiModel):
    visitor_id: uuid.UUID
    parking_id: int
    is_active: bool
    subscription_date: datetime
    unsubscribed_at: datetime | None
    parking_partner: str
    creation_date: datetime
    update_date: datetime


class _SessionFields(ApiModel):
    """What a parking history's create and update share (every one optional on update)."""

    parking_session_start: datetime = not_null()
    parking_session_end: datetime = not_null()
    parking_session_id: int | None = None
    amount: int = not_null(description="Amount paid, in the currency's minor unit or as the partner sends it")
    formatted_total_time: str = not_null(max_length=64)
    paid_at: datetime = not_null()
    paid_at_kiosk: bool | None = None
    refunded_amount: float | None = None
    payment_status: PaymentStatus = not_null()
    total_time: int = not_null(ge=0)
    transaction_full_amount: float | None = None
    transaction_id: str | None = Field(None, max_length=200)
    transaction_pretax_amount: float | None = None
    transaction_tax_amount: float | None = None
    validation_amount: float | None = None
    vendor_id: str = not_null(max_length=200)
    exit_access_device: str | None = Field(None, max_length=200)


class ParkingHistoryCreate(_SessionFields):
    currency: Currency
    access_device: str = Field(min_length=1, max_length=200, description="Licence plate or barcode")
    parking_id: int = Field(description="A parking of the visitor")
    card_id: int = Field(description="A credit card of the visitor")
    pc_code: str = Field(min_length=1, max_length=64)


class ParkingHistoryUpdate(_SessionFields):
    currency: Currency = not_null()
    access_device: str = not_null(min_length=1, max_length=200)


class ParkingHistoryRead(ApiModel):
    card_id: int
    parking_id: int
    parking_history_id: int
    visitor_id: uuid.UUID
    pc_code: str
    parking_session_id: int | None
    parking_session_start: datetime | None
    parking_session_end: datetime | None
    amount: int | None
    currency: str
    access_device: str
    exit_access_device: str | None
    formatted_total_time: str | None
    paid_at: datetime | None
    paid_at_kiosk: bool | None
    refunded_amount: float | None
    payment_status: str | None
    total_time: int | None
    transaction_full_amount: float | None
    transaction_id: str | None
    transaction_pretax_amount: float | None
    transaction_tax_amount: float | None
    validation_amount: float | None
    vendor_id: str | None
    creation_date: datetime
    update_date: datetime


class ParkingSummaryRead(ApiModel):
    year: int
    month: int
    total_amount: int
    currency: str
    total_histories: int
