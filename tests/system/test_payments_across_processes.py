"""Failure paths that need real server processes: a server SIGKILLed between hold and
settle loses no ticket (a new server's reaper returns them), and a cancel refunds whichever
of two workers took the payment. (Moved from tests/http/test_payments_and_holds.py.)"""

from __future__ import annotations

import contextlib
import threading
import uuid

import httpx
import pytest

from tests.conftest import ServerFactory
from tests.support.api import book, guest_identity
from tests.support.inventory import doctor, fetch, fetchval, make_concert, tier_counts
from tests.support.waiting import wait_until

# CI runs these again on PostgreSQL 15: PostgreSQL itself is under test across processes.
pytestmark = pytest.mark.postgres_versions


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
        # One fan holds 8 x 2 tickets here; the cap (10 by default) is not the subject.
        TICKETBOOK_MAX_TICKETS_PER_CONCERT="16",
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
    wait_until(
        lambda: tier_counts(db_url, tier_id).get("PENDING") == 16,
        "all eight bookings hold their tickets and wait on the provider",
        timeout_s=15,
    )
    assert tier_counts(db_url, tier_id) == {"available": 34, "total": 50, "PENDING": 16}

    slow.kill()  # SIGKILL: every hold is now orphaned mid-payment
    for thread in threads:
        thread.join(10)
    client.close()
    assert tier_counts(db_url, tier_id) == {"available": 34, "total": 50, "PENDING": 16}

    # A new server's reaper returns every orphaned ticket once the holds expire.
    fresh = start_server(db_url, workers=1, TICKETBOOK_REAPER_INTERVAL_S="0.2")
    wait_until(
        lambda: "PENDING" not in tier_counts(db_url, tier_id),
        "the new server's reaper expires every orphaned hold",
        timeout_s=20,
    )
    assert tier_counts(db_url, tier_id) == {"available": 50, "total": 50, "EXPIRED": 16}
    # Each expired hold owes its payment a refund the reaper asks for after its transaction,
    # one provider call at a time (150 +- 100 ms each at the default simulation, a timeout
    # retried later): the payments settle shortly after the tickets come back.
    wait_until(
        lambda: fetchval(db_url, "SELECT count(*) FROM payments WHERE status = 'PENDING'") == 0,
        "the reaper's refund attempts settle every orphaned payment",
        timeout_s=30,
    )
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
