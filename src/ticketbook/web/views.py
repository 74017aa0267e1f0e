"""How the pages show things: money, dates, availability badges, booking outcomes.

Pure functions of the service layer's types; no rules that protect data live here.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from ticketbook.domain.enums import MAX_TICKETS_PER_BOOKING, BookingStatus, TierType
from ticketbook.domain.schemas import Concert, TicketTier

Availability = Literal["available", "selling-fast", "sold-out"]

AVAILABILITY_LABELS: dict[Availability, str] = {
    "available": "Available",
    "selling-fast": "Selling fast",
    "sold-out": "Sold out",
}

TIER_NAMES = {
    TierType.VIP: "VIP",
    TierType.FRONT_ROW: "Front row",
    TierType.GA: "General admission",
    TierType.SEATED: "Reserved seat",
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


# Every date and time a page shows is in the venue's zone (the concert's `timezone`), named
# by its abbreviation ("19:30 EST"): the fan needs the doors' local time, wherever they read it.
UTC_ZONE = ZoneInfo("UTC")


@lru_cache(maxsize=512)
def venue_zone(name: str | None) -> ZoneInfo:
    """The zone of that IANA name; UTC for a name this system's zone database doesn't know
    (a page shows a labelled UTC time rather than failing on one odd row)."""
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return UTC_ZONE


def local(moment: datetime, zone: str | None) -> datetime:
    """The moment as the clock at the venue shows it (a naive moment is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(venue_zone(zone))


def zone_abbreviation(moment: datetime) -> str:
    """'EST', 'EDT', 'AEDT', 'GMT', 'UTC'; where the zone database has no letters for a zone
    (it writes '-03'), the offset: 'UTC-3', 'UTC+5:30'."""
    name = moment.tzname()
    if name and name[0] not in "+-":
        return name
    offset = moment.utcoffset()
    if offset is None:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}:{rest:02d}" if rest else f"UTC{sign}{hours}"


def long_date(moment: datetime, zone: str | None) -> str:
    """'Saturday 12 December 2026', the date at the venue"""
    m = local(moment, zone)
    return f"{m:%A} {m.day} {m:%B %Y}"


def short_date(moment: datetime, zone: str | None) -> str:
    """'Sat 12 Dec 2026', the date at the venue"""
    m = local(moment, zone)
    return f"{m:%a} {m.day} {m:%b %Y}"


def time_of_day(moment: datetime, zone: str | None) -> str:
    """'19:30 EST', the time at the venue and its zone's abbreviation"""
    m = local(moment, zone)
    return f"{m:%H:%M} {zone_abbreviation(m)}"


def venue_time(moment: datetime, zone: str | None) -> str:
    """'Wed 23 Dec 2026 · 19:30 EST'"""
    return f"{short_date(moment, zone)} · {time_of_day(moment, zone)}"


def long_venue_time(moment: datetime, zone: str | None) -> str:
    """'Wednesday 23 December 2026 · 19:30 EST'"""
    return f"{long_date(moment, zone)} · {time_of_day(moment, zone)}"


def has_started(moment: datetime) -> bool:
    """A concert starting at ``moment`` has begun: it is off sale and can't be cancelled."""
    return moment <= datetime.now(UTC)


def tier_title(tier: TicketTier) -> str:
    """A tier's name on the pages: a seated tier is named by its price zone ("Premium")."""
    if tier.tier_type is TierType.SEATED and tier.zone_name:
        return tier.zone_name
    return TIER_NAMES[tier.tier_type]


@dataclass(frozen=True)
class SeatName:
    """A seat as a fan reads it: its section's name, its row and its seat label."""

    section: str
    row: str
    seat: str

    @property
    def text(self) -> str:
        return f"{self.section}, row {self.row}, seat {self.seat}"

    @classmethod
    def of_code(cls, code: str) -> SeatName:
        """From the code alone ("SC:F:12"), where the layout isn't at hand: the section's key
        stands for its name."""
        section, _, rest = code.partition(":")
        row, _, seat = rest.partition(":")
        return cls(section, row, seat)


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
