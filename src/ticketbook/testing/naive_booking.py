"""TEST-ONLY: the booking race done wrong (read the count, write it back, no lock).

It exists so the race test can prove it detects what the row lock prevents. The route that
uses it is mounted only with TICKETBOOK_ENABLE_TEST_ROUTES=1.
"""

from __future__ import annotations

import asyncio
import uuid

from ticketbook.db.pool import Database
from ticketbook.domain.enums import BookingStatus

# Long enough that concurrent requests interleave between the read and the write.
READ_WRITE_GAP_S = 0.005


async def naive_book(db: Database, user_id: uuid.UUID, tier_id: uuid.UUID, quantity: int) -> bool:
    # The tier's first stock slot (the race test's tiers have one).
    available = await db.fetchval(
        "SELECT available FROM tier_stock WHERE tier_id = $1 AND slot = 0", tier_id
    )
    if available is None or available < quantity:
        return False
    await asyncio.sleep(READ_WRITE_GAP_S)
    await db.execute(
        "UPDATE tier_stock SET available = $2 WHERE tier_id = $1 AND slot = 0",
        tier_id,
        available - quantity,
    )
    await db.execute(
        f"""
        INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents,
                              total_cents, currency, status, hold_expires_at)
        SELECT $1, concert_id, id, $3, price_cents, price_cents * $3, currency,
               '{BookingStatus.CONFIRMED}', now()
          FROM ticket_tiers WHERE id = $2
        """,
        user_id,
        tier_id,
        quantity,
    )
    return True


async def naive_book_seat(db: Database, user_id: uuid.UUID, tier_id: uuid.UUID, code: str) -> bool:
    """The seat race done wrong: read that the seat is free, then claim it for a new booking
    with an unconditional write. Only the database's guard (migration 0006) can stop it."""
    free = await db.fetchval(
        "SELECT booking_id IS NULL FROM concert_seats WHERE tier_id = $1 AND code = $2",
        tier_id,
        code,
    )
    if not free:
        return False
    await asyncio.sleep(READ_WRITE_GAP_S)
    await db.execute(
        f"""
        WITH booking AS (
            INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents,
                                  total_cents, currency, status, hold_expires_at, seats)
            SELECT $1, concert_id, id, 1, price_cents, price_cents, currency,
                   '{BookingStatus.CONFIRMED}', now(), ARRAY[$3]
              FROM ticket_tiers WHERE id = $2
         RETURNING id
        ), stock AS (
            UPDATE tier_stock SET available = available - 1 WHERE tier_id = $2 AND slot = 0
        )
        UPDATE concert_seats s SET booking_id = b.id
          FROM booking b WHERE s.tier_id = $2 AND s.code = $3
        """,
        user_id,
        tier_id,
        code,
    )
    return True
