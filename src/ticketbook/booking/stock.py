"""Split stock: a tier's free tickets spread over several rows, so one hot tier is not held
to what one row's lock lets through (about a thousand holds a second on this machine).

The rows are `tier_stock` (migration 0005); a hold (`queries.HOLD_SQL`) takes from any
unlocked slot with enough, and only when every such slot is locked does a second statement
(`queries.LOCKED_HOLD_SQL`) lock them all, so the last tickets are exact; tickets that come
back go to a slot chosen by the booking's id. An operator spreads a
big tier before its on-sale with ``ticketbook tier split TIER SLOTS`` (docs/operations.md).
"""

from __future__ import annotations

import uuid

import asyncpg

# Slots should outnumber the connections that book at once (else every slot is often locked
# and holds take the locked pass, which locks them all); the bound keeps that pass short.
MAX_STOCK_SLOTS = 64

SPLIT_STOCK_SQL = "SELECT tb_split_stock($1, $2)"
SEATED_ONE_SLOT = "ck_ticket_tiers_seated_one_slot"


class UnknownTier(ValueError):
    pass


async def split_stock(conn: asyncpg.Connection, tier_id: uuid.UUID, slots: int) -> int:
    """Spread the tier's free tickets evenly over ``slots`` rows (1 merges them back into
    one); return how many tickets are free. Safe while the tier is on sale."""
    if not 1 <= slots <= MAX_STOCK_SLOTS:
        raise ValueError(f"slots must be between 1 and {MAX_STOCK_SLOTS}, not {slots}")
    try:
        free: int = await conn.fetchval(SPLIT_STOCK_SQL, tier_id, slots)
    except asyncpg.NoDataFoundError as exc:
        raise UnknownTier(f"no ticket tier {tier_id}") from exc
    except asyncpg.CheckViolationError as exc:
        if exc.constraint_name != SEATED_ONE_SLOT:
            raise
        # A seated tier's holds take its one stock row with the seats they choose.
        raise ValueError(f"tier {tier_id} sells reserved seats: its stock is not split") from None
    return free
