"""Demo data: the brief's five concerts, each with VIP, FRONT_ROW and GA tiers (its SQL is in
``catalog/queries.py``), and a sixth with reserved seats beside a standing floor. Each venue
carries its real IANA time zone, and each concert starts at 19:30 on the venue's clock (DST
included), some weeks from today."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from ticketbook.catalog import queries
from ticketbook.db.locks import JobLock
from ticketbook.domain.enums import TierType
from ticketbook.seating.demo_layouts import concert_hall
from ticketbook.seating.model import Layout
from ticketbook.seating.service import store_and_seat

CURRENCY = "USD"
PRICES_CENTS = {TierType.VIP: 10000, TierType.FRONT_ROW: 5000, TierType.GA: 1000}
# Doors at half past seven, local time at the venue.
LOCAL_START = time(19, 30)


@dataclass(frozen=True)
class DemoConcert:
    name: str
    artist: str
    venue: str
    timezone: str  # the venue's IANA zone
    description: str
    days_ahead: int
    quantities: dict[TierType, int]
    # Reserved seats: the venue's layout, and a price per zone.
    seating: Callable[[], Layout] | None = None
    zone_prices_cents: dict[str, int] = field(default_factory=dict)


DEMO_CONCERTS = (
    DemoConcert(
        "Midnight Echoes World Tour",
        "The Midnight Echoes",
        "Madison Square Garden, New York",
        "America/New_York",
        "Synth-rock anthems under a full light show.",
        21,
        {TierType.VIP: 50, TierType.FRONT_ROW: 150, TierType.GA: 1500},
    ),
    DemoConcert(
        "Neon Skyline Live",
        "Neon Skyline",
        "The O2 Arena, London",
        "Europe/London",
        "Two hours of electro-pop and a skyline of lasers.",
        35,
        {TierType.VIP: 100, TierType.FRONT_ROW: 200, TierType.GA: 2000},
    ),
    DemoConcert(
        "Jazz After Dark",
        "Ella Park Quartet",
        "Blue Note Hall, Chicago",
        "America/Chicago",
        "An intimate night of standards and new arrangements.",
        49,
        {TierType.VIP: 30, TierType.FRONT_ROW: 120, TierType.GA: 1000},
    ),
    DemoConcert(
        "Summer Bass Festival",
        "DJ Solstice & Friends",
        "Red Rocks Amphitheatre, Colorado",
        "America/Denver",
        "Open-air bass music from sunset to midnight.",
        63,
        {TierType.VIP: 80, TierType.FRONT_ROW: 180, TierType.GA: 1800},
    ),
    DemoConcert(
        "Symphony of the Stars",
        "Metropolitan Philharmonic",
        "Sydney Opera House",
        "Australia/Sydney",
        "Film scores and cosmic classics with full orchestra.",
        77,
        {TierType.VIP: 10, TierType.FRONT_ROW: 100, TierType.GA: 1200},
    ),
    # Seated stalls and balcony (2,072 seats in 4 sections, 3 price zones), and a standing
    # floor in front of the stage.
    DemoConcert(
        "Harbour Lights Unplugged",
        "The Harbour Lights",
        "Harbour Hall, Boston",
        "America/New_York",
        "Acoustic sets in the round-fronted hall: choose your seat on the map.",
        28,
        {TierType.GA: 300},
        seating=concert_hall,
        zone_prices_cents={"premium": 12000, "standard": 7500, "balcony": 4500},
    ),
)


def starts_at(concert: DemoConcert, now: datetime | None = None) -> datetime:
    """19:30 at the venue, ``days_ahead`` days after today there (today by the venue's
    calendar: in Sydney it may already be tomorrow). None of the zones changes its clocks in
    the evening, so the local time always exists and is never ambiguous."""
    zone = ZoneInfo(concert.timezone)
    today = (now or datetime.now(zone)).astimezone(zone).date()
    return datetime.combine(today + timedelta(days=concert.days_ahead), LOCAL_START, zone)


class SeedRefused(RuntimeError):
    """The database already holds bookings and no reset was asked for."""


async def seed(conn: asyncpg.Connection, *, reset: bool = False, if_empty: bool = False) -> int:
    """Load the demo concerts; return how many were created (0 when skipped)."""
    async with conn.transaction():
        # One seeder at a time; concurrent `make run`s must not both load the catalog.
        await conn.execute(queries.SEED_LOCK_SQL, JobLock.SEED)
        if if_empty and await conn.fetchval(queries.ANY_CONCERT_SQL):
            return 0
        has_bookings = await conn.fetchval(queries.ANY_BOOKING_SQL)
        if has_bookings and not reset:
            raise SeedRefused(
                "the database already has bookings; run `ticketbook seed --reset` to wipe "
                "everything (bookings included) and load the demo data again"
            )
        await conn.execute(queries.TRUNCATE_ALL_SQL if reset else queries.TRUNCATE_CATALOG_SQL)
        for concert in DEMO_CONCERTS:
            concert_id = await conn.fetchval(
                queries.INSERT_DEMO_CONCERT_SQL,
                concert.name,
                concert.artist,
                concert.venue,
                concert.description,
                starts_at(concert),
                concert.timezone,
            )
            await conn.executemany(
                queries.INSERT_TIER_SQL,
                [
                    (concert_id, tier, PRICES_CENTS[tier], CURRENCY, quantity)
                    for tier, quantity in concert.quantities.items()
                ],
            )
            if concert.seating is not None:
                await store_and_seat(
                    conn, concert_id, concert.seating(), concert.zone_prices_cents, CURRENCY
                )
    return len(DEMO_CONCERTS)
