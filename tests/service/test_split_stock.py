"""Split stock (migration 0005, booking/stock.py): a tier's free tickets over several rows.

The promises stay exact with the stock split: many fans at once sell exactly the tier's
tickets and not one more; a hold takes across slots when no single slot has enough; a hold
waits for a locked slot rather than answer "sold out" while a ticket is free; re-splitting
moves no ticket. The race's control books the same split tier through the test-only unlocked
path and breaks the conservation law, so the race's assertions can see an oversell.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from tests.support.inprocess import app_settings
from tests.support.inventory import doctor, execute, fetch, make_concert, tier_counts
from tests.support.locks import lock_waiters
from tests.support.waiting import async_wait_until
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.booking.stock import UnknownTier, split_stock
from ticketbook.services import AppServices, open_services
from ticketbook.testing.naive_booking import naive_book

SLOTS = 8
TICKETS = 40
FANS = 120


async def _fans(services: AppServices, count: int) -> list[uuid.UUID]:
    rows = await services.db.fetch(
        "INSERT INTO users (role) SELECT 'guest' FROM generate_series(1, $1) RETURNING id", count
    )
    return [row["id"] for row in rows]


def _slots(url: str, tier_id: str) -> list[int]:
    rows = fetch(
        url,
        "SELECT available FROM tier_stock WHERE tier_id = $1 ORDER BY slot",
        uuid.UUID(tier_id),
    )
    return [row["available"] for row in rows]


async def _book(services: AppServices, user_id: uuid.UUID, tier_id: str, quantity: int) -> str:
    result = await services.engine.book(
        user_id=user_id, tier_id=uuid.UUID(tier_id), quantity=quantity, key=uuid.uuid4()
    )
    return result.outcome.value


def _race(db_url: str, tmp_path: Path, tier_id: str, *, naive: bool) -> Counter[str]:
    async def race() -> list[str]:
        # The production defaults: the per-fan cap is on (each fan books once here).
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            fans = await _fans(services, FANS)
            gate = asyncio.Event()

            async def buy(user_id: uuid.UUID) -> str:
                await gate.wait()
                if naive:
                    booked = await naive_book(services.db, user_id, uuid.UUID(tier_id), 1)
                    return "confirmed" if booked else "refused"
                return await _book(services, user_id, tier_id, 1)

            tasks = [asyncio.create_task(buy(fan)) for fan in fans]
            await asyncio.sleep(0)
            gate.set()
            return await asyncio.gather(*tasks)

    return Counter(asyncio.run(race()))


def test_many_fans_at_once_sell_a_split_tier_exactly(db_url: str, tmp_path: Path) -> None:
    tier_id = make_concert(db_url, {"GA": TICKETS}, stock_slots=SLOTS)["tiers"]["GA"]
    assert _slots(db_url, tier_id) == [TICKETS // SLOTS] * SLOTS
    outcomes = _race(db_url, tmp_path, tier_id, naive=False)
    assert outcomes == {
        BookingOutcome.CONFIRMED: TICKETS,
        BookingOutcome.SOLD_OUT: FANS - TICKETS,
    }, outcomes
    assert tier_counts(db_url, tier_id) == {
        "available": 0,
        "total": TICKETS,
        "CONFIRMED": TICKETS,
    }
    assert _slots(db_url, tier_id) == [0] * SLOTS
    report = doctor(db_url)
    assert report.violations == 0, report.lines


def test_control_the_unlocked_path_on_a_split_tier_breaks_conservation(
    db_url: str, tmp_path: Path
) -> None:
    tier_id = make_concert(db_url, {"GA": TICKETS}, stock_slots=SLOTS)["tiers"]["GA"]
    outcomes = _race(db_url, tmp_path, tier_id, naive=True)
    counts = tier_counts(db_url, tier_id)
    assert outcomes["confirmed"] == counts["CONFIRMED"] > 0
    # Lost updates: more tickets booked than the stock went down by.
    assert counts["available"] + counts["CONFIRMED"] > counts["total"], counts
    report = doctor(db_url)
    assert any("conservation broken" in line for line in report.lines), report.lines


def test_a_hold_takes_across_slots_when_no_single_slot_has_enough(
    db_url: str, tmp_path: Path
) -> None:
    tier_id = make_concert(db_url, {"GA": SLOTS}, stock_slots=SLOTS)["tiers"]["GA"]
    assert _slots(db_url, tier_id) == [1] * SLOTS

    async def scene() -> list[str]:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            first, second = await _fans(services, 2)
            # 5 of the 8, one from each of five slots; then 4 when 3 are left.
            return [
                await _book(services, first, tier_id, 5),
                await _book(services, second, tier_id, 4),
                await _book(services, second, tier_id, 3),
            ]

    assert asyncio.run(scene()) == [
        BookingOutcome.CONFIRMED,
        BookingOutcome.SOLD_OUT,
        BookingOutcome.CONFIRMED,
    ]
    assert tier_counts(db_url, tier_id) == {"available": 0, "total": SLOTS, "CONFIRMED": SLOTS}
    assert doctor(db_url).violations == 0


@pytest.mark.parametrize("other_takes_it", [False, True], ids=["released", "control-taken"])
def test_a_hold_waits_for_a_locked_slot_rather_than_answer_sold_out(
    db_url: str, tmp_path: Path, other_takes_it: bool
) -> None:
    """The last ticket sits in a slot another transaction has locked. The hold waits for it
    and books it when that transaction lets it go; the control, where that transaction takes
    the ticket, answers sold out instead, so the test sees the difference."""
    tier_id = make_concert(db_url, {"GA": SLOTS}, stock_slots=SLOTS)["tiers"]["GA"]
    execute(
        db_url,
        "UPDATE tier_stock SET available = (slot = 3)::int WHERE tier_id = $1",
        uuid.UUID(tier_id),
    )
    execute(db_url, "UPDATE ticket_tiers SET total_quantity = 1 WHERE id = $1", uuid.UUID(tier_id))

    async def scene() -> str:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            (fan,) = await _fans(services, 1)
            other = await asyncpg.connect(db_url)
            try:
                async with other.transaction():
                    await other.execute(
                        "SELECT 1 FROM tier_stock WHERE tier_id = $1 AND slot = 3 FOR UPDATE",
                        uuid.UUID(tier_id),
                    )
                    booking = asyncio.create_task(_book(services, fan, tier_id, 1))
                    await async_wait_until(
                        lambda: asyncio.to_thread(lock_waiters, db_url),
                        "the hold waits on the locked slot",
                    )
                    assert not booking.done()
                    if other_takes_it:
                        await other.execute(
                            "UPDATE tier_stock SET available = 0 WHERE tier_id = $1 AND slot = 3",
                            uuid.UUID(tier_id),
                        )
                        await other.execute(
                            "UPDATE ticket_tiers SET total_quantity = 0 WHERE id = $1",
                            uuid.UUID(tier_id),
                        )
            finally:
                await other.close()
            return await booking

    outcome = asyncio.run(scene())
    if other_takes_it:
        assert outcome == BookingOutcome.SOLD_OUT
    else:
        assert outcome == BookingOutcome.CONFIRMED
        assert tier_counts(db_url, tier_id) == {"available": 0, "total": 1, "CONFIRMED": 1}
    assert doctor(db_url).violations == 0


def test_resplitting_moves_no_ticket_and_keeps_every_slot(db_url: str, tmp_path: Path) -> None:
    tier_id = make_concert(db_url, {"GA": 100})["tiers"]["GA"]

    async def scene() -> list[object]:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            (fan,) = await _fans(services, 1)
            assert await _book(services, fan, tier_id, 3) == BookingOutcome.CONFIRMED
            async with services.db.connection() as conn:
                spread = await split_stock(conn, uuid.UUID(tier_id), SLOTS)
                spread_slots = [
                    r["available"]
                    for r in await conn.fetch(
                        "SELECT available FROM tier_stock WHERE tier_id = $1 ORDER BY slot",
                        uuid.UUID(tier_id),
                    )
                ]
                merged = await split_stock(conn, uuid.UUID(tier_id), 1)
                with pytest.raises(ValueError, match="between 1 and 64"):
                    await split_stock(conn, uuid.UUID(tier_id), 0)
                with pytest.raises(UnknownTier):
                    await split_stock(conn, uuid.uuid4(), 2)
            return [spread, spread_slots, merged]

    spread, spread_slots, merged = asyncio.run(scene())
    assert spread == merged == 97
    assert spread_slots == [13, 12, 12, 12, 12, 12, 12, 12]
    # Merged back into the first slot; the others stay, empty (a late return may name one).
    assert _slots(db_url, tier_id) == [97] + [0] * (SLOTS - 1)
    assert tier_counts(db_url, tier_id) == {"available": 97, "total": 100, "CONFIRMED": 3}
    assert doctor(db_url).violations == 0
