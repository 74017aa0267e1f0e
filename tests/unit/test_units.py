"""Pure parts with no database: tokens, idempotency keys, the simulated gateway, settings."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from ticketbook.auth.tokens import TokenSigner
from ticketbook.booking.idempotency import InvalidIdempotencyKey, booking_fingerprint, parse_key
from ticketbook.payments.gateway import ChargeOutcome
from ticketbook.payments.simulated import SimulatedGateway
from ticketbook.settings import ConfigError, PaymentSettings, Settings


def test_tokens_verify_only_when_signed_with_the_same_key() -> None:
    user_id = uuid.uuid4()
    token = TokenSigner("k1").issue(user_id)
    assert TokenSigner("k1").verify(token) == user_id
    assert TokenSigner("k2").verify(token) is None
    payload, _, signature = token.partition(".")
    other = uuid.uuid4().hex
    assert TokenSigner("k1").verify(f"{other}.{signature}") is None
    for junk in ("", ".", "abc", f"{payload}.", "x" * 500, f"{payload}.{signature}x"):
        assert TokenSigner("k1").verify(junk) is None


def test_idempotency_key_parsing() -> None:
    key = uuid.uuid4()
    assert parse_key(str(key), None) == key
    assert parse_key(None, str(key)) == key
    assert parse_key(str(key), str(key)) == key
    for header, body in ((None, None), ("", None), ("nope", None), (str(key), str(uuid.uuid4()))):
        with pytest.raises(InvalidIdempotencyKey):
            parse_key(header, body)


def test_fingerprint_depends_on_the_whole_request() -> None:
    tier = uuid.uuid4()
    assert booking_fingerprint(tier, 1) == booking_fingerprint(tier, 1)
    assert booking_fingerprint(tier, 1) != booking_fingerprint(tier, 2)
    assert booking_fingerprint(tier, 1) != booking_fingerprint(uuid.uuid4(), 1)


def _instant(**kwargs: float) -> PaymentSettings:
    return PaymentSettings(latency_ms=0, latency_jitter_ms=0, timeout_ms=0, **kwargs)


def test_simulated_gateway_success_rate_and_failure_modes() -> None:
    gateway = SimulatedGateway(_instant(success_rate=0.8))

    async def charge_many() -> Counter[ChargeOutcome]:
        results = [
            await gateway.charge(key=uuid.uuid4(), amount_cents=100, currency="USD")
            for _ in range(5000)
        ]
        return Counter(r.outcome for r in results)

    outcomes = asyncio.run(charge_many())
    assert 0.77 < outcomes[ChargeOutcome.SUCCEEDED] / 5000 < 0.83
    assert outcomes[ChargeOutcome.DECLINED] > outcomes[ChargeOutcome.TIMEOUT] > 0
    assert outcomes[ChargeOutcome.ERROR] > 0


def test_simulated_gateway_is_idempotent_per_key_and_refunds_once() -> None:
    settings = _instant(success_rate=0.5, timeout_share=0.0)
    gateway = SimulatedGateway(settings)
    other_worker = SimulatedGateway(settings)

    async def scenario() -> None:
        for _ in range(50):
            key = uuid.uuid4()
            first = await gateway.charge(key=key, amount_cents=100, currency="USD")
            again = await gateway.charge(key=key, amount_cents=100, currency="USD")
            assert first == again
            # Another process sees the same ledger: it refunds exactly what was captured.
            refund = await other_worker.refund(key=key)
            assert refund.refunded == first.paid
            assert not (await other_worker.refund(key=key)).refunded

    asyncio.run(scenario())


def test_settings_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETBOOK_PAYMENT_SUCCESS_RATE", "1.5")
    with pytest.raises(ConfigError, match="TICKETBOOK_PAYMENT_SUCCESS_RATE"):
        Settings.from_env()
    monkeypatch.setenv("TICKETBOOK_PAYMENT_SUCCESS_RATE", "0.5")
    monkeypatch.setenv("TICKETBOOK_HOLD_SECONDS", "0")
    with pytest.raises(ConfigError, match="HOLD_SECONDS"):
        Settings.from_env()
    monkeypatch.setenv("TICKETBOOK_HOLD_SECONDS", "30")
    monkeypatch.setenv("TICKETBOOK_PORT", "eighty")
    with pytest.raises(ConfigError, match="TICKETBOOK_PORT"):
        Settings.from_env()
    monkeypatch.setenv("TICKETBOOK_PORT", "9000")
    settings = Settings.from_env()
    assert (settings.port, settings.hold_seconds, settings.payment.success_rate) == (9000, 30, 0.5)


def test_a_timed_out_charge_is_sometimes_captured_and_then_refundable() -> None:
    gateway = SimulatedGateway(_instant(success_rate=0.0, timeout_share=1.0, error_share=0.0))

    async def refunds() -> list[bool]:
        results = []
        for _ in range(400):
            key = uuid.uuid4()
            charge = await gateway.charge(key=key, amount_cents=100, currency="USD")
            assert charge.outcome is ChargeOutcome.TIMEOUT and not charge.paid
            results.append((await gateway.refund(key=key)).refunded)
        return results

    captured = sum(asyncio.run(refunds()))
    assert 120 < captured < 280  # about half land after we stopped waiting
