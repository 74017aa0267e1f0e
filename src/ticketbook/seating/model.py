"""A venue's seating layout as the rest of the code sees it: sections → rows → seats.

This is the normalized form: every seat explicit, with its position on the map. The JSON
format organizers write (with generators for rectangular blocks and curved rows) is parsed
into it by `seating.layout`; `seating.svg` draws it; the database keeps one row per seat per
concert (`concert_seats`). A seat's code, "section:row:seat", names it in the API; its
ordinal (its index in `Layout.seats`) orders the compact seat-state encoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

# Separates the parts of a seat code; keys and labels may not contain it.
CODE_SEPARATOR = ":"


class SeatFlag(StrEnum):
    WHEELCHAIR = "wheelchair"  # a wheelchair space
    COMPANION = "companion"  # a companion seat beside a wheelchair space
    RESTRICTED_VIEW = "restricted_view"


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Stage:
    x: float
    y: float
    width: float
    height: float
    label: str = "Stage"

    @property
    def centre(self) -> Point:
        return Point(self.x + self.width / 2, self.y + self.height / 2)


@dataclass(frozen=True)
class Zone:
    """A price zone: the seats sold at one price (a concert gives each zone its price)."""

    key: str
    name: str


@dataclass(frozen=True)
class Seat:
    section: str  # the section's key
    row: str  # the row's label
    label: str  # the seat's label in its row ("12")
    # Its index in its row, left to right as the layout lists it: seats whose positions
    # differ by one sit side by side.
    position: int
    x: float
    y: float
    zone: str  # its price zone's key
    flags: frozenset[SeatFlag] = frozenset()

    @property
    def code(self) -> str:
        return CODE_SEPARATOR.join((self.section, self.row, self.label))


@dataclass(frozen=True)
class Row:
    label: str
    seats: tuple[Seat, ...]


@dataclass(frozen=True)
class Section:
    key: str
    name: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Layout:
    name: str
    stage: Stage
    zones: tuple[Zone, ...]
    sections: tuple[Section, ...]
    # Map size; the viewBox of the SVG.
    width: float = field(default=0.0)
    height: float = field(default=0.0)

    @cached_property
    def seats(self) -> tuple[Seat, ...]:
        """Every seat, in ordinal order: sections, then rows, then seats, as listed."""
        return tuple(s for section in self.sections for row in section.rows for s in row.seats)

    @cached_property
    def ordinal_of(self) -> dict[str, int]:
        return {seat.code: i for i, seat in enumerate(self.seats)}
