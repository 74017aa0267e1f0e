"""The payment gateway interface. A real provider plugs in behind the same two calls."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Protocol


class ChargeOutcome(enum.StrEnum):
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    # We stopped waiting; the provider may or may not have taken the money.
    TIMEOUT = "TIMEOUT"
    ERROR = "ERROR"


@dataclass(frozen=True)
class ChargeResult:
    outcome: ChargeOutcome
    provider_reference: str | None = None
    failure_reason: str | None = None

    @property
    def paid(self) -> bool:
        return self.outcome is ChargeOutcome.SUCCEEDED


@dataclass(frozen=True)
class RefundResult:
    # False when the provider never captured anything under that key (nothing to give back).
    refunded: bool
    provider_reference: str | None = None


class PaymentGateway(Protocol):
    async def charge(self, *, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        """Charge once per ``key``: a retry with the same key never charges twice."""
        ...

    async def refund(self, *, key: uuid.UUID) -> RefundResult:
        """Give back whatever was captured under ``key``; safe to call more than once."""
        ...
