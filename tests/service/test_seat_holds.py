"""Reserved seats (migration 0006, booking/seat_queries.py): a seat is sold once, by the
database; best available keeps groups together and leaves no lone seat it could avoid.

The races run with the production defaults (the per-fan cap on; each fan books once). Their
control books seats through a path without the locks and without the holder guard, and the
same assertions see the double sale.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.inprocess import app_settings
from tests.support.inventory import doctor, execute, fetch, fetchval
from tests.support.seating import seated_concert
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.seating.demo_layouts import section_block
from ticketbook.services import AppServices, open_services


async def _fans(services: AppServices, count: int) -> list[uuid.UUID]:
    rows = await services.db.fetch(
        "INSERT INTO users (role) SELECT 'guest' FROM generate_series(1, $1) RETURNING id", count
    )
    return [row["id"] for row in rows]


def _run(db_url: str, tmp_path: Path, scene: Any) -> Any:
    async def main() -> Any:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            return await scene(services)

    return asyncio.run(main())


def test_named_seats_then_taken_then_best_available(db_url: str, tmp_path: Path) -> None:
    concert = seated_concert(db_url, tmp_path, section_block(3, 6))
    tier = concert["zones"]["standard"]

    async def scene(services: AppServices) -> list[Any]:
        first, second, third = await _fans(services, 3)
        named = await services.engine.book(
            user_id=first, tier_id=tier, quantity=2, key=uuid.uuid4(), seats=("S:A:3", "S:A:4")
        )
        taken = await services.engine.book(
            user_id=second, tier_id=tier, quantity=2, key=uuid.uuid4(), seats=("S:A:4", "S:A:5")
        )
        best = await services.engine.book(user_id=third, tier_id=tier, quantity=2, key=uuid.uuid4())
        return [named, taken, best]

    named, taken, best = _run(db_url, tmp_path, scene)
    assert named.outcome is BookingOutcome.CONFIRMED, named
    assert named.booking.seats == ["S:A:3", "S:A:4"]
    assert taken.outcome is BookingOutcome.SEAT_TAKEN
    assert taken.taken_seats == ("S:A:4",)
    assert taken.alternatives and all(len(a) == 2 for a in taken.alternatives)
    assert best.outcome is BookingOutcome.CONFIRMED
    print(best.booking.seats, taken.alternatives)
    report = doctor(db_url)
    assert report.violations == 0, report.lines


SEAT_BUYERS = 100
CONTESTED = "S:B:3"
# Seats enough that the unlocked path's stock count (it takes one per claim, refused or not)
# never reaches 0 in the control.
RACE_LAYOUT = (10, 20)


def _seat_race(db_url: str, tmp_path: Path, tier: uuid.UUID, *, naive: bool) -> Counter[str]:
    from ticketbook.testing.naive_booking import naive_book_seat

    async def scene(services: AppServices) -> list[str]:
        fans = await _fans(services, SEAT_BUYERS)
        gate = asyncio.Event()

        async def buy(user_id: uuid.UUID) -> str:
            await gate.wait()
            if naive:
                try:
                    booked = await naive_book_seat(services.db, user_id, tier, CONTESTED)
                except asyncpg.UniqueViolationError:
                    return "refused by the database"
                return "confirmed" if booked else "taken"
            result = await services.engine.book(
                user_id=user_id, tier_id=tier, quantity=1, key=uuid.uuid4(), seats=(CONTESTED,)
            )
            return result.outcome.value

        tasks = [asyncio.create_task(buy(fan)) for fan in fans]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(*tasks)

    return Counter(_run(db_url, tmp_path, scene))


def _confirmed_holders(db_url: str, code: str) -> int:
    return fetchval(
        db_url,
        "SELECT count(*) FROM bookings WHERE status = 'CONFIRMED' AND $1 = ANY (seats)",
        code,
    )


def test_a_hundred_buyers_for_one_seat_one_gets_it(db_url: str, tmp_path: Path) -> None:
    tier = seated_concert(db_url, tmp_path, section_block(*RACE_LAYOUT))["zones"]["standard"]
    outcomes = _seat_race(db_url, tmp_path, tier, naive=False)
    assert outcomes == {
        BookingOutcome.CONFIRMED: 1,
        BookingOutcome.SEAT_TAKEN: SEAT_BUYERS - 1,
    }, outcomes
    assert _confirmed_holders(db_url, CONTESTED) == 1
    report = doctor(db_url)
    assert report.violations == 0, report.lines


def test_the_database_refuses_a_second_claim_whatever_the_application_does(
    db_url: str, tmp_path: Path
) -> None:
    # The unlocked path (read "free", then write the claim unconditionally): the holder guard
    # refuses every claim but the first.
    tier = seated_concert(db_url, tmp_path, section_block(*RACE_LAYOUT))["zones"]["standard"]
    outcomes = _seat_race(db_url, tmp_path, tier, naive=True)
    assert outcomes["confirmed"] >= 1
    assert _confirmed_holders(db_url, CONTESTED) == 1, outcomes
    held_by = fetchval(db_url, "SELECT booking_id FROM concert_seats WHERE code = $1", CONTESTED)
    assert held_by is not None


def test_control_without_the_guard_the_race_sells_a_seat_twice(db_url: str, tmp_path: Path) -> None:
    tier = seated_concert(db_url, tmp_path, section_block(*RACE_LAYOUT))["zones"]["standard"]
    execute(db_url, "ALTER TABLE concert_seats DISABLE TRIGGER tb_guard_seat_holder")
    try:
        outcomes = _seat_race(db_url, tmp_path, tier, naive=True)
        # The same assertions as the real race's: here they see the double sale.
        assert _confirmed_holders(db_url, CONTESTED) > 1, outcomes
        report = doctor(db_url)
        assert any("seat triggers missing or disabled" in line for line in report.lines)
        assert any("hold other seats" in line for line in report.lines), report.lines
    finally:
        execute(db_url, "ALTER TABLE concert_seats ENABLE TRIGGER tb_guard_seat_holder")


SECTION_ROWS, SECTION_SEATS = 15, 20  # 300 seats
GROUP_BUYERS = 64


def _best_available_race(db_url: str, tmp_path: Path, tier: uuid.UUID) -> list[Any]:
    """64 buyers at once ask for the best 2 to 4 seats together, each with a fresh fan (the
    per-fan cap is on), until the section has no 2 seats together left."""

    async def scene(services: AppServices) -> list[Any]:
        results: list[Any] = []
        gate = asyncio.Event()

        async def buyer(i: int) -> None:
            rng = random.Random(i)
            await gate.wait()
            sizes = [2, 3, 4]
            while sizes:
                size = rng.choice(sizes)
                (fan,) = await _fans(services, 1)
                result = await services.engine.book(
                    user_id=fan, tier_id=tier, quantity=size, key=uuid.uuid4()
                )
                results.append((size, result))
                if result.outcome in (BookingOutcome.NOT_TOGETHER, BookingOutcome.SOLD_OUT):
                    sizes = [s for s in sizes if s < size]

        tasks = [asyncio.create_task(buyer(i)) for i in range(GROUP_BUYERS)]
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(*tasks)
        return results

    return _run(db_url, tmp_path, scene)


def test_best_available_groups_at_once_are_together_and_never_overlap(
    db_url: str, tmp_path: Path
) -> None:
    tier = seated_concert(db_url, tmp_path, section_block(SECTION_ROWS, SECTION_SEATS))["zones"][
        "standard"
    ]
    results = _best_available_race(db_url, tmp_path, tier)
    outcomes = Counter(r.outcome for _, r in results)
    assert set(outcomes) <= {
        BookingOutcome.CONFIRMED,
        BookingOutcome.NOT_TOGETHER,
        BookingOutcome.SOLD_OUT,
    }, outcomes
    seats = {
        r["code"]: (r["row_no"], r["position"])
        for r in fetch(db_url, "SELECT code, row_no, position FROM concert_seats")
    }
    sold: list[str] = []
    for size, result in results:
        if result.outcome is BookingOutcome.CONFIRMED:
            group = [seats[c] for c in result.booking.seats]
            assert len(group) == size
            rows = {row for row, _ in group}
            positions = sorted(p for _, p in group)
            assert len(rows) == 1 and positions == list(range(positions[0], positions[0] + size))
            sold += result.booking.seats
    assert len(sold) == len(set(sold)), "a seat was sold twice"
    free = fetch(
        db_url,
        "SELECT row_no, position FROM concert_seats WHERE booking_id IS NULL ORDER BY 1, 2",
    )
    assert len(sold) + len(free) == SECTION_ROWS * SECTION_SEATS
    # Sold out for pairs: no two free seats are side by side.
    pairs = [(a, b) for a, b in itertools.pairwise(free) if a[0] == b[0] and b[1] == a[1] + 1]
    assert not pairs
    print(
        f"{outcomes[BookingOutcome.CONFIRMED]} groups, {len(sold)} seats sold,"
        f" {len(free)} left alone"
    )
    report = doctor(db_url)
    assert report.violations == 0, report.lines
