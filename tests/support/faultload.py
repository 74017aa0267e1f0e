"""Booking load for fault tests: clients that retry like real ones, and the invariants every
fault test must end with."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.inventory import doctor, fetch, fetchval
from tests.support.waiting import wait_until

# Answers that mean "not decided yet, ask again with the same key".
RETRYABLE = {503, 0}  # 0: the connection failed (worker killed, server restarting)


@dataclass
class Attempt:
    at: float  # seconds since the load started
    status: int
    seconds: float
    retry_after: str | None = None


@dataclass
class KeyedBooking:
    key: str
    user: str
    attempts: list[Attempt] = field(default_factory=list)
    final: dict[str, Any] | None = None

    @property
    def final_status(self) -> int | None:
        return self.attempts[-1].status if self.final is not None else None


async def _attempt(
    client: httpx.AsyncClient, auth: dict[str, str], key: str, tier: str
) -> tuple[int, dict[str, Any] | None, str | None]:
    try:
        response = await client.post(
            "/api/bookings",
            json={"ticketTierId": tier, "quantity": 1},
            headers={**auth, "Idempotency-Key": key},
        )
    except httpx.HTTPError:
        return 0, None, None
    body = response.json()
    if response.status_code == 409 and body.get("error") == "REQUEST_IN_PROGRESS":
        return 0, body, None  # the first attempt is still in flight (or orphaned): ask again
    return response.status_code, body, response.headers.get("retry-after")


async def booking_load(
    base_url: str,
    tiers: list[str],
    clients: int,
    duration_s: float,
    settle_s: float = 30.0,
) -> tuple[list[KeyedBooking], float]:
    """Each client books one ticket after another on random tiers. An attempt that fails
    (connection error, 503, still in progress) is retried with the same idempotency key
    until it gets a final answer or ``duration_s + settle_s`` pass."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        guests = []
        for _ in range(clients):
            body = (await client.post("/api/auth/guest")).json()
            guests.append((body["userId"], {"Authorization": f"Bearer {body['token']}"}))
        started = time.monotonic()
        stop_new = started + duration_s
        give_up = stop_new + settle_s
        bookings: list[KeyedBooking] = []

        async def run(index: int) -> None:
            rng = random.Random(index)
            user, auth = guests[index]
            while time.monotonic() < stop_new:
                booking = KeyedBooking(str(uuid.uuid4()), user)
                bookings.append(booking)
                tier = rng.choice(tiers)
                while time.monotonic() < give_up:
                    before = time.monotonic()
                    status, body, retry_after = await _attempt(client, auth, booking.key, tier)
                    booking.attempts.append(
                        Attempt(before - started, status, time.monotonic() - before, retry_after)
                    )
                    if status not in RETRYABLE:
                        booking.final = body
                        break
                    # A real client's back-off before it asks again (part of the load's
                    # shape, not a wait for something to happen).
                    await asyncio.sleep(0.1)

        await asyncio.gather(*(run(i) for i in range(clients)))
    return bookings, started


def wait_for_no_pending(db_url: str, timeout_s: float = 30.0) -> None:
    wait_until(
        lambda: fetchval(db_url, "SELECT count(*) FROM bookings WHERE status = 'PENDING'") == 0,
        "no booking is PENDING any more (every hold settled or expired)",
        timeout_s=timeout_s,
        interval_s=0.2,
    )


def bookings_made(db_url: str) -> int:
    """How many bookings exist: a load is under way once there are some."""
    count: int = fetchval(db_url, "SELECT count(*) FROM bookings")
    return count


def assert_invariants(db_url: str, bookings: list[KeyedBooking]) -> dict[str, int]:
    """Zero oversell, zero duplicates, nothing stuck PENDING, doctor clean; every answered
    request names the booking the database has for its key. Returns counts for the report."""
    wait_for_no_pending(db_url)  # else a booking is stuck in PENDING past its hold
    report = doctor(db_url, stuck_grace_s=0)
    assert report.violations == 0 and report.warnings == 0, report.lines
    oversold = fetchval(
        db_url,
        "SELECT coalesce(sum(greatest(0, held - total)), 0) FROM ("
        " SELECT t.total_quantity AS total, coalesce(sum(b.quantity)"
        "   FILTER (WHERE b.status IN ('PENDING','CONFIRMED')), 0) AS held"
        " FROM ticket_tiers t LEFT JOIN bookings b ON b.tier_id = t.id GROUP BY t.id) s",
    )
    assert oversold == 0
    # Every booking belongs to exactly one idempotency key, and every key to at most one.
    orphans = fetchval(
        db_url,
        "SELECT count(*) FROM bookings b WHERE NOT EXISTS"
        " (SELECT 1 FROM idempotency_keys k WHERE k.booking_id = b.id)",
    )
    shared = fetchval(
        db_url,
        "SELECT count(*) FROM (SELECT booking_id FROM idempotency_keys WHERE booking_id IS NOT"
        " NULL GROUP BY booking_id HAVING count(*) > 1) d",
    )
    assert orphans == 0 and shared == 0
    by_key = {
        str(r["key"]): str(r["booking_id"])
        for r in fetch(db_url, "SELECT key, booking_id FROM idempotency_keys")
    }
    answered = [b for b in bookings if b.final is not None and b.final.get("booking")]
    for b in answered:
        assert b.final is not None
        assert by_key[b.key] == b.final["booking"]["id"], "a replay named another booking"
    statuses = [b.final_status for b in bookings]
    return {
        "requests": len(bookings),
        "attempts": sum(len(b.attempts) for b in bookings),
        "confirmed": statuses.count(200),
        "payment_failed": statuses.count(402),
        "sold_out": statuses.count(409),
        "unanswered": statuses.count(None),
        "bookings_in_db": int(fetchval(db_url, "SELECT count(*) FROM bookings")),
    }
