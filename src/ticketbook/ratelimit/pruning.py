"""Drops rate-limit windows that are over, now and then, so the table stays small.

Its own background task (not the reaper's: that one returns tickets and must not wait on
this). One process prunes at a time, under a try-lock; the others skip the round.
"""

from __future__ import annotations

import asyncio
import logging

from ticketbook.db.locks import JobLock
from ticketbook.db.pool import Database
from ticketbook.ratelimit import queries

log = logging.getLogger(__name__)

# Windows last seconds to an hour; dropping the finished ones every few minutes is plenty.
PRUNE_INTERVAL_S = 300.0


async def prune_buckets(db: Database) -> int:
    """Delete the buckets whose window is over; return how many (0 when another process
    is pruning right now)."""
    async with db.connection() as conn, conn.transaction():
        if not await conn.fetchval(
            "SELECT pg_try_advisory_xact_lock($1)", JobLock.RATE_LIMIT_PRUNE
        ):
            return 0
        status: str = await conn.execute(queries.PRUNE_SQL)
    return int(status.split()[-1])


async def run_pruner(db: Database, interval_s: float = PRUNE_INTERVAL_S) -> None:
    """Loop until cancelled: prune, then wait."""
    while True:
        try:
            pruned = await prune_buckets(db)
            if pruned:
                log.info("pruned %d finished rate-limit windows", pruned)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The database may be restarting; try again next round.
            log.exception("rate-limit pruning failed")
        await asyncio.sleep(interval_s)
