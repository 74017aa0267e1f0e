"""Direct database reads and set-up for assertions: counts, conservation, tiny catalogs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from ticketbook.ops.doctor import Report, diagnose


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _with_conn(url: str, fn: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await fn(conn)
    finally:
        await conn.close()


def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    return run(_with_conn(url, lambda c: c.fetch(sql, *args)))


def fetchval(url: str, sql: str, *args: Any) -> Any:
    return run(_with_conn(url, lambda c: c.fetchval(sql, *args)))


def execute(url: str, sql: str, *args: Any) -> Any:
    return run(_with_conn(url, lambda c: c.execute(sql, *args)))


def doctor(url: str, stuck_grace_s: float = 60.0) -> Report:
    return run(_with_conn(url, lambda c: diagnose(c, stuck_grace_s)))


def make_concert(
    url: str,
    quantities: dict[str, int],
    price_cents: int = 1000,
    *,
    timezone: str = "UTC",
    starts_at: datetime | None = None,
    stock_slots: int = 1,
) -> dict[str, Any]:
    """Create one upcoming concert with the given tiers (at the venue's IANA ``timezone``,
    starting at ``starts_at`` or in 30 days, each tier's stock over ``stock_slots`` rows);
    return its id and tier ids."""

    async def create(conn: asyncpg.Connection) -> dict[str, Any]:
        # The zone only when one is asked for: migration tests build concerts on schemas from
        # before concerts had one.
        zone = (", timezone", ", $5") if timezone != "UTC" else ("", "")
        concert_id = await conn.fetchval(
            f"INSERT INTO concerts (name, artist, venue, starts_at{zone[0]}) "
            f"VALUES ($1, $2, $3, $4{zone[1]}) RETURNING id",
            f"Test concert {uuid.uuid4().hex[:6]}",
            "Test Artist",
            "Test Venue",
            starts_at or datetime.now(UTC) + timedelta(days=30),
            *((timezone,) if zone[0] else ()),
        )
        # Before migration 0005 a tier kept its free count in a column; since, a trigger puts
        # the tickets in its stock slots.
        counter = await conn.fetchval("SELECT to_regclass('tier_stock') IS NULL")
        free = (", available_quantity", ", $4") if counter else ("", "")
        tiers = {}
        for tier_type, quantity in quantities.items():
            tier_id = await conn.fetchval(
                "INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency, "
                f"total_quantity{free[0]}) VALUES ($1, $2, $3, 'USD', $4{free[1]}) RETURNING id",
                concert_id,
                tier_type,
                price_cents,
                quantity,
            )
            if stock_slots > 1:
                await conn.execute("SELECT tb_split_stock($1, $2)", tier_id, stock_slots)
            tiers[tier_type] = str(tier_id)
        return {"id": str(concert_id), "tiers": tiers}

    result: dict[str, Any] = run(_with_conn(url, create))
    return result


def set_available(url: str, tier_id: str | None, available: int) -> None:
    """Put ``available`` tickets on sale in one tier (every tier if None), all in its first
    stock slot: how tests stage a tier near its sell-out without bookings."""
    execute(
        url,
        "UPDATE tier_stock SET available = CASE WHEN slot = 0 THEN $2 ELSE 0 END"
        " WHERE $1::uuid IS NULL OR tier_id = $1",
        None if tier_id is None else uuid.UUID(tier_id),
        available,
    )


def tier_counts(url: str, tier_id: str) -> dict[str, int]:
    """available, total, and tickets per booking status for one tier."""
    row = fetch(
        url,
        "SELECT t.available_quantity, t.total_quantity FROM ticket_tiers t WHERE t.id = $1",
        uuid.UUID(tier_id),
    )[0]
    by_status = {
        r["status"]: r["q"]
        for r in fetch(
            url,
            "SELECT status, sum(quantity)::int AS q FROM bookings"
            " WHERE tier_id = $1 GROUP BY status",
            uuid.UUID(tier_id),
        )
    }
    return {"available": row["available_quantity"], "total": row["total_quantity"], **by_status}


# Every table a refused request must leave alone (rate_limit_buckets is not among them: a
# refused request still counts against the limits).
DATA_TABLES = (
    "users",
    "concerts",
    "ticket_tiers",
    "tier_stock",
    "bookings",
    "payments",
    "idempotency_keys",
    "auth_sessions",
    "refunds",
)


# What `snapshot` reads, one column each, in one statement over one connection (the
# rejected-request tests take two or three snapshots a test, hundreds of tests).
_SNAPSHOT_SQL = "SELECT " + ", ".join(
    [
        *(f"(SELECT count(*) FROM {t}) AS {t}" for t in DATA_TABLES),
        "(SELECT sum(available) FROM tier_stock) AS available",
        "(SELECT string_agg(status, ',' ORDER BY id) FROM bookings) AS statuses",
        "(SELECT string_agg(role, ',' ORDER BY id) FROM users) AS roles",
        "(SELECT count(*) FROM auth_sessions WHERE revoked_at IS NULL) AS live_sessions",
    ]
)


def snapshot(url: str) -> dict[str, Any]:
    """Everything a rejected request must leave untouched."""
    return dict(fetch(url, _SNAPSHOT_SQL)[0])
