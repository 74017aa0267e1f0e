"""A simulated provider with a real one's failure modes: decline, timeout, provider error."""

from __future__ import annotations

import asyncio
import random
import uuid

from ticketbook.config import PaymentSettings
from ticketbook.payments.gateway import ChargeOutcome, ChargeResult, RefundResult


class SimulatedGateway:
    """In-memory ledger keyed by our payment key, so charges and refunds are idempotent.

    A timeout is the nasty case: we stop waiting but the provider may still capture the money
    (half the time here), which is why callers refund after a timeout.
    """

    def __init__(self, settings: PaymentSettings, rng: random.Random | None = None) -> None:
        self._settings = settings
        self._rng = rng or random.Random()
        self._captured: dict[uuid.UUID, str] = {}
        self._results: dict[uuid.UUID, ChargeResult] = {}

    async def _network_delay(self) -> None:
        s = self._settings
        delay_ms = s.latency_ms + self._rng.uniform(-1.0, 1.0) * s.latency_jitter_ms
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)

    def _draw(self) -> ChargeOutcome:
        s = self._settings
        if self._rng.random() < s.success_rate:
            return ChargeOutcome.SUCCEEDED
        failure = self._rng.random()
        if failure < s.timeout_share:
            return ChargeOutcome.TIMEOUT
        if failure < s.timeout_share + s.error_share:
            return ChargeOutcome.ERROR
        return ChargeOutcome.DECLINED

    async def charge(self, *, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        if key in self._results:
            return self._results[key]
        outcome = self._draw()
        if outcome is ChargeOutcome.TIMEOUT:
            # The provider is slow past our deadline; it may capture anyway.
            await asyncio.sleep(self._settings.timeout_ms / 1000.0)
            if self._rng.random() < 0.5:
                self._captured[key] = f"sim_ch_{uuid.uuid4().hex[:16]}"
            result = ChargeResult(outcome, failure_reason="payment provider timed out")
        else:
            await self._network_delay()
            if outcome is ChargeOutcome.SUCCEEDED:
                reference = f"sim_ch_{uuid.uuid4().hex[:16]}"
                self._captured[key] = reference
                result = ChargeResult(outcome, provider_reference=reference)
            elif outcome is ChargeOutcome.DECLINED:
                result = ChargeResult(outcome, failure_reason="card declined")
            else:
                result = ChargeResult(outcome, failure_reason="payment provider error")
        self._results[key] = result
        return result

    async def refund(self, *, key: uuid.UUID) -> RefundResult:
        await self._network_delay()
        reference = self._captured.pop(key, None)
        if reference is None:
            return RefundResult(refunded=False)
        return RefundResult(refunded=True, provider_reference=f"sim_re_{reference[7:]}")

    def captured_keys(self) -> set[uuid.UUID]:
        """Keys whose money the provider holds now (for tests and reconciliation)."""
        return set(self._captured)
