"""The settle runs after the money moved: a pool that is momentarily full delays it rather
than fail it. A failed settle would answer 503 for a paid booking and leave its tickets held
until the reaper expires the hold, minutes later (the 256-client bench met one)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from tests.support.inventory import make_concert, tier_counts
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.booking.service import BookingEngine
from ticketbook.db.pool import Database, PoolExhausted, create_pool
from ticketbook.payments.gateway import ChargeOutcome, ChargeResult, RefundResult
from ticketbook.settings import Settings

ACQUIRE_TIMEOUT_S = 0.3
BUSY_S = 1.0  # how long another request keeps the only connection: past the acquire bound


class PoolFullWhilePaying:
    """Succeeds, but while it charges another request takes the pool's only connection and
    keeps it for BUSY_S."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.hog: asyncio.Task[None] | None = None

    async def charge(self, *, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        taken = asyncio.Event()

        async def keep_the_connection() -> None:
            async with self.db.connection():
                taken.set()
                await asyncio.sleep(BUSY_S)

        self.hog = asyncio.create_task(keep_the_connection())
        await taken.wait()
        return ChargeResult(ChargeOutcome.SUCCEEDED, provider_reference=f"ok-{key}")

    async def refund(self, *, key: uuid.UUID) -> RefundResult:
        return RefundResult(refunded=False)


async def _book(db_url: str, tier_id: str, settle_acquire_timeout_s: float | None) -> object:
    pool = await create_pool(db_url, Settings(), min_size=1, max_size=1)
    try:
        db = Database(pool, ACQUIRE_TIMEOUT_S)
        gateway = PoolFullWhilePaying(db)
        engine = BookingEngine(db, gateway, 600.0, 5.0)
        if settle_acquire_timeout_s is not None:
            engine = dataclasses.replace(engine, settle_acquire_timeout_s=settle_acquire_timeout_s)
        user_id = await pool.fetchval("INSERT INTO users DEFAULT VALUES RETURNING id")
        try:
            result = await engine.book(
                user_id=user_id, tier_id=uuid.UUID(tier_id), quantity=1, key=uuid.uuid4()
            )
            return result.outcome
        finally:
            if gateway.hog is not None:
                await gateway.hog
    finally:
        await pool.close()


def test_a_settle_waits_for_a_connection_past_the_pools_bound(db_url: str) -> None:
    concert = make_concert(db_url, {"GA": 5})
    outcome = asyncio.run(_book(db_url, concert["tiers"]["GA"], None))
    assert outcome is BookingOutcome.CONFIRMED
    assert tier_counts(db_url, concert["tiers"]["GA"]) == {
        "available": 4,
        "total": 5,
        "CONFIRMED": 1,
    }


def test_control_a_settle_bound_by_the_pools_timeout_fails_and_leaves_the_hold(
    db_url: str,
) -> None:
    """The control: held to the pool's own bound, the same settle fails and the paid booking
    stays PENDING, its ticket held."""
    concert = make_concert(db_url, {"GA": 5})
    with pytest.raises(PoolExhausted):
        asyncio.run(_book(db_url, concert["tiers"]["GA"], ACQUIRE_TIMEOUT_S))
    assert tier_counts(db_url, concert["tiers"]["GA"]) == {
        "available": 4,
        "total": 5,
        "PENDING": 1,
    }
