"""Payment gateways for tests that hold a payment in flight on purpose."""

from __future__ import annotations

import asyncio
import uuid

from ticketbook.payments.gateway import ChargeOutcome, ChargeResult, RefundResult


class HeldThenDeclined:
    """The first charge hangs until the test lets it go, then is declined; later ones pass."""

    def __init__(self) -> None:
        self.charging = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0

    async def charge(self, *, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        self.calls += 1
        if self.calls == 1:
            self.charging.set()
            await self.release.wait()
            return ChargeResult(ChargeOutcome.DECLINED, failure_reason="card declined")
        return ChargeResult(ChargeOutcome.SUCCEEDED, provider_reference=f"ok-{key}")

    async def refund(self, *, key: uuid.UUID) -> RefundResult:
        return RefundResult(refunded=False)
