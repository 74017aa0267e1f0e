"""How the pages show things: money, dates, availability badges, booking outcomes.

Pure functions of the service layer's types; no rules that protect data live here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from ticketbook.domain.enums import MAX_TICKETS_PER_BOOKING, BookingStatus, TierType
from ticketbook.domain.labels import (  # noqa: F401 (re-exported for the pages)
    TIER_NAMES,
    UTC_ZONE,
    SeatName,
    local,
    reference,
    short_date,
    tier_name,
    time_of_day,
    venue_time,
    venue_zone,
    zone_abbreviation,
)
from ticketbook.domain.schemas import Concert, TicketTier

Availability = Literal["available", "selling-fast", "sold-out"]

AVAILABILITY_LABELS: dict[Availability, str] = {
    "available": "Available",
    "selling-fast": "Selling fast",
    "sold-out": "Sold out",
}

TIER_BLURBS = {
    TierType.VIP: "Best seats in the house, early entry and a lounge.",
    TierType.FRONT_ROW: "Right up close to the stage.",
    TierType.GA: "Standing, first come first served.",
    TierType.SEATED: "Your own seat: pick it on the map, or let us find the best together.",
}

STATUS_LABELS = {
    BookingStatus.PENDING: "Processing",
    BookingStatus.CONFIRMED: "Confirmed",
    BookingStatus.FAILED: "Payment failed",
    BookingStatus.EXPIRED: "Expired",
    BookingStatus.CANCELLED: "Cancelled",
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


def long_date(moment: datetime, zone: str | None) -> str:
    """'Saturday 12 December 2026', the date at the venue"""
    m = local(moment, zone)
    return f"{m:%A} {m.day} {m:%B %Y}"


def long_venue_time(moment: datetime, zone: str | None) -> str:
    """'Wednesday 23 December 2026 · 19:30 EST'"""
    return f"{long_date(moment, zone)} · {time_of_day(moment, zone)}"


def has_started(moment: datetime) -> bool:
    """A concert starting at ``moment`` has begun: it is off sale and can't be cancelled."""
    return moment <= datetime.now(UTC)


def tier_title(tier: TicketTier) -> str:
    """A tier's name on the pages: a seated tier is named by its price zone ("Premium")."""
    return tier_name(tier.tier_type, tier.zone_name)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def describe_seats(seats: Sequence[SeatName]) -> str:
    """Seats in one phrase, row by row: "Stalls Centre, row F, seats 11 and 12"."""
    groups: dict[tuple[str, str], list[str]] = {}
    for seat in seats:
        groups.setdefault((seat.section, seat.row), []).append(seat.seat)
    return "; ".join(
        f"{section}, row {row}, {'seat' if len(labels) == 1 else 'seats'} {_and(labels)}"
        for (section, row), labels in groups.items()
    )


def max_quantity(tier: TicketTier) -> int:
    return max(0, min(MAX_TICKETS_PER_BOOKING, tier.available_quantity))


def left_share(tier: TicketTier) -> float:
    return 0.0 if tier.total_quantity <= 0 else tier.available_quantity / tier.total_quantity


# Hues for the posters' gradients; white text on any of them meets AA (the poster gradient
# is dark enough at every hue, see app.css).
POSTER_HUES = (250, 205, 330, 15, 170, 280, 225, 35, 300, 190)


def poster_hue(concert: Concert) -> int:
    """A colour per concert for its poster band, from its name and artist (so a concert
    keeps its colour when the catalogue is loaded again)."""
    key = f"{concert.name}\n{concert.artist}".encode()
    return POSTER_HUES[int(hashlib.sha256(key).hexdigest()[:4], 16) % len(POSTER_HUES)]
