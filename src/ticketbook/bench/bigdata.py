"""`--rows N`: fill the database with N past bookings, as a long-running shop would have.

The rows go to an archived (past) concert whose tier they sold out, so the conservation law
still holds and the live catalog is untouched. COPY in chunks, with progress on stderr.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from ticketbook.domain.enums import BookingStatus, Role, TierType

CHUNK = 100_000
BOOKINGS_PER_USER = 10

COLUMNS = (
    "id",
    "user_id",
    "concert_id",
    "tier_id",
    "quantity",
    "unit_price_cents",
    "total_cents",
    "currency",
    "status",
    "hold_expires_at",
    "created_at",
    "updated_at",
)


async def fill_bookings(conn: asyncpg.Connection, rows: int) -> float:
    """Insert ``rows`` confirmed past bookings; return the seconds it took."""
    started = time.perf_counter()
    past = datetime.now(UTC) - timedelta(days=400)
    concert_id = await conn.fetchval(
        "INSERT INTO concerts (name, artist, venue, starts_at) VALUES"
        " ('Archive: last season', 'Various', 'Archive Hall', $1) RETURNING id",
        past,
    )
    tier_id = await conn.fetchval(
        "INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency, total_quantity)"
        f" VALUES ($1, '{TierType.GA}', 1000, 'USD', $2) RETURNING id",
        concert_id,
        rows,
    )
    # Every ticket of it is sold (the bookings below).
    await conn.execute("UPDATE tier_stock SET available = 0 WHERE tier_id = $1", tier_id)
    users = max(1, rows // BOOKINGS_PER_USER)
    user_ids = [
        r["id"]
        for r in await conn.fetch(
            f"INSERT INTO users (role) SELECT '{Role.GUEST}' FROM generate_series(1, $1) "
            "RETURNING id",
            users,
        )
    ]
    done = 0
    while done < rows:
        count = min(CHUNK, rows - done)
        records = []
        for i in range(done, done + count):
            at = past + timedelta(seconds=i % 31_000_000)
            records.append(
                (
                    uuid.uuid4(),
                    user_ids[i % users],
                    concert_id,
                    tier_id,
                    1,
                    1000,
                    1000,
                    "USD",
                    BookingStatus.CONFIRMED,
                    at,
                    at,
                    at,
                )
            )
        await conn.copy_records_to_table("bookings", records=records, columns=COLUMNS)
        done += count
        elapsed = time.perf_counter() - started
        sys.stderr.write(f"\rfilling bookings: {done:>9}/{rows} ({elapsed:5.1f}s)")
        sys.stderr.flush()
    sys.stderr.write("\n")
    return time.perf_counter() - started
