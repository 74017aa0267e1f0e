"""How the pages show things: money, dates, availability badges, booking outcomes.

Pure functions of the service layer's types; no rules that protect data live here.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ticketbook.domain.schemas import MAX_TICKETS_PER_BOOKING, Booking, Concert, TicketTier

Availability = Literal["available", "selling-fast", "sold-out"]

AVAILABILITY_LABELS: dict[Availability, str] = {
    "available": "Available",
    "selling-fast": "Selling fast",
    "sold-out": "Sold out",
}

TIER_NAMES = {"VIP": "VIP", "FRONT_ROW": "Front row", "GA": "General admission"}
TIER_BLURBS = {
    "VIP": "Best seats in the house, early entry and a lounge.",
    "FRONT_ROW": "Right up close to the stage.",
    "GA": "Standing, first come first served.",
}

STATUS_LABELS = {
    "PENDING": "Processing",
    "CONFIRMED": "Confirmed",
    "FAILED": "Payment failed",
    "EXPIRED": "Expired",
    "CANCELLED": "Cancelled",
}

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "AUD": "A$", "CAD": "C$", "JPY": "¥"}

# Below this share of tickets left, a concert or tier is "selling fast".
SELLING_FAST_SHARE = 0.10


def availability(available: int, total: int) -> Availability:
    if available <= 0:
        return "sold-out"
    if total > 0 and available < total * SELLING_FAST_SHARE:
        return "selling-fast"
    return "available"


def concert_availability(concert: Concert) -> Availability:
    return availability(
        sum(t.available_quantity for t in concert.ticket_tiers),
        sum(t.total_quantity for t in concert.ticket_tiers),
    )


def money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    amount = f"{abs(cents) // 100:,}.{abs(cents) % 100:02d}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def long_date(moment: datetime) -> str:
    """'Saturday 12 December 2026'"""
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def short_date(moment: datetime) -> str:
    """'Sat 12 Dec 2026'"""
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def time_of_day(moment: datetime) -> str:
    return f"{moment:%H:%M} {moment.tzname() or 'UTC'}"


def max_quantity(tier: TicketTier) -> int:
    return max(0, min(MAX_TICKETS_PER_BOOKING, tier.available_quantity))


def left_share(tier: TicketTier) -> float:
    return 0.0 if tier.total_quantity <= 0 else tier.available_quantity / tier.total_quantity


def reference(booking_id: uuid.UUID | str) -> str:
    """The short booking reference shown to fans: 'TB-2BF651AC'."""
    return "TB-" + uuid.UUID(str(booking_id)).hex[:8].upper()


# Hues for the posters' gradients; white text on any of them meets AA (the poster gradient
# is dark enough at every hue, see app.css).
POSTER_HUES = (250, 205, 330, 15, 170, 280, 225, 35, 300, 190)


def poster_hue(concert: Concert) -> int:
    """A colour per concert for its poster band, from its name and artist (so a concert
    keeps its colour when the catalogue is loaded again)."""
    key = f"{concert.name}\n{concert.artist}".encode()
    return POSTER_HUES[int(hashlib.sha256(key).hexdigest()[:4], 16) % len(POSTER_HUES)]


Outcome = Literal[
    "confirmed",
    "declined",
    "expired",
    "sold-out",
    "concert-over",
    "in-progress",
    "key-reused",
    "unknown-tier",
]


@dataclass(frozen=True)
class BookingResult:
    """What a booking attempt came to, for the result panel."""

    outcome: Outcome
    status_code: int
    booking: Booking | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "confirmed"

    @property
    def can_retry(self) -> bool:
        return self.outcome in ("declined", "expired", "key-reused")


def booking_result(status_code: int, body: dict[str, Any]) -> BookingResult:
    """Map the booking engine's answer (the same one the JSON API sends) to an outcome."""
    booking = Booking.model_validate(body["booking"]) if body.get("booking") else None
    if status_code == 200 and booking is not None:
        return BookingResult("confirmed", 200, booking)
    if status_code == 402:
        expired = booking is not None and booking.status == "EXPIRED"
        return BookingResult("expired" if expired else "declined", 402, booking)
    error = body.get("error")
    if error == "NOT_ENOUGH_TICKETS":
        return BookingResult("sold-out", 409)
    if error == "CONCERT_STARTED":
        return BookingResult("concert-over", 409)
    if error == "REQUEST_IN_PROGRESS":
        return BookingResult("in-progress", 409)
    if error == "IDEMPOTENCY_KEY_REUSED":
        return BookingResult("key-reused", 409)
    return BookingResult("unknown-tier", 404)
