"""A simulated provider with a real one's failure modes: decline, timeout, provider error."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid

from ticketbook.payments.gateway import ChargeOutcome, ChargeResult, RefundResult
from ticketbook.settings import PaymentSettings


def _uniform(key: uuid.UUID, purpose: bytes) -> float:
    """A number in [0, 1) fixed by the key: every worker process draws the same one."""
    digest = hashlib.sha256(purpose + key.bytes).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class SimulatedGateway:
    """A charge's outcome is derived from our payment key, so the "provider's ledger" is the
    same in every worker process: a refund that lands on another worker than its charge still
    finds the money. Random keys make the outcomes random at the configured rates.

    A timeout is the nasty case: we stop waiting but the provider may capture the money anyway
    (half the time here), which is why callers refund after a timeout.
    """

    def __init__(self, settings: PaymentSettings) -> None:
        self._settings = settings
        self._jitter = random.Random()
        self._refunded: set[uuid.UUID] = set()

    def _outcome(self, key: uuid.UUID) -> ChargeOutcome:
        s = self._settings
        if _uniform(key, b"outcome") < s.success_rate:
            return ChargeOutcome.SUCCEEDED
        failure = _uniform(key, b"failure")
        if failure < s.timeout_share:
            return ChargeOutcome.TIMEOUT
        if failure < s.timeout_share + s.error_share:
            return ChargeOutcome.ERROR
        return ChargeOutcome.DECLINED

    def _captured(self, key: uuid.UUID) -> bool:
        outcome = self._outcome(key)
        if outcome is ChargeOutcome.TIMEOUT:
            return _uniform(key, b"late-capture") < 0.5
        return outcome is ChargeOutcome.SUCCEEDED

    @staticmethod
    def _reference(key: uuid.UUID, prefix: str) -> str:
        return f"{prefix}_{hashlib.sha256(key.bytes).hexdigest()[:16]}"

    async def _network_delay(self) -> None:
        s = self._settings
        delay_ms = s.latency_ms + self._jitter.uniform(-1.0, 1.0) * s.latency_jitter_ms
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)

    async def charge(self, *, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        outcome = self._outcome(key)
        if outcome is ChargeOutcome.TIMEOUT:
            # The provider is slow past our deadline (and may capture anyway).
            await asyncio.sleep(self._settings.timeout_ms / 1000.0)
            return ChargeResult(outcome, failure_reason="payment provider timed out")
        await self._network_delay()
        if outcome is ChargeOutcome.SUCCEEDED:
            return ChargeResult(outcome, provider_reference=self._reference(key, "sim_ch"))
        if outcome is ChargeOutcome.DECLINED:
            return ChargeResult(outcome, failure_reason="card declined")
        return ChargeResult(outcome, failure_reason="payment provider error")

    async def refund(self, *, key: uuid.UUID) -> RefundResult:
        await self._network_delay()
        if key in self._refunded or not self._captured(key):
            return RefundResult(refunded=False)
        self._refunded.add(key)
        return RefundResult(refunded=True, provider_reference=self._reference(key, "sim_re"))
