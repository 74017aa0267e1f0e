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

from tests.support.gateways import HeldThenDeclined
from tests.support.inprocess import app_settings
from tests.support.inventory import doctor, execute, fetch, fetchval
from tests.support.seating import seated_concert
from tests.support.waiting import async_wait_until
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


def test_the_per_fan_cap_counts_seats_and_cancel_returns_them(db_url: str, tmp_path: Path) -> None:
    tier = seated_concert(db_url, tmp_path, section_block(2, 10))["zones"]["standard"]

    async def scene(services: AppServices) -> list[Any]:
        (fan,) = await _fans(services, 1)
        six = await services.engine.book(user_id=fan, tier_id=tier, quantity=6, key=uuid.uuid4())
        five = await services.engine.book(user_id=fan, tier_id=tier, quantity=5, key=uuid.uuid4())
        assert six.booking is not None
        cancelled = await services.engine.cancel(user_id=fan, booking_id=six.booking.id)
        again = await services.engine.book(
            user_id=fan,
            tier_id=tier,
            quantity=2,
            key=uuid.uuid4(),
            seats=tuple(six.booking.seats or ())[:2],
        )
        return [six, five, cancelled, again]

    six, five, cancelled, again = _run(db_url, tmp_path, scene)
    assert six.outcome is BookingOutcome.CONFIRMED and len(six.booking.seats) == 6
    assert five.outcome is BookingOutcome.TICKET_CAP  # 6 + 5 seats > the cap of 10
    assert cancelled.status == "CANCELLED" and cancelled.seats == six.booking.seats
    # The cancelled booking's seats are free again: the same fan takes two of them.
    assert again.outcome is BookingOutcome.CONFIRMED
    assert again.booking.seats == six.booking.seats[:2]
    assert doctor(db_url).violations == 0


def test_the_reaper_returns_an_expired_holds_seats(db_url: str, tmp_path: Path) -> None:
    from ticketbook.booking.reaper import expire_holds

    tier = seated_concert(db_url, tmp_path, section_block(1, 4))["zones"]["standard"]
    execute(
        db_url,
        "WITH guest AS (INSERT INTO users DEFAULT VALUES RETURNING id),"
        " held AS (INSERT INTO bookings (user_id, concert_id, tier_id, quantity,"
        " unit_price_cents, total_cents, currency, status, hold_expires_at, seats)"
        " SELECT guest.id, t.concert_id, t.id, 2, t.price_cents, 2 * t.price_cents, t.currency,"
        " 'PENDING', now() - interval '1 minute', ARRAY['S:A:2', 'S:A:3']"
        " FROM guest, ticket_tiers t WHERE t.id = $1 RETURNING id),"
        " stock AS (UPDATE tier_stock SET available = available - 2 WHERE tier_id = $1)"
        " UPDATE concert_seats s SET booking_id = held.id FROM held"
        " WHERE s.tier_id = $1 AND s.code IN ('S:A:2', 'S:A:3')",
        tier,
    )
    assert doctor(db_url).violations == 0

    async def scene(services: AppServices) -> int:
        return await expire_holds(services.db, services.engine.refunds, 100)

    assert _run(db_url, tmp_path, scene) == 1
    free = fetchval(db_url, "SELECT count(*) FROM concert_seats WHERE booking_id IS NULL")
    assert free == 4
    assert doctor(db_url).violations == 0


def test_a_seat_held_by_a_payment_in_flight_is_waited_for(db_url: str, tmp_path: Path) -> None:
    # Nobody is refused a seat that is only held by a payment that may still fail, and that
    # payment holds no lock meanwhile.
    tier = seated_concert(db_url, tmp_path, section_block(1, 4))["zones"]["standard"]
    gateway = HeldThenDeclined()

    async def scene() -> list[Any]:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, gateway=gateway, run_background_jobs=False
        ) as services:
            first, second, third = await _fans(services, 3)

            async def buy(user_id: uuid.UUID) -> Any:
                return await services.engine.book(
                    user_id=user_id, tier_id=tier, quantity=1, key=uuid.uuid4(), seats=("S:A:2",)
                )

            holder = asyncio.create_task(buy(first))
            await asyncio.wait_for(gateway.charging.wait(), 10)
            # No lock is held across the payment: a third fan books the seat beside it, and
            # best available in the zone, while that payment is still out.
            beside = await services.engine.book(
                user_id=third, tier_id=tier, quantity=1, key=uuid.uuid4(), seats=("S:A:3",)
            )
            best = await services.engine.book(
                user_id=third, tier_id=tier, quantity=1, key=uuid.uuid4()
            )
            assert beside.outcome is best.outcome is BookingOutcome.CONFIRMED, (beside, best)
            waiter = asyncio.create_task(buy(second))
            releases = services.engine.releases
            await async_wait_until(lambda: releases.waiting == 1, "the second buyer waits")
            gateway.release.set()
            return [await holder, await waiter]

    holder, waiter = asyncio.run(scene())
    assert holder.outcome is BookingOutcome.DECLINED
    assert waiter.outcome is BookingOutcome.CONFIRMED
    assert waiter.booking.seats == ["S:A:2"]
    assert doctor(db_url).violations == 0


def test_best_available_follows_the_rule(db_url: str, tmp_path: Path) -> None:
    # One row of 9: seats 1-9, the stage's centre in front of seat 5.
    tier = seated_concert(db_url, tmp_path, section_block(1, 9))["zones"]["standard"]

    async def scene(services: AppServices) -> list[list[str]]:
        fans = await _fans(services, 4)
        got = []
        for fan, (quantity, seats) in zip(
            fans, [(1, ("S:A:5",)), (2, ()), (3, ()), (2, ())], strict=True
        ):
            result = await services.engine.book(
                user_id=fan, tier_id=tier, quantity=quantity, key=uuid.uuid4(), seats=seats
            )
            assert result.booking is not None, result
            got.append(result.booking.seats)
        return got

    centre, pair, trio, last_pair = _run(db_url, tmp_path, scene)
    assert centre == ["S:A:5"]
    seats = [[f"S:A:{n}" for n in block] for block in ([3, 4], [6, 7, 8], [1, 2])]
    mirrored = [[f"S:A:{n}" for n in block] for block in ([6, 7], [2, 3, 4], [8, 9])]
    # Free runs 1-4 and 6-9, the two sides of seat 5 equally close. A pair takes 3-4 (or 6-7):
    # it leaves no seat alone (2-3 would leave 1 and 4), and is closer than 1-2. A trio in a run
    # of four can't help leaving one seat alone, so the closest: 6-8 (or 2-4). The last pair
    # takes the two seats side by side that are left.
    assert [pair, trio, last_pair] in (seats, mirrored)
