"""The demo seed on a fresh database: each venue in its real time zone, each concert at
19:30 on the venue's clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import asyncpg

from ticketbook.catalog import demo

REAL_ZONES = {
    "Madison Square Garden, New York": "America/New_York",
    "The O2 Arena, London": "Europe/London",
    "Blue Note Hall, Chicago": "America/Chicago",
    "Red Rocks Amphitheatre, Colorado": "America/Denver",
    "Sydney Opera House": "Australia/Sydney",
}


def test_the_demo_concerts_carry_their_venues_real_zones_and_start_at_19_30_there(
    db_url: str,
) -> None:
    async def scene() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(db_url)
        try:
            assert await demo.seed(conn) == len(demo.DEMO_CONCERTS)
            rows: list[asyncpg.Record] = await conn.fetch(
                "SELECT venue, timezone, starts_at, now() AS now FROM concerts"
            )
            return rows
        finally:
            await conn.close()

    rows = asyncio.run(scene())
    assert {r["venue"]: r["timezone"] for r in rows} == REAL_ZONES
    by_venue = {c.venue: c for c in demo.DEMO_CONCERTS}
    for row in rows:
        zone = ZoneInfo(row["timezone"])
        at_venue = row["starts_at"].astimezone(zone)
        assert (at_venue.hour, at_venue.minute) == (19, 30), row["venue"]
        today = row["now"].astimezone(zone).date()
        assert at_venue.date() == today + timedelta(days=by_venue[row["venue"]].days_ahead)
