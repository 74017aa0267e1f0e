"""The last-ticket race on the booking engine itself: many fans' bookings as concurrent
asyncio tasks, each its own transaction on a real PostgreSQL, with the services built by the
composition root (`ticketbook.services.open_services`). And its control run: the same race
through the test-only unlocked read-then-write path must break the conservation law, which
proves this test can see what the row lock prevents.

The same races over HTTP across two worker processes are in tests/system/test_race.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

from tests.support.inprocess import app_settings
from tests.support.inventory import doctor, make_concert, tier_counts
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.services import AppServices, open_services
from ticketbook.testing.naive_booking import naive_book

FANS = 120
TICKETS_LEFT = 7


async def _fans(services: AppServices, count: int) -> list[uuid.UUID]:
    rows = await services.db.fetch(
        "INSERT INTO users (role) SELECT 'guest' FROM generate_series(1, $1) RETURNING id", count
    )
    return [row["id"] for row in rows]


def test_last_tickets_race_on_the_engine_never_oversells(db_url: str, tmp_path: Path) -> None:
    tier_id = uuid.UUID(make_concert(db_url, {"GA": TICKETS_LEFT})["tiers"]["GA"])

    async def race() -> list[BookingOutcome]:
        settings = app_settings(tmp_path)
        async with open_services(
            settings, database_url=db_url, run_background_jobs=False
        ) as services:
            fans = await _fans(services, FANS)
            gate = asyncio.Event()

            async def book(user_id: uuid.UUID) -> BookingOutcome:
                await gate.wait()
                result = await services.engine.book(
                    user_id=user_id, tier_id=tier_id, quantity=1, key=uuid.uuid4()
                )
                return result.outcome

            tasks = [asyncio.create_task(book(fan)) for fan in fans]
            await asyncio.sleep(0)  # one turn of the loop: every task starts, waits at the gate
            gate.set()
            return await asyncio.gather(*tasks)

    outcomes = Counter(asyncio.run(race()))
    assert outcomes == {
        BookingOutcome.CONFIRMED: TICKETS_LEFT,
        BookingOutcome.SOLD_OUT: FANS - TICKETS_LEFT,
    }, outcomes
    assert tier_counts(db_url, str(tier_id)) == {
        "available": 0,
        "total": TICKETS_LEFT,
        "CONFIRMED": TICKETS_LEFT,
    }
    report = doctor(db_url)
    assert report.violations == 0, report.lines


def test_control_naive_booking_on_the_same_pool_breaks_conservation(
    db_url: str, tmp_path: Path
) -> None:
    """The same race through the unlocked read-then-write path oversells: the assertions
    above would catch a missing lock."""
    tier_id = uuid.UUID(make_concert(db_url, {"GA": TICKETS_LEFT * 5})["tiers"]["GA"])

    async def race() -> list[bool]:
        settings = app_settings(tmp_path)
        async with open_services(
            settings, database_url=db_url, run_background_jobs=False
        ) as services:
            fans = await _fans(services, FANS)
            gate = asyncio.Event()

            async def book(user_id: uuid.UUID) -> bool:
                await gate.wait()
                return await naive_book(services.db, user_id, tier_id, 1)

            tasks = [asyncio.create_task(book(fan)) for fan in fans]
            await asyncio.sleep(0)
            gate.set()
            return await asyncio.gather(*tasks)

    booked_answers = asyncio.run(race())
    assert any(booked_answers)
    counts = tier_counts(db_url, str(tier_id))
    booked = counts.get("CONFIRMED", 0)
    # Lost updates: more tickets were booked than the availability count went down by.
    assert counts["available"] + booked > counts["total"], counts
    report = doctor(db_url)
    assert report.violations >= 1
    assert any("conservation broken" in line for line in report.lines)
