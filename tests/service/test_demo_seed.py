"""The demo seed on a fresh database: each venue in its real time zone, each concert at
19:30 on the venue's clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import asyncpg

from ticketbook.catalog import demo
from ticketbook.ops.doctor import diagnose

REAL_ZONES = {
    "Madison Square Garden, New York": "America/New_York",
    "The O2 Arena, London": "Europe/London",
    "Blue Note Hall, Chicago": "America/Chicago",
    "Red Rocks Amphitheatre, Colorado": "America/Denver",
    "Sydney Opera House": "Australia/Sydney",
    "Harbour Hall, Boston": "America/New_York",
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


def test_the_demo_has_a_seated_concert_beside_the_general_admission_ones(db_url: str) -> None:
    async def scene() -> tuple[list[asyncpg.Record], list[str]]:
        conn = await asyncpg.connect(db_url)
        try:
            await demo.seed(conn)
            zones = await conn.fetch(
                "SELECT t.tier_type, t.zone, t.total_quantity"
                " FROM ticket_tiers t JOIN concerts c ON c.id = t.concert_id"
                " WHERE c.layout_id IS NOT NULL ORDER BY t.zone"
            )
            report = await diagnose(conn)
            return zones, report.lines
        finally:
            await conn.close()

    tiers, doctor_lines = asyncio.run(scene())
    seated = [t for t in tiers if t["zone"] is not None]
    assert {t["tier_type"] for t in tiers} == {"GA", "SEATED"}  # a standing floor, and seats
    assert len(seated) == 3
    assert sum(t["total_quantity"] for t in seated) >= 2000
    assert all(line.startswith("ok") for line in doctor_lines), doctor_lines
