"""How a ticket's facts read to people: tier names, seat names, booking references and the
venue's local time. Pure formatting with no edge behind it, shared by the pages
(``web.views`` re-exports these), the tickets (page, PDF, email) and the door, so a ticket
reads the same everywhere."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from ticketbook.domain.enums import TierType

TIER_NAMES = {
    TierType.VIP: "VIP",
    TierType.FRONT_ROW: "Front row",
    TierType.GA: "General admission",
    TierType.SEATED: "Reserved seat",
}


def tier_name(tier_type: TierType, zone_name: str | None) -> str:
    """A tier's name: a seated tier is named by its price zone ("Premium")."""
    if tier_type is TierType.SEATED and zone_name:
        return zone_name
    return TIER_NAMES[tier_type]


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


def seat_label(code: str, section_name: str | None) -> str:
    """'Stalls Centre, row F, seat 12' for seat code "SC:F:12" (the section's key when its
    name isn't known)."""
    name = SeatName.of_code(code)
    return SeatName(section_name or name.section, name.row, name.seat).text


def reference(booking_id: uuid.UUID | str) -> str:
    """The short booking reference shown to fans: 'TB-2BF651AC'."""
    return "TB-" + uuid.UUID(str(booking_id)).hex[:8].upper()


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
