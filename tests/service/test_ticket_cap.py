"""The per-fan cap inside the hold statement, on two real transactions: a hold waits for the
same fan's uncommitted hold and then counts it. (Moved from tests/system/test_ticket_cap.py.)"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.support.inventory import fetchval, make_concert
from tests.support.waiting import async_wait_until
from ticketbook.booking import queries
from ticketbook.booking.idempotency import booking_fingerprint
from ticketbook.ratelimit.limiter import NO_BUCKETS

CAP = 10


async def _hold(conn: asyncpg.Connection, user: uuid.UUID, tier: uuid.UUID, quantity: int) -> str:
    """The production hold statement, with a cap of CAP; the refusal, or 'held'."""
    row = await conn.fetchrow(
        queries.HOLD_SQL,
        tier,
        quantity,
        user,
        uuid.uuid4(),
        booking_fingerprint(tier, quantity),
        600.0,
        uuid.uuid4(),
        CAP,
        5.0,  # the longest a payment may take
        *NO_BUCKETS.arguments(),
    )
    assert row is not None
    return "held" if row["id"] is not None else str(row["refusal"])


def test_a_hold_waits_for_the_same_fans_uncommitted_hold_and_then_sees_it(db_url: str) -> None:
    """Deterministic: hold A (8 tickets) is open, not committed; hold B (4 tickets, another
    tier of the same concert) must wait for it, then count A's tickets and be refused. A cap
    read with the statement's own snapshot would miss A and let B through."""
    concert = make_concert(db_url, {"VIP": 20, "GA": 20})
    vip, ga = (uuid.UUID(concert["tiers"][t]) for t in ("VIP", "GA"))

    async def scene() -> tuple[str, str, bool]:
        first = await asyncpg.connect(db_url)
        second = await asyncpg.connect(db_url)
        try:
            user = await first.fetchval("INSERT INTO users (role) VALUES ('guest') RETURNING id")
            transaction = first.transaction()
            await transaction.start()
            held = await _hold(first, user, vip, 8)
            waiting = asyncio.create_task(_hold(second, user, ga, 4))
            # B is blocked on A's per-fan advisory lock, not on any tier row.
            blocked = bool(
                await async_wait_until(
                    lambda: first.fetchval(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    ),
                    "hold B waits on the fan's advisory lock",
                    timeout_s=5,
                )
            )
            assert not waiting.done()
            await transaction.commit()
            return held, await asyncio.wait_for(waiting, 10), blocked
        finally:
            await first.close()
            await second.close()

    held, second_answer, was_blocked = asyncio.run(scene())
    assert held == "held"
    assert was_blocked
    assert second_answer == "ticket_cap"
    assert (
        fetchval(db_url, "SELECT t.available_quantity FROM ticket_tiers t WHERE t.id = $1", ga)
        == 20
    )
