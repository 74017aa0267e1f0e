"""The one set of types shared by the API, the pages and the Python client.

Field names are snake_case in Python and camelCase on the wire, as in the brief's API.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

TierType = Literal["VIP", "FRONT_ROW", "GA"]
BookingStatus = Literal["PENDING", "CONFIRMED", "FAILED", "EXPIRED", "CANCELLED"]

MAX_TICKETS_PER_BOOKING = 10


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True, frozen=True
    )


def format_money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class TicketTier(ApiModel):
    id: uuid.UUID
    concert_id: uuid.UUID
    tier_type: TierType
    price_cents: int
    price: str = Field(description="Price in major units, e.g. '100.00'")
    currency: str
    total_quantity: int
    available_quantity: int


class Concert(ApiModel):
    id: uuid.UUID
    name: str
    artist: str
    venue: str
    description: str
    date: datetime
    ticket_tiers: list[TicketTier]
    has_available_tickets: bool
    lowest_price_cents: int | None


class Booking(ApiModel):
    id: uuid.UUID
    user_id: uuid.UUID
    concert_id: uuid.UUID
    concert_name: str
    ticket_tier_id: uuid.UUID
    tier_type: TierType
    quantity: int
    unit_price_cents: int
    total_cents: int
    total_price: str
    currency: str
    status: BookingStatus
    hold_expires_at: datetime
    created_at: datetime


class BookingRequest(ApiModel):
    """Body of POST /api/bookings. Unknown fields are refused, quantity must be a JSON integer."""

    model_config = ConfigDict(extra="forbid")

    ticket_tier_id: Annotated[StrictStr, Field(max_length=64)]
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_TICKETS_PER_BOOKING)]
    idempotency_key: Annotated[StrictStr | None, Field(max_length=64)] = None
    # The brief's clients send their userId; it must be the caller's own.
    user_id: Annotated[StrictStr | None, Field(max_length=64)] = None


T = TypeVar("T")


class ListEnvelope(ApiModel, Generic[T]):
    success: bool = True
    data: list[T]
    count: int


class ItemEnvelope(ApiModel, Generic[T]):
    success: bool = True
    data: T


class BookingEnvelope(ApiModel):
    success: bool
    booking: Booking | None = None
    message: str


class ErrorBody(ApiModel):
    success: Literal[False] = False
    error: str
    message: str
    details: Any | None = None


class GuestSession(ApiModel):
    user_id: uuid.UUID
    token: str


class Readiness(ApiModel):
    success: bool
    status: Literal["ready", "not_ready"]
    database: Literal["reachable", "unreachable"]
    schema_revision: str | None
    expected_revision: str


class Health(ApiModel):
    success: bool
    status: Literal["ok", "unavailable"]
    database: Literal["reachable", "unreachable"]
