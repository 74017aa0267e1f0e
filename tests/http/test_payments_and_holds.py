"""Failure paths of the booking flow: declines, provider timeouts and errors, expired holds,
the reaper, and a server killed between hold and settle. No ticket may be lost."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid

import httpx
import pytest

from tests.conftest import ServerFactory
from tests.support.api import book, guest_identity
from tests.support.inventory import doctor, fetch, fetchval, make_concert, tier_counts

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
    db_url: str, start_server: ServerFactory, env: dict[str, str], payment_statuses: set[str]
) -> None:
    concert = make_concert(db_url, {"GA": 10})
    tier_id = concert["tiers"]["GA"]
    server = start_server(db_url, workers=1, **env)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        _, auth = guest_identity(client)
        key = str(uuid.uuid4())
        response = book(client, auth, tier_id, 4, key=key)
    assert response.status_code == 402
    body = response.json()
    assert body["success"] is False
    assert body["booking"]["status"] == "FAILED"
    assert "new idempotency key" in body["message"]
    assert tier_counts(db_url, tier_id) == {"available": 10, "total": 10, "FAILED": 4}

    (payment,) = fetch(db_url, "SELECT status, provider_key FROM payments")
    assert payment["status"] in payment_statuses
    # The provider got our own fresh key, never the client's idempotency key.
    assert str(payment["provider_key"]) != key
    assert doctor(db_url).violations == 0


def test_every_attempt_is_recorded_with_a_fresh_provider_key(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    _, auth = guest_identity(client)
    keys = [str(uuid.uuid4()) for _ in range(3)]
    for key in keys:
        assert book(client, auth, concert["tiers"]["GA"], 1, key=key).status_code == 200
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
    db_url: str, start_server: ServerFactory
) -> None:
    concert = make_concert(db_url, {"GA": 5})
    tier_id = concert["tiers"]["GA"]
    # The provider answers after the hold is over; the reaper is too slow to get there first.
    server = start_server(
        db_url,
        workers=1,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="1",
        TICKETBOOK_HOLD_SECONDS="0.3",
        TICKETBOOK_PAYMENT_LATENCY_MS="800",
        TICKETBOOK_REAPER_INTERVAL_S="600",
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        _, auth = guest_identity(client)
        response = book(client, auth, tier_id, 2)
    assert response.status_code == 402
    assert response.json()["booking"]["status"] == "EXPIRED"
    assert "refunded" in response.json()["message"]
    assert tier_counts(db_url, tier_id) == {"available": 5, "total": 5, "EXPIRED": 2}
    assert fetchval(db_url, "SELECT status FROM payments") == "REFUNDED"


def test_reaper_releases_an_expired_hold_while_payment_is_slow(
    db_url: str, start_server: ServerFactory
) -> None:
    concert = make_concert(db_url, {"GA": 5})
    tier_id = concert["tiers"]["GA"]
    server = start_server(
        db_url,
        workers=1,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="1",
        TICKETBOOK_HOLD_SECONDS="0.3",
        TICKETBOOK_PAYMENT_LATENCY_MS="2000",
        TICKETBOOK_REAPER_INTERVAL_S="0.1",
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        _, auth = guest_identity(client)
        key = str(uuid.uuid4())
        results: list[httpx.Response] = []
        worker = threading.Thread(
            target=lambda: results.append(book(client, auth, tier_id, 3, key))
        )
        worker.start()
        # While the payment is still in flight the reaper gives the tickets back.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if tier_counts(db_url, tier_id).get("EXPIRED") == 3:
                break
            time.sleep(0.05)
        assert tier_counts(db_url, tier_id) == {"available": 5, "total": 5, "EXPIRED": 3}
        worker.join(30)
        (response,) = results
        assert response.status_code == 402
        assert response.json()["booking"]["status"] == "EXPIRED"
        # The key remembers the outcome the reaper wrote.
        replay = book(client, auth, tier_id, 3, key)
        assert (replay.status_code, replay.json()["booking"]["status"]) == (402, "EXPIRED")
    # The late payment was captured by the provider and refunded.
    assert fetchval(db_url, "SELECT status FROM payments") == "REFUNDED"
    assert doctor(db_url).violations == 0


def test_sigkill_between_hold_and_settle_loses_nothing(
    db_url: str, start_server: ServerFactory
) -> None:
    concert = make_concert(db_url, {"GA": 50})
    tier_id = concert["tiers"]["GA"]
    slow = start_server(
        db_url,
        workers=2,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="1",
        TICKETBOOK_PAYMENT_LATENCY_MS="30000",
        TICKETBOOK_HOLD_SECONDS="2",
        TICKETBOOK_REAPER_INTERVAL_S="600",
    )
    client = httpx.Client(base_url=slow.base_url, timeout=60)
    _, auth = guest_identity(client)
    keys = [str(uuid.uuid4()) for _ in range(8)]

    def attempt(key: str) -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under us: the point
            book(client, auth, tier_id, 2, key)

    threads = [threading.Thread(target=attempt, args=(k,), daemon=True) for k in keys]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and tier_counts(db_url, tier_id).get("PENDING") != 16:
        time.sleep(0.05)
    assert tier_counts(db_url, tier_id) == {"available": 34, "total": 50, "PENDING": 16}

    slow.kill()  # SIGKILL: every hold is now orphaned mid-payment
    for thread in threads:
        thread.join(10)
    client.close()
    assert tier_counts(db_url, tier_id) == {"available": 34, "total": 50, "PENDING": 16}

    # A new server's reaper returns every orphaned ticket once the holds expire.
    fresh = start_server(db_url, workers=1, TICKETBOOK_REAPER_INTERVAL_S="0.2")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "PENDING" in tier_counts(db_url, tier_id):
        time.sleep(0.1)
    assert tier_counts(db_url, tier_id) == {"available": 50, "total": 50, "EXPIRED": 16}
    assert fetchval(db_url, "SELECT count(*) FROM payments WHERE status = 'PENDING'") == 0
    report = doctor(db_url, stuck_grace_s=0)
    assert report.violations == 0 and report.warnings == 0, report.lines

    # The orphaned requests' keys now answer with the expiry, not "in progress" forever.
    with httpx.Client(base_url=fresh.base_url, timeout=30) as again:
        replay = book(again, auth, tier_id, 2, keys[0])
    assert replay.status_code == 402
    assert replay.json()["booking"]["status"] == "EXPIRED"


def test_cancel_refunds_whichever_worker_took_the_payment(
    db_url: str, start_server: ServerFactory
) -> None:
    concert = make_concert(db_url, {"GA": 20})
    tier_id = concert["tiers"]["GA"]
    server = start_server(db_url, workers=2, TICKETBOOK_PAYMENT_SUCCESS_RATE="1")
    booking_ids = []
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        _, auth = guest_identity(client)
        for _ in range(8):
            response = book(client, auth, tier_id, 1)
            assert response.status_code == 200
            booking_ids.append(response.json()["booking"]["id"])
    for booking_id in booking_ids:
        # A new connection each time, so the cancel often reaches the other worker.
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            response = client.post(f"/api/bookings/{booking_id}/cancel", headers=auth)
            assert response.status_code == 200
            assert response.json()["booking"]["status"] == "CANCELLED"
    statuses = fetch(db_url, "SELECT status, count(*) AS n FROM payments GROUP BY status")
    assert {r["status"]: r["n"] for r in statuses} == {"REFUNDED": 8}
    assert tier_counts(db_url, tier_id) == {"available": 20, "total": 20, "CANCELLED": 8}
