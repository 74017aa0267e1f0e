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
from ticketbook.booking import queries
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.booking.stock import UnknownTier, split_stock
from ticketbook.db.locks import LockSpace
from ticketbook.ratelimit.limiter import NO_BUCKETS
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


class FanLock:
    """Holds one fan's per-concert lock (the cap's, migration 0002) from outside the app:
    that fan's hold then waits inside its statement, after the statement's snapshot was
    taken, while the test changes the stock under it."""

    def __init__(self, url: str, fan: uuid.UUID, concert_id: str) -> None:
        self.url, self.fan, self.concert_id = url, fan, concert_id

    async def __aenter__(self) -> FanLock:
        self.conn = await asyncpg.connect(self.url)
        self.transaction = self.conn.transaction()
        await self.transaction.start()
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2::uuid::text || $3::uuid::text))",
            LockSpace.FAN_CONCERT,
            self.fan,
            uuid.UUID(self.concert_id),
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.transaction.commit()
        await self.conn.close()


def _stage(db_url: str, tier_id: str, slots: list[int], total: int) -> None:
    execute(
        db_url,
        "UPDATE tier_stock SET available = ($2::int[])[slot + 1] WHERE tier_id = $1",
        uuid.UUID(tier_id),
        slots,
    )
    execute(
        db_url,
        "UPDATE ticket_tiers SET total_quantity = $2 WHERE id = $1",
        uuid.UUID(tier_id),
        total,
    )


def test_a_slot_taken_from_after_the_holds_snapshot_is_counted_as_it_is(
    db_url: str, tmp_path: Path
) -> None:
    """A fan's hold waits on that fan's cap lock after its snapshot saw 2 in a slot; another
    fan takes one meanwhile. The hold must leave 0 there, not 2 - 1 (a ticket made from a
    stale count). The next test is the case where a relative UPDATE did go wrong."""
    concert = make_concert(db_url, {"GA": 2}, stock_slots=2)
    tier_id = concert["tiers"]["GA"]
    _stage(db_url, tier_id, [2, 0], 2)

    async def scene() -> list[str]:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            fan, other = await _fans(services, 2)
            async with FanLock(db_url, fan, concert["id"]):
                hold = asyncio.create_task(_book(services, fan, tier_id, 1))
                await async_wait_until(
                    lambda: asyncio.to_thread(lock_waiters, db_url), "the hold waits for the fan"
                )
                first = await _book(services, other, tier_id, 1)
            return [first, await hold]

    assert asyncio.run(scene()) == [BookingOutcome.CONFIRMED, BookingOutcome.CONFIRMED]
    assert _slots(db_url, tier_id) == [0, 0]
    assert tier_counts(db_url, tier_id) == {"available": 0, "total": 2, "CONFIRMED": 2}
    assert doctor(db_url).violations == 0


def test_the_locked_pass_counts_a_ticket_returned_after_its_snapshot(
    db_url: str, tmp_path: Path
) -> None:
    """The locked pass (every slot locked, in order) after its snapshot saw slot 0 empty; a
    cancel returns a ticket there meanwhile. It takes that ticket and leaves 0. Written as
    `available - take`, the UPDATE computed from the snapshot's row: -1, refused by the
    CHECK (what the first benchmark of split stock met as 500s); hence absolute values."""
    concert = make_concert(db_url, {"GA": 2}, stock_slots=2)
    tier_id = concert["tiers"]["GA"]
    _stage(db_url, tier_id, [0, 1], 2)

    async def scene() -> tuple[uuid.UUID | None, str | None]:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            fan, other = await _fans(services, 2)
            engine = services.engine
            # The other fan holds the ticket slot 0 had (a confirmed booking).
            booking = await services.db.fetchval(
                "INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents,"
                " total_cents, currency, status, hold_expires_at) SELECT $1, concert_id, id, 1,"
                " price_cents, price_cents, currency, 'CONFIRMED', now() FROM ticket_tiers"
                " WHERE id = $2 RETURNING id",
                other,
                uuid.UUID(tier_id),
            )
            async with FanLock(db_url, fan, concert["id"]):
                hold = asyncio.create_task(
                    services.db.fetchrow(
                        queries.LOCKED_HOLD_SQL,
                        uuid.UUID(tier_id),
                        1,
                        fan,
                        uuid.uuid4(),
                        "fingerprint",
                        engine.hold_seconds,
                        uuid.uuid4(),
                        engine.max_tickets_per_concert,
                        engine.payment_timeout_s,
                        *NO_BUCKETS.arguments(),
                    )
                )
                await async_wait_until(
                    lambda: asyncio.to_thread(lock_waiters, db_url), "the hold waits for the fan"
                )
                # The other fan cancels: the ticket goes back to slot 0.
                await services.db.execute(
                    "WITH b AS (UPDATE bookings SET status = 'CANCELLED' WHERE id = $1)"
                    " UPDATE tier_stock SET available = available + 1"
                    " WHERE tier_id = $2 AND slot = 0",
                    booking,
                    uuid.UUID(tier_id),
                )
            row = await hold
            return row["id"], row["refusal"]

    booking_id, refusal = asyncio.run(scene())
    assert booking_id is not None and refusal is None
    assert _slots(db_url, tier_id) == [0, 1]
    assert tier_counts(db_url, tier_id) == {
        "available": 1,
        "total": 2,
        "PENDING": 1,
        "CANCELLED": 1,
    }
    assert doctor(db_url).violations == 0
