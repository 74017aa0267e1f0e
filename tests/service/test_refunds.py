"""No money silently lost: every refund goes through a durable record that is asked of the
provider until it answers; doctor reports money captured for an unconfirmed booking with no
refund owed; free tickets confirm without asking the provider.

(A process SIGKILLed between a cancel's commit and its refund call:
tests/system/test_refund_after_crash.py.)
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from tests.support.inprocess import app_settings
from tests.support.inventory import doctor, execute, fetch, fetchval, make_concert
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.payments.gateway import ChargeOutcome, ChargeResult, RefundResult
from ticketbook.services import AppServices, open_services


class RefundsFailFirst:
    """Charges succeed; the first ``failures`` refund calls raise (a provider outage)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.charges = 0
        self.refund_calls = 0

    async def charge(self, *, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        self.charges += 1
        return ChargeResult(ChargeOutcome.SUCCEEDED, provider_reference=f"ch-{key}")

    async def refund(self, *, key: uuid.UUID) -> RefundResult:
        self.refund_calls += 1
        if self.refund_calls <= self.failures:
            raise ConnectionError("provider unreachable")
        return RefundResult(refunded=True, provider_reference=f"re-{key}")


async def _with_services(db_url: str, tmp_path: Path, gateway: Any, scene: Any) -> Any:
    async with open_services(
        app_settings(tmp_path), database_url=db_url, gateway=gateway, run_background_jobs=False
    ) as services:
        return await scene(services)


async def _book(services: AppServices, tier_id: str) -> tuple[uuid.UUID, Any]:
    user_id = await services.db.fetchval("INSERT INTO users DEFAULT VALUES RETURNING id")
    result = await services.engine.book(
        user_id=user_id, tier_id=uuid.UUID(tier_id), quantity=2, key=uuid.uuid4()
    )
    return user_id, result


REFUND_ROW_SQL = "SELECT status, attempts, last_error FROM refunds"


def refund_row(db_url: str) -> dict[str, Any]:
    [row] = fetch(db_url, REFUND_ROW_SQL)
    return dict(row)


def test_a_failing_provider_is_asked_again_until_it_refunds(db_url: str, tmp_path: Path) -> None:
    tier_id = make_concert(db_url, {"GA": 5})["tiers"]["GA"]
    gateway = RefundsFailFirst(failures=2)

    async def scene(services: AppServices) -> list[dict[str, Any]]:
        user_id, result = await _book(services, tier_id)
        assert result.outcome is BookingOutcome.CONFIRMED
        await services.engine.cancel(user_id=user_id, booking_id=result.booking.id)
        seen = [dict(await services.db.fetchrow(REFUND_ROW_SQL))]  # the cancel's try failed
        for _ in range(3):
            # The refunder's rounds, with the backoff skipped.
            await services.db.execute("UPDATE refunds SET next_attempt_at = now()")
            await services.engine.refunds.retry_due()
            seen.append(dict(await services.db.fetchrow(REFUND_ROW_SQL)))
        return seen

    seen = asyncio.run(_with_services(db_url, tmp_path, gateway, scene))
    assert [(r["status"], r["attempts"]) for r in seen] == [
        ("PENDING", 1),
        ("PENDING", 2),
        ("DONE", 3),
        ("DONE", 3),  # done is done: never asked again
    ]
    assert "provider unreachable" in seen[0]["last_error"]
    assert gateway.refund_calls == 3
    assert fetchval(db_url, "SELECT status FROM payments") == "REFUNDED"
    assert doctor(db_url).violations == 0


def test_a_refund_not_yet_due_waits_for_its_backoff(db_url: str, tmp_path: Path) -> None:
    tier_id = make_concert(db_url, {"GA": 5})["tiers"]["GA"]
    gateway = RefundsFailFirst(failures=1)

    async def scene(services: AppServices) -> int:
        user_id, result = await _book(services, tier_id)
        await services.engine.cancel(user_id=user_id, booking_id=result.booking.id)
        return await services.engine.refunds.retry_due()

    assert asyncio.run(_with_services(db_url, tmp_path, gateway, scene)) == 0
    assert refund_row(db_url)["status"] == "PENDING"
    # Owed and on its way: doctor is content (a refund is owed), not alarmed.
    assert doctor(db_url).violations == 0


def test_doctor_reports_captured_money_with_no_refund_owed(db_url: str, tmp_path: Path) -> None:
    """The control: take the refund record away and doctor sees money about to be lost."""
    tier_id = make_concert(db_url, {"GA": 5})["tiers"]["GA"]

    async def scene(services: AppServices) -> None:
        user_id, result = await _book(services, tier_id)
        await services.engine.cancel(user_id=user_id, booking_id=result.booking.id)

    asyncio.run(_with_services(db_url, tmp_path, RefundsFailFirst(failures=10), scene))
    assert doctor(db_url).violations == 0
    execute(db_url, "DELETE FROM refunds")
    report = doctor(db_url)
    assert report.violations == 1
    assert any("have no refund owed" in line for line in report.lines), report.lines


def test_free_tickets_confirm_without_the_provider(db_url: str, tmp_path: Path) -> None:
    tier_id = make_concert(db_url, {"GA": 5}, price_cents=0)["tiers"]["GA"]
    gateway = RefundsFailFirst(failures=0)

    async def scene(services: AppServices) -> BookingOutcome:
        user_id, result = await _book(services, tier_id)
        await services.engine.cancel(user_id=user_id, booking_id=result.booking.id)
        return result.outcome

    assert asyncio.run(_with_services(db_url, tmp_path, gateway, scene)) is BookingOutcome.CONFIRMED
    assert (gateway.charges, gateway.refund_calls) == (0, 0)
    assert fetchval(db_url, "SELECT count(*) FROM refunds") == 0
    assert doctor(db_url).violations == 0
