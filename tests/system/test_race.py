"""The last-ticket race over real HTTP against two worker processes, and its control run;
twenty concurrent duplicates of one idempotent request across the same two workers.

The control run books through a test-only path that reads the count and writes it back
without a lock; it must break the conservation law, which proves this race test can see
what the row lock prevents.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections import Counter

import httpx
import pytest

from tests.conftest import ServerFactory
from tests.support.api import guest_identity
from tests.support.inventory import doctor, fetchval, make_concert, tier_counts
from tests.support.load import Outcome, booking_requests, fire_together, make_guests

# CI runs these again on PostgreSQL 15: PostgreSQL itself is under test across processes.
pytestmark = pytest.mark.postgres_versions

DUPLICATES = 20
CONCURRENT_BOOKINGS = 120
TICKETS_LEFT = 7


def _race(base_url: str, tier_id: str) -> list[Outcome]:
    """CONCURRENT_BOOKINGS distinct guests book one ticket each, all released at once."""

    async def race() -> list[Outcome]:
        guests = await make_guests(base_url, CONCURRENT_BOOKINGS)
        return await fire_together(base_url, "/api/bookings", booking_requests(guests, tier_id))

    return asyncio.run(race())


def test_last_tickets_race_never_oversells(db_url: str, start_server: ServerFactory) -> None:
    concert = make_concert(db_url, {"GA": TICKETS_LEFT})
    tier_id = concert["tiers"]["GA"]
    server = start_server(db_url, workers=2, TICKETBOOK_PAYMENT_SUCCESS_RATE="1")

    outcomes = _race(server.base_url, tier_id)
    statuses = Counter(o.status for o in outcomes)
    assert statuses == {200: TICKETS_LEFT, 409: CONCURRENT_BOOKINGS - TICKETS_LEFT}, statuses
    assert all(o.body["error"] == "SOLD_OUT" for o in outcomes if o.status == 409)
    confirmed_ids = {o.body["booking"]["id"] for o in outcomes if o.status == 200}
    assert len(confirmed_ids) == TICKETS_LEFT

    counts = tier_counts(db_url, tier_id)
    assert counts == {"available": 0, "total": TICKETS_LEFT, "CONFIRMED": TICKETS_LEFT}
    report = doctor(db_url)
    assert report.violations == 0, report.lines

    # The operator's view of the same database: the CLI exits 0 and says so.
    cli = subprocess.run(
        [sys.executable, "-m", "ticketbook.cli.main", "doctor"],
        env={**server.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    print(cli.stdout)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "doctor: clean" in cli.stdout


def test_race_with_payment_failures_keeps_every_ticket(
    db_url: str, start_server: ServerFactory
) -> None:
    """With 80% of payments succeeding, declined holds give their tickets back mid-race."""
    concert = make_concert(db_url, {"VIP": TICKETS_LEFT})
    tier_id = concert["tiers"]["VIP"]
    server = start_server(db_url, workers=2, TICKETBOOK_PAYMENT_SUCCESS_RATE="0.8")

    outcomes = _race(server.base_url, tier_id)
    statuses = Counter(o.status for o in outcomes)
    assert set(statuses) <= {200, 402, 409}, statuses
    assert statuses[200] <= TICKETS_LEFT
    counts = tier_counts(db_url, tier_id)
    assert counts["available"] >= 0
    assert counts["available"] + counts.get("CONFIRMED", 0) == TICKETS_LEFT
    assert counts.get("CONFIRMED", 0) == statuses[200]
    assert counts.get("FAILED", 0) == statuses[402]
    assert "PENDING" not in counts
    assert doctor(db_url).violations == 0


def test_control_naive_booking_breaks_conservation(
    db_url: str, start_server: ServerFactory
) -> None:
    """The same race through the unlocked read-then-write path oversells: the race test's
    assertions would catch a missing lock."""
    concert = make_concert(db_url, {"GA": TICKETS_LEFT * 5})
    tier_id = concert["tiers"]["GA"]
    server = start_server(db_url, workers=2)

    async def race() -> list:
        guests = await make_guests(server.base_url, CONCURRENT_BOOKINGS)
        requests = [(g, {"ticketTierId": tier_id, "quantity": 1}) for g in guests]
        return await fire_together(server.base_url, "/api/_test/naive-bookings", requests)

    outcomes = asyncio.run(race())
    assert all(o.status == 200 for o in outcomes)
    counts = tier_counts(db_url, tier_id)
    booked = counts.get("CONFIRMED", 0)
    # Lost updates: more tickets were booked than the availability count went down by.
    assert counts["available"] + booked > counts["total"], counts
    report = doctor(db_url)
    assert report.violations >= 1
    assert any("conservation broken" in line for line in report.lines)


def test_test_routes_are_absent_by_default(db_url: str, start_server: ServerFactory) -> None:
    server = start_server(db_url, workers=1, TICKETBOOK_ENABLE_TEST_ROUTES="0")
    import httpx

    response = httpx.post(f"{server.base_url}/api/_test/naive-bookings", json={})
    assert response.status_code == 404


# Moved from tests/http/test_idempotency.py: the duplicates land on both workers.
def test_twenty_concurrent_duplicates_make_one_booking(
    db_url: str, start_server: ServerFactory
) -> None:
    concert = make_concert(db_url, {"GA": 100})
    tier_id = concert["tiers"]["GA"]
    # A slow provider keeps the first request in flight while the duplicates arrive.
    server = start_server(
        db_url, TICKETBOOK_PAYMENT_SUCCESS_RATE="1", TICKETBOOK_PAYMENT_LATENCY_MS="300"
    )
    key = str(uuid.uuid4())
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        _, auth = guest_identity(client)
        headers = {**auth, "Idempotency-Key": key}
        body = {"ticketTierId": tier_id, "quantity": 2}

        outcomes = asyncio.run(
            fire_together(server.base_url, "/api/bookings", [(headers, body)] * DUPLICATES)
        )
        statuses = Counter(o.status for o in outcomes)
        assert set(statuses) <= {200, 409}, statuses
        assert statuses[200] >= 1
        assert statuses[409] >= 1  # the duplicates did overlap the first request
        in_progress = [o for o in outcomes if o.status == 409]
        assert all(o.body["error"] == "REQUEST_IN_PROGRESS" for o in in_progress)
        booking_ids = {o.body["booking"]["id"] for o in outcomes if o.status == 200}
        assert len(booking_ids) == 1

        assert fetchval(db_url, "SELECT count(*) FROM bookings") == 1
        assert fetchval(db_url, "SELECT count(*) FROM payments") == 1
        assert tier_counts(db_url, tier_id) == {"available": 98, "total": 100, "CONFIRMED": 2}

        # After completion a replay names the same booking, with the same status.
        replay = client.post("/api/bookings", json=body, headers=headers)
        assert replay.status_code == 200
        assert replay.json()["booking"]["id"] in booking_ids
        assert replay.json()["booking"]["status"] == "CONFIRMED"
    assert fetchval(db_url, "SELECT count(*) FROM bookings") == 1
    assert doctor(db_url).violations == 0
