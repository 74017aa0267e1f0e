"""One booking costs two SQL statements (hold, settle); the tier's row lock lasts one statement.

The engine runs in-process here so every statement it sends can be counted with asyncpg's
query logger.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from tests.support.inventory import fetchval, make_concert, tier_counts
from tests.support.waiting import async_wait_until
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.booking.service import BookingEngine
from ticketbook.db.pool import Database, create_pool
from ticketbook.payments.simulated import SimulatedGateway
from ticketbook.ratelimit.limiter import RateLimiter
from ticketbook.settings import PaymentSettings, Settings


async def _count_statements(
    db_url: str, tier_id: str, success_rate: float
) -> tuple[int, list[str]]:
    statements: list[str] = []
    logged: set[int] = set()

    async def log_queries(conn: Any) -> None:
        raw = conn._con  # the pooled connection behind the proxy
        if id(raw) not in logged:
            logged.add(id(raw))
            raw.add_query_logger(lambda record: statements.append(record.query))

    pool = await create_pool(db_url, Settings(), setup=log_queries, min_size=1, max_size=2)
    try:
        # Failures are plain declines: a timeout owes a refund, which is two statements more.
        gateway = SimulatedGateway(
            PaymentSettings(
                success_rate=success_rate,
                timeout_share=0,
                error_share=0,
                latency_ms=0,
                latency_jitter_ms=0,
            )
        )
        db = Database(pool, 2.0)
        # The production limits: the rate limit is counted inside the hold.
        limiter = RateLimiter(db, Settings().limits)
        engine = BookingEngine(db, gateway, 600.0, 5.0, limiter=limiter)
        user_id = await pool.fetchval("INSERT INTO users DEFAULT VALUES RETURNING id")
        statements.clear()
        result = await engine.book(
            user_id=user_id,
            tier_id=uuid.UUID(tier_id),
            quantity=2,
            key=uuid.uuid4(),
            address="192.0.2.7",
        )
        return result.outcome, [s for s in statements if not _is_type_introspection(s)]
    finally:
        await pool.close()


def _is_type_introspection(statement: str) -> bool:
    """asyncpg's lookup of the array types the hold's rate-limit buckets are sent as: once
    per new connection (it keeps the codecs), not per booking."""
    text = statement.strip()
    return (
        text.startswith("WITH RECURSIVE typeinfo_tree")
        or "set_config('jit'" in text
        or (text.startswith("SELECT") and "current_setting('jit')" in text)
    )


def test_a_booking_is_two_statements_and_no_open_transaction(db_url: str) -> None:
    concert = make_concert(db_url, {"GA": 10})
    outcome, statements = asyncio.run(_count_statements(db_url, concert["tiers"]["GA"], 1.0))
    assert outcome is BookingOutcome.CONFIRMED
    assert len(statements) == 2, statements
    hold, settle = statements
    assert "UPDATE tier_stock" in hold and "INSERT INTO idempotency_keys" in hold
    assert "INSERT INTO rate_limit_buckets" in hold
    assert "INSERT INTO payments" in hold and "INSERT INTO bookings" in hold
    assert "UPDATE bookings" in settle and "UPDATE idempotency_keys" in settle
    # No explicit transaction: each statement commits on its own, so the tier row's lock is
    # released when the hold statement ends, before the payment call.
    assert not any(s.strip().upper().startswith(("BEGIN", "COMMIT")) for s in statements)
    assert tier_counts(db_url, concert["tiers"]["GA"]) == {
        "available": 8,
        "total": 10,
        "CONFIRMED": 2,
    }
    # Counted once per bucket: the fan's and the address's.
    assert fetchval(
        db_url,
        "SELECT array_agg(split_part(bucket, ':', 2) || '=' || hits ORDER BY bucket)"
        " FROM rate_limit_buckets WHERE bucket LIKE 'booking:%'",
    ) == ["account=1", "address=1"]


def test_a_declined_booking_is_also_two_statements(db_url: str) -> None:
    concert = make_concert(db_url, {"GA": 10})
    outcome, statements = asyncio.run(_count_statements(db_url, concert["tiers"]["GA"], 0.0))
    assert outcome is BookingOutcome.DECLINED
    assert len(statements) == 2, statements
    assert tier_counts(db_url, concert["tiers"]["GA"]) == {
        "available": 10,
        "total": 10,
        "FAILED": 2,
    }
    assert fetchval(db_url, "SELECT status FROM payments") == "DECLINED"


def test_the_lock_is_not_held_during_payment(db_url: str) -> None:
    """While the provider is thinking, another session can take the same tier's row lock."""
    concert = make_concert(db_url, {"GA": 10})
    tier_id = uuid.UUID(concert["tiers"]["GA"])

    async def scenario() -> bool:
        pool = await create_pool(db_url, Settings(), min_size=1, max_size=2)
        gateway = SimulatedGateway(
            PaymentSettings(success_rate=1.0, latency_ms=1500, latency_jitter_ms=0)
        )
        engine = BookingEngine(Database(pool, 2.0), gateway, 600.0, 5.0)
        user_id = await pool.fetchval("INSERT INTO users DEFAULT VALUES RETURNING id")
        booking = asyncio.create_task(
            engine.book(user_id=user_id, tier_id=tier_id, quantity=1, key=uuid.uuid4())
        )
        await async_wait_until(
            lambda: pool.fetchval("SELECT count(*) FROM bookings WHERE status = 'PENDING'"),
            "the hold is done and the payment is in flight",
        )
        assert not booking.done()
        probe = await asyncpg.connect(db_url)
        try:
            async with probe.transaction():
                await probe.execute("SET LOCAL lock_timeout = '200ms'")
                locked = await probe.fetchval(
                    "SELECT available FROM tier_stock WHERE tier_id = $1 FOR UPDATE",
                    tier_id,
                )
        finally:
            await probe.close()
        result = await booking
        await pool.close()
        return locked == 9 and result.outcome is BookingOutcome.CONFIRMED

    assert asyncio.run(scenario())
