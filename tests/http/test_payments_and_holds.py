"""Failure paths of the booking flow, in-process: declines, provider timeouts and errors,
expired holds and the reaper. No ticket may be lost."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

from tests.http.conftest import AppFactory
from tests.support.api import fan
from tests.support.inventory import doctor, fetch, fetchval, make_concert, tier_counts
from tests.support.waiting import wait_until
from ticketbook.client import BookingAnswer
from ticketbook.domain.enums import BookingStatus

ALWAYS_DECLINE = {
    "TICKETBOOK_PAYMENT_SUCCESS_RATE": "0",
    "TICKETBOOK_PAYMENT_TIMEOUT_SHARE": "0",
    "TICKETBOOK_PAYMENT_ERROR_SHARE": "0",
}


@pytest.mark.parametrize(
    ("env", "payment_statuses"),
    [
        (ALWAYS_DECLINE, {"DECLINED"}),
        (
            {
                "TICKETBOOK_PAYMENT_SUCCESS_RATE": "0",
                "TICKETBOOK_PAYMENT_ERROR_SHARE": "1",
                "TICKETBOOK_PAYMENT_TIMEOUT_SHARE": "0",
            },
            {"ERROR"},
        ),
        (
            {
                "TICKETBOOK_PAYMENT_SUCCESS_RATE": "0",
                "TICKETBOOK_PAYMENT_TIMEOUT_SHARE": "1",
                "TICKETBOOK_PAYMENT_ERROR_SHARE": "0",
                "TICKETBOOK_PAYMENT_TIMEOUT_MS": "200",
            },
            # The simulated provider may capture after we stopped waiting: then we refund.
            {"TIMEOUT", "REFUNDED"},
        ),
    ],
    ids=["decline", "provider-error", "timeout"],
)
def test_failed_payment_returns_the_tickets(
    db_url: str, start_app: AppFactory, env: dict[str, str], payment_statuses: set[str]
) -> None:
    concert = make_concert(db_url, {"GA": 10})
    tier_id = concert["tiers"]["GA"]
    app = start_app(db_url, **env)
    with app.client() as client:
        answer = fan(client).book(tier_id, 4)
    assert answer.status == 402 and not answer.confirmed
    assert answer.booking is not None and answer.booking.status == BookingStatus.FAILED
    assert "new idempotency key" in answer.message
    assert tier_counts(db_url, tier_id) == {"available": 10, "total": 10, "FAILED": 4}

    (payment,) = fetch(db_url, "SELECT status, provider_key FROM payments")
    assert payment["status"] in payment_statuses
    # The provider got our own fresh key, never the client's idempotency key.
    assert str(payment["provider_key"]) != answer.key
    assert doctor(db_url).violations == 0


def test_every_attempt_is_recorded_with_a_fresh_provider_key(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    api = fan(client)
    keys = [api.book(concert["tiers"]["GA"], 1).key for _ in range(3)]
    assert len(set(keys)) == 3
    rows = fetch(
        shared_db,
        "SELECT p.provider_key, p.status, p.amount_cents, b.total_cents FROM payments p "
        "JOIN bookings b ON b.id = p.booking_id WHERE b.tier_id = $1",
        uuid.UUID(concert["tiers"]["GA"]),
    )
    assert len(rows) == 3
    assert {r["status"] for r in rows} == {"SUCCEEDED"}
    assert all(r["amount_cents"] == r["total_cents"] == 1000 for r in rows)
    provider_keys = {str(r["provider_key"]) for r in rows}
    assert len(provider_keys) == 3
    assert not provider_keys & set(keys)


def test_payment_after_hold_expiry_is_refunded_not_confirmed(
    db_url: str, start_app: AppFactory
) -> None:
    concert = make_concert(db_url, {"GA": 5})
    tier_id = concert["tiers"]["GA"]
    # The provider answers after the hold is over; the reaper is too slow to get there first.
    app = start_app(
        db_url,
        TICKETBOOK_HOLD_SECONDS="0.3",
        TICKETBOOK_PAYMENT_LATENCY_MS="800",
        TICKETBOOK_REAPER_INTERVAL_S="600",
    )
    with app.client() as client:
        answer = fan(client).book(tier_id, 2)
    assert answer.status == 402
    assert answer.booking is not None and answer.booking.status == BookingStatus.EXPIRED
    assert "refunded" in answer.message
    assert tier_counts(db_url, tier_id) == {"available": 5, "total": 5, "EXPIRED": 2}
    assert fetchval(db_url, "SELECT status FROM payments") == "REFUNDED"


def test_reaper_releases_an_expired_hold_while_payment_is_slow(
    db_url: str, start_app: AppFactory
) -> None:
    concert = make_concert(db_url, {"GA": 5})
    tier_id = concert["tiers"]["GA"]
    app = start_app(
        db_url,
        TICKETBOOK_HOLD_SECONDS="0.3",
        TICKETBOOK_PAYMENT_LATENCY_MS="2000",
        TICKETBOOK_REAPER_INTERVAL_S="0.1",
    )
    with app.client() as client:
        api = fan(client)
        key = str(uuid.uuid4())
        results: list[BookingAnswer] = []
        worker = threading.Thread(target=lambda: results.append(api.book(tier_id, 3, key)))
        worker.start()
        # While the payment is still in flight the reaper gives the tickets back.
        wait_until(
            lambda: tier_counts(db_url, tier_id).get("EXPIRED") == 3,
            "the reaper expires the hold while its payment is in flight",
        )
        assert worker.is_alive()  # the payment is still in flight
        assert tier_counts(db_url, tier_id) == {"available": 5, "total": 5, "EXPIRED": 3}
        worker.join(30)
        (answer,) = results
        assert answer.status == 402
        assert answer.booking is not None and answer.booking.status == BookingStatus.EXPIRED
        # The key remembers the outcome the reaper wrote.
        replay = api.book(tier_id, 3, key)
        assert (replay.status, replay.booking) == (402, answer.booking)
        # The late payment was captured by the provider and is refunded: the reaper owed it
        # back when it expired the hold, and its refund call may still be on its way.
        wait_until(
            lambda: fetchval(db_url, "SELECT status FROM payments") == "REFUNDED",
            "the late payment is refunded",
        )
        assert fetchval(db_url, "SELECT status FROM refunds") == "DONE"
    assert doctor(db_url).violations == 0


# A server SIGKILLed between hold and settle, and cancels reaching either of two workers:
# tests/system/test_payments_across_processes.py.
