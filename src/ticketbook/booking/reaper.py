"""Releases holds whose time ran out, so a crash between hold and settle loses no ticket."""

from __future__ import annotations

import asyncio
import logging

from ticketbook.booking import queries
from ticketbook.booking.refunds import Refunds
from ticketbook.booking.releases import TierReleases
from ticketbook.booking.service import booking_wire
from ticketbook.db.locks import JobLock
from ticketbook.db.pool import Database
from ticketbook.observability.metrics import HOLDS_EXPIRED, REAPER_RUNS

log = logging.getLogger(__name__)


async def expire_holds(
    db: Database,
    refunds: Refunds,
    batch_size: int,
    releases: TierReleases | None = None,
) -> int:
    """Expire up to ``batch_size`` overdue holds; return how many were expired. Requests in
    this process waiting for those tickets are woken (``releases``)."""
    async with db.connection() as conn, conn.transaction():
        # One reaper at a time across all processes: batches touch several tier rows, and two
        # reapers locking them in different orders could deadlock.
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", JobLock.REAPER):
            return 0
        rows = await conn.fetch(queries.EXPIRE_HOLDS_SQL, batch_size)
        if rows:
            await conn.executemany(
                queries.ANSWER_EXPIRED_KEY_SQL,
                [(r["id"], booking_wire(r)) for r in rows],
            )
    if releases is not None:
        for r in rows:
            releases.released(r["tier_id"], r["quantity"])
    # Outside the transaction: a payment may have been captured just before the crash; the
    # statement owed it back, and the refunder asks again if this fails.
    for r in rows:
        if r["refund_id"] is not None:
            await refunds.attempt(r["refund_id"])
    if rows:
        HOLDS_EXPIRED.labels("reaper").inc(len(rows))
        log.info("reaper expired %d holds", len(rows))
    return len(rows)


async def run_reaper(
    db: Database,
    refunds: Refunds,
    interval_s: float,
    batch_size: int,
    releases: TierReleases | None = None,
) -> None:
    """Loop forever (until cancelled), draining overdue holds batch by batch."""
    while True:
        try:
            while await expire_holds(db, refunds, batch_size, releases) == batch_size:
                pass
            REAPER_RUNS.labels("ok").inc()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The database may be restarting; try again next round.
            REAPER_RUNS.labels("error").inc()
            log.exception("reaper run failed")
        await asyncio.sleep(interval_s)
