"""The per-fan cap on tickets for one concert, enforced inside the hold: under concurrency,
across tiers and two worker processes, and released again when a booking is cancelled."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.conftest import ServerFactory
from tests.support.api import book, guest_identity
from tests.support.inventory import doctor, fetchval, make_concert
from tests.support.load import Outcome, fire_together

# CI runs these again on PostgreSQL 15: PostgreSQL itself is under test across processes.
pytestmark = pytest.mark.postgres_versions

CAP = 10


def held_by(url: str, user_id: str, concert_id: str) -> int:
    held: int = fetchval(
        url,
        "SELECT coalesce(sum(quantity), 0)::int FROM bookings WHERE user_id = $1 AND "
        "concert_id = $2 AND status IN ('PENDING', 'CONFIRMED')",
        uuid.UUID(user_id),
        uuid.UUID(concert_id),
    )
    return held


def test_one_fans_concurrent_bookings_across_tiers_never_pass_the_cap(
    db_url: str, start_server: ServerFactory
) -> None:
    concert = make_concert(db_url, {"VIP": 50, "FRONT_ROW": 50, "GA": 50})
    other = make_concert(db_url, {"GA": 50})
    # Payments take a while, so every hold is still PENDING while the others arrive.
    server = start_server(
        db_url,
        workers=2,
        TICKETBOOK_MAX_TICKETS_PER_CONCERT=str(CAP),
        TICKETBOOK_PAYMENT_SUCCESS_RATE="1",
        TICKETBOOK_PAYMENT_LATENCY_MS="300",
    )
    import httpx

    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        fan_id, fan = guest_identity(client)
        _, someone_else = guest_identity(client)
    tiers = list(concert["tiers"].values())
    requests = [
        (
            {**fan, "Idempotency-Key": str(uuid.uuid4())},
            {"ticketTierId": tiers[i % 3], "quantity": 2},
        )
        for i in range(15)
    ]
    outcomes: list[Outcome] = asyncio.run(fire_together(server.base_url, "/api/bookings", requests))
    statuses = sorted(o.status for o in outcomes)
    assert statuses == [200] * 5 + [409] * 10, statuses
    refused = [o.body for o in outcomes if o.status == 409]
    assert {b["error"] for b in refused} == {"TICKET_LIMIT_REACHED"}
    assert f"at most {CAP} tickets" in refused[0]["message"]
    assert held_by(db_url, fan_id, concert["id"]) == CAP

    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        # The cap is per concert and per fan: elsewhere, and for others, nothing changed.
        assert book(client, fan, other["tiers"]["GA"], 10).status_code == 200
        assert book(client, someone_else, tiers[0], 10).status_code == 200
        # Cancelling gives room back, exactly as much as was cancelled.
        mine = client.get(f"/api/bookings/{fan_id}", headers=fan).json()["data"]
        first = next(b for b in mine if b["concertId"] == concert["id"])
        assert client.post(f"/api/bookings/{first['id']}/cancel", headers=fan).status_code == 200
        assert book(client, fan, tiers[1], 3).status_code == 409
        assert book(client, fan, tiers[1], 2).status_code == 200
    assert held_by(db_url, fan_id, concert["id"]) == CAP
    assert doctor(db_url).violations == 0


# Failed payments and the cap (tests/http/test_ticket_cap.py), and a hold waiting for the same
# fan's uncommitted hold (tests/service/test_ticket_cap.py), need no server process.
