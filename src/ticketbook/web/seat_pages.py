"""The seat map on a concert's page: its layout, its zones (the concert's SEATED tiers), the
map and legend drawn with the seats' current states, and seat codes named for fans.

What the pages look up in a layout (section names, the zones of each section) is kept per
layout version and process, beside the parsed layout `seating.service.get_layout` keeps: a
layout only changes by getting a new version.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup

from ticketbook.db.pool import Database
from ticketbook.domain.enums import TierType
from ticketbook.domain.errors import InvalidInput, NotFound
from ticketbook.domain.schemas import Booking, Concert, TicketTier
from ticketbook.seating import queries as seating_queries
from ticketbook.seating import service as seating
from ticketbook.seating.model import Layout, Section
from ticketbook.seating.states import decode_states
from ticketbook.seating.svg import render_legend, render_overview, render_seat_map
from ticketbook.web import views

# Above this many seats the page shows the venue's sections first and then one section's
# seats: the whole map would be megabytes of HTML.
OVERVIEW_ABOVE_SEATS = 5_000
# Parsed layouts kept per process (a stadium's takes tens of megabytes).
CACHED_LAYOUTS = 8


@dataclass(frozen=True)
class VenueLayout:
    """A layout's version, parsed, with what the pages look up in it."""

    id: uuid.UUID
    version: int
    layout: Layout
    section_names: dict[str, str]
    # Section key → the zones it has seats in.
    section_zones: dict[str, frozenset[str]]

    @classmethod
    def of(cls, layout_id: uuid.UUID, version: int, layout: Layout) -> VenueLayout:
        return cls(
            layout_id,
            version,
            layout,
            {s.key: s.name for s in layout.sections},
            {
                s.key: frozenset(seat.zone for row in s.rows for seat in row.seats)
                for s in layout.sections
            },
        )

    @property
    def seat_count(self) -> int:
        return len(self.layout.seats)

    def name(self, code: str) -> views.SeatName:
        code_name = views.SeatName.of_code(code)
        section = self.section_names.get(code_name.section, code_name.section)
        return views.SeatName(section, code_name.row, code_name.seat)

    def zone_of(self, code: str) -> str | None:
        ordinal = self.layout.ordinal_of.get(code)
        return None if ordinal is None else self.layout.seats[ordinal].zone

    def section(self, key: str) -> Section | None:
        return next((s for s in self.layout.sections if s.key == key), None)


_layouts: OrderedDict[uuid.UUID, VenueLayout] = OrderedDict()


async def venue_layout(
    db: Database, layout_id: uuid.UUID, version: int | None = None
) -> VenueLayout:
    """The layout's current version, parsed (from the cache when it holds that version)."""
    if version is None:
        version = await db.fetchval(seating_queries.LAYOUT_VERSION_SQL, layout_id)
        if version is None:
            raise NotFound("This concert's seat map is gone.")
    cached = _layouts.get(layout_id)
    if cached is not None and cached.version == version:
        _layouts.move_to_end(layout_id)
        return cached
    stored = await seating.get_layout(db, layout_id)
    venue = VenueLayout.of(stored.id, stored.version, stored.layout)
    _layouts[layout_id] = venue
    _layouts.move_to_end(layout_id)
    while len(_layouts) > CACHED_LAYOUTS:
        _layouts.popitem(last=False)
    return venue


async def seat_names(
    db: Database, bookings: Sequence[Booking]
) -> dict[uuid.UUID, tuple[views.SeatName, ...]]:
    """The seats of each booking that has some, named from its concert's layout."""
    names: dict[uuid.UUID, tuple[views.SeatName, ...]] = {}
    venues: dict[uuid.UUID, VenueLayout | None] = {}
    for booking in bookings:
        if not booking.seats:
            continue
        if booking.concert_id not in venues:
            row = await db.fetchrow(seating_queries.CONCERT_SEATING_SQL, booking.concert_id)
            venues[booking.concert_id] = (
                await venue_layout(db, row["layout_id"], row["version"])
                if row is not None and row["layout_id"] is not None
                else None
            )
        venue = venues[booking.concert_id]
        name = venue.name if venue is not None else views.SeatName.of_code
        names[booking.id] = tuple(map(name, booking.seats))
    return names


def seated_tiers(concert: Concert) -> list[TicketTier]:
    return [t for t in concert.ticket_tiers if t.tier_type is TierType.SEATED and t.zone]


@dataclass(frozen=True)
class ZoneChoice:
    """A price zone on the page: its colour (the index of its ``zone-N`` class) and its tier."""

    index: int
    key: str
    tier: TicketTier

    @property
    def price(self) -> str:
        return views.money(self.tier.price_cents, self.tier.currency)


@dataclass(frozen=True)
class SeatingView:
    venue: VenueLayout
    zones: tuple[ZoneChoice, ...]
    map_svg: Markup
    legend: Markup
    # Big venues: the overview of sections is shown (no section chosen), or that section.
    overview: bool
    section: Section | None

    @property
    def layout(self) -> Layout:
        return self.venue.layout

    @property
    def interactive(self) -> bool:
        """Seats are on the map (not only the sections)."""
        return not self.overview

    def zones_json(self) -> list[dict[str, object]]:
        """What the page's script needs to know of each zone."""
        return [
            {
                "index": z.index,
                "key": z.key,
                "name": views.tier_title(z.tier),
                "tierId": str(z.tier.id),
                "priceCents": z.tier.price_cents,
                "currency": z.tier.currency,
            }
            for z in self.zones
        ]


async def seating_view(
    db: Database, concert: Concert, section_key: str | None
) -> SeatingView | None:
    """The concert's seat map, legend and zones as they are now; None without seating."""
    tiers = {t.zone: t for t in seated_tiers(concert)}
    if concert.layout_id is None or not tiers:
        return None
    seat_states = await seating.seat_states(db, concert.id)
    venue = await venue_layout(db, concert.layout_id, seat_states.layout_version)
    layout = venue.layout
    zones = tuple(
        ZoneChoice(i, zone.key, tiers[zone.key])
        for i, zone in enumerate(layout.zones)
        if zone.key in tiers
    )
    prices = {z.key: z.price for z in zones}
    states = decode_states(seat_states.encoded, seat_states.count)
    section = venue.section(section_key) if section_key else None
    overview = venue.seat_count > OVERVIEW_ABOVE_SEATS and section is None
    if overview:
        svg = render_overview(layout, states, prices, section_href=section_href)
    else:
        svg = render_seat_map(layout, states, prices, section=section.key if section else None)
    # Both are built from escaped text (seating/svg.py escapes every name and label).
    return SeatingView(
        venue, zones, Markup(svg), Markup(render_legend(layout, prices)), overview, section
    )


def section_href(key: str) -> str:
    return f"?section={quote(key, safe='')}#seats"


def check_seated_request(
    venue: VenueLayout, tier: TicketTier, seats: tuple[str, ...], section: str | None
) -> None:
    """Refuse what the engine would only answer vaguely: seats of several price zones in one
    booking, a section the venue doesn't have or one without seats of the tier's zone."""
    zones = {zone for zone in map(venue.zone_of, seats) if zone is not None}
    if len(zones) > 1:
        raise InvalidInput(
            "Choose seats of one price zone per booking: each zone is booked on its own."
        )
    if section is None or tier.zone is None:
        return
    if section not in venue.section_names:
        raise InvalidInput("That section isn't part of this venue. Reload the page and try again.")
    if tier.zone not in venue.section_zones[section]:
        raise InvalidInput(
            f"{venue.section_names[section]} has no {views.tier_title(tier)} seats. Choose "
            "another section, or any section."
        )
