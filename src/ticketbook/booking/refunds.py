"""Money owed back, asked of the provider until it answers.

A refund is owed in the same statement that makes it owed (a cancel, a payment that landed
for a booking that did not confirm, a hold the reaper expired), as a row in `refunds`. Right
after that commit the request asks the provider once (`attempt`); whatever happens then —
the provider fails, the process dies — the refunder (`run_refunder`, in every process) asks
again, backing off, until the provider says either "refunded" or "nothing was captured".
`ticketbook doctor` reports money captured for an unconfirmed booking with no refund owed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

import asyncpg

from ticketbook.booking import queries
from ticketbook.db.pool import Database
from ticketbook.domain.enums import RefundStatus
from ticketbook.observability.metrics import REFUNDS
from ticketbook.payments.gateway import PaymentGateway

log = logging.getLogger(__name__)

# How long a claimed refund is left to the process that claimed it before another may ask.
LEASE_S = 60.0
# The longest pause between two attempts on a failing provider.
MAX_BACKOFF_S = 300.0
REFUNDS_PER_ROUND = 100


@dataclass(frozen=True)
class Refunds:
    db: Database
    gateway: PaymentGateway

    async def attempt(self, refund_id: uuid.UUID) -> None:
        """Ask for this refund now (right after it became owed), if nobody else is."""
        await self._ask(await self.db.fetch(queries.CLAIM_REFUNDS_SQL, 1, refund_id, LEASE_S))

    async def retry_due(self, limit: int = REFUNDS_PER_ROUND) -> int:
        """Ask again for the refunds that are due; return how many were asked for."""
        claimed = await self.db.fetch(queries.CLAIM_REFUNDS_SQL, limit, None, LEASE_S)
        await self._ask(claimed)
        return len(claimed)

    async def _ask(self, claimed: list[asyncpg.Record]) -> None:
        for row in claimed:
            try:
                answer = await self.gateway.refund(key=row["provider_key"])
            except Exception as exc:
                log.warning("refund %s failed (attempt %d): %r", row["id"], row["attempts"], exc)
                await self.db.execute(
                    queries.RETRY_REFUND_SQL, row["id"], repr(exc)[:500], MAX_BACKOFF_S
                )
                continue
            status = RefundStatus.DONE if answer.refunded else RefundStatus.NOTHING_CAPTURED
            if answer.refunded:
                REFUNDS.inc()
            await self.db.execute(
                queries.FINISH_REFUND_SQL, row["id"], status, answer.provider_reference
            )


async def run_refunder(refunds: Refunds, interval_s: float) -> None:
    """Loop until cancelled: ask again for the refunds that are due."""
    while True:
        try:
            while await refunds.retry_due() == REFUNDS_PER_ROUND:
                pass
        except asyncio.CancelledError:
            raise
        except Exception:
            # The database may be restarting; try again next round.
            log.exception("refunder round failed")
        await asyncio.sleep(interval_s)
