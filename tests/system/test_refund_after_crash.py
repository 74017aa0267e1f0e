"""A server SIGKILLed between a cancel's commit and its refund call loses no money: the
cancel owed the refund in its own statement, and a new server's refunder asks the provider
for it. (A provider that fails refunds: tests/service/test_refunds.py.)"""

from __future__ import annotations

import contextlib
import threading

import httpx
import pytest

from tests.conftest import ServerFactory
from tests.support.api import book, guest_identity
from tests.support.inventory import doctor, execute, fetch, fetchval, make_concert
from tests.support.waiting import wait_until

# CI runs these again on PostgreSQL 15: PostgreSQL itself is under test across processes.
pytestmark = pytest.mark.postgres_versions

# Every provider call takes this long on the first server: long enough to kill it while
# the cancel's refund call is on its way.
SLOW_PROVIDER_MS = "3000"


def test_sigkill_between_cancel_and_refund_loses_no_money(
    db_url: str, start_server: ServerFactory
) -> None:
    concert = make_concert(db_url, {"GA": 10})
    slow = start_server(
        db_url,
        workers=1,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="1",
        TICKETBOOK_PAYMENT_LATENCY_MS=SLOW_PROVIDER_MS,
        TICKETBOOK_PAYMENT_LATENCY_JITTER_MS="0",
        TICKETBOOK_REAPER_INTERVAL_S="600",  # no retries from this server
    )
    client = httpx.Client(base_url=slow.base_url, timeout=60)
    _, auth = guest_identity(client)
    booked = book(client, auth, concert["tiers"]["GA"], 2)
    assert booked.status_code == 200, booked.text
    booking_id = booked.json()["booking"]["id"]

    def cancel() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under us: the point
            client.post(f"/api/bookings/{booking_id}/cancel", headers=auth)

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    wait_until(
        lambda: fetchval(db_url, "SELECT attempts FROM refunds") == 1,
        "the cancel commits, owes its refund and asks the (slow) provider for it",
    )
    slow.kill()  # SIGKILL while the refund call is still out
    thread.join(10)
    client.close()
    [owed] = fetch(db_url, "SELECT status, attempts FROM refunds")
    assert (owed["status"], owed["attempts"]) == ("PENDING", 1)
    assert fetchval(db_url, "SELECT status FROM bookings") == "CANCELLED"
    assert fetchval(db_url, "SELECT status FROM payments") == "SUCCEEDED"
    assert doctor(db_url).violations == 0  # owed, so not lost

    # A new server's refunder asks again once the dead process's claim runs out.
    # The same simulated provider (its ledger follows from the key and the success rate).
    fresh = start_server(
        db_url,
        workers=1,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="1",
        TICKETBOOK_REAPER_INTERVAL_S="0.2",
    )
    # The dead process's claim would run out by itself in a minute; skip the wait.
    execute(db_url, "UPDATE refunds SET next_attempt_at = now()")
    wait_until(
        lambda: fetchval(db_url, "SELECT status FROM refunds") == "DONE",
        "the new server's refunder gets the money back",
        timeout_s=20,
    )
    assert fetchval(db_url, "SELECT status FROM payments") == "REFUNDED"
    assert fetchval(db_url, "SELECT attempts FROM refunds") == 2
    report = doctor(db_url)
    assert report.violations == 0, report.lines
    assert fresh.process is not None and fresh.process.poll() is None
