"""The per-fan cap on tickets for one concert, enforced inside the hold: under concurrency,
across tiers and workers, and released again when a booking fails or is cancelled."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg

from tests.conftest import ServerFactory
from tests.support.api import book, guest_identity
from tests.support.inventory import doctor, fetchval, make_concert
from tests.support.load import Outcome, fire_together
from ticketbook.booking import queries
from ticketbook.booking.idempotency import booking_fingerprint

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


def test_failed_payments_do_not_use_up_the_cap(db_url: str, start_server: ServerFactory) -> None:
    concert = make_concert(db_url, {"GA": 50})
    tier = concert["tiers"]["GA"]
    declining = start_server(
        db_url,
        workers=1,
        TICKETBOOK_MAX_TICKETS_PER_CONCERT=str(CAP),
        TICKETBOOK_PAYMENT_SUCCESS_RATE="0",
        TICKETBOOK_PAYMENT_TIMEOUT_SHARE="0",
        TICKETBOOK_PAYMENT_ERROR_SHARE="0",
    )
    import httpx

    with httpx.Client(base_url=declining.base_url, timeout=30) as client:
        fan_id, fan = guest_identity(client)
        for _ in range(3):
            assert book(client, fan, tier, CAP).status_code == 402
    assert held_by(db_url, fan_id, concert["id"]) == 0


async def _hold(conn: asyncpg.Connection, user: uuid.UUID, tier: uuid.UUID, quantity: int) -> str:
    """The production hold statement, with a cap of CAP; the rejection, or 'held'."""
    empty = json.dumps({})
    row = await conn.fetchrow(
        queries.HOLD_SQL,
        tier,
        quantity,
        user,
        uuid.uuid4(),
        booking_fingerprint(tier, quantity),
        600.0,
        uuid.uuid4(),
        empty,
        empty,
        empty,
        CAP,
        empty,
    )
    assert row is not None
    return "held" if row["id"] is not None else str(row["rejection"])


def test_a_hold_waits_for_the_same_fans_uncommitted_hold_and_then_sees_it(db_url: str) -> None:
    """Deterministic: hold A (8 tickets) is open, not committed; hold B (4 tickets, another
    tier of the same concert) must wait for it, then count A's tickets and be refused. A cap
    read with the statement's own snapshot would miss A and let B through."""
    concert = make_concert(db_url, {"VIP": 20, "GA": 20})
    vip, ga = (uuid.UUID(concert["tiers"][t]) for t in ("VIP", "GA"))

    async def scene() -> tuple[str, str, bool]:
        first = await asyncpg.connect(db_url)
        second = await asyncpg.connect(db_url)
        try:
            user = await first.fetchval("INSERT INTO users (role) VALUES ('guest') RETURNING id")
            transaction = first.transaction()
            await transaction.start()
            held = await _hold(first, user, vip, 8)
            waiting = asyncio.create_task(_hold(second, user, ga, 4))
            # B is blocked on A's per-fan advisory lock, not on any tier row.
            blocked = False
            for _ in range(100):
                blocked = bool(
                    await first.fetchval(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    )
                )
                if blocked:
                    break
                await asyncio.sleep(0.02)
            assert not waiting.done()
            await transaction.commit()
            return held, await asyncio.wait_for(waiting, 10), blocked
        finally:
            await first.close()
            await second.close()

    held, second_answer, was_blocked = asyncio.run(scene())
    assert held == "held"
    assert was_blocked
    assert second_answer == "ticket_cap"
    assert fetchval(db_url, "SELECT available_quantity FROM ticket_tiers WHERE id = $1", ga) == 20
