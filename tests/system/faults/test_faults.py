"""Fault tests: real processes under booking load (32+ clients), each ending with zero
oversell, zero duplicate bookings, nothing stuck in PENDING and a clean doctor."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx

from tests.conftest import ServerFactory
from tests.support.databases import private_postgres
from tests.support.faultload import assert_invariants, booking_load, bookings_made
from tests.support.inventory import fetch, fetchval, make_concert
from tests.support.locks import RowLock
from tests.support.server import NO_ABUSE_LIMITS, LiveServer
from tests.support.waiting import async_wait_until, wait_until

CLIENTS = 32
# Short holds and a fast reaper, so orphaned holds come back within the test. The load is 32+
# clients on one address, each booking one concert again and again: the per-fan cap and the
# rate limits are lifted, or they would answer most of it.
RECOVERY = {
    "TICKETBOOK_HOLD_SECONDS": "2",
    "TICKETBOOK_REAPER_INTERVAL_S": "0.2",
    **NO_ABUSE_LIMITS,
}
# A fault strikes once the load is under way: this many bookings made (not after a fixed time,
# which on a busy machine may be before the first booking, or near the end of the load).
UNDER_WAY = 20


def wait_until_under_way(db_url: str) -> None:
    wait_until(
        lambda: bookings_made(db_url) >= UNDER_WAY,
        f"the load has made {UNDER_WAY} bookings",
        timeout_s=20,
        interval_s=0.05,
    )


def _tiers(db_url: str) -> list[str]:
    concert = make_concert(db_url, {"VIP": 100, "FRONT_ROW": 300, "GA": 3000})
    return list(concert["tiers"].values())


def _report(name: str, counts: dict[str, int]) -> None:
    print(f"\n{name}: {counts}")


def test_sigkill_one_worker_mid_load(db_url: str, start_server: ServerFactory) -> None:
    tiers = _tiers(db_url)
    server = start_server(db_url, workers=3, TICKETBOOK_PAYMENT_LATENCY_MS="50", **RECOVERY)
    assert server.process is not None
    killed: list[int] = []
    killed_at: list[float] = []

    def killer() -> None:
        wait_until_under_way(db_url)
        # The server answers once one worker is up; on a busy machine the others may still
        # be starting.
        wait_until(
            lambda: len(server.worker_processes()) == 3, "all 3 workers are running", timeout_s=30
        )
        victim = server.worker_processes()[0].pid
        os.kill(victim, signal.SIGKILL)
        killed_at.append(time.monotonic())
        killed.append(victim)

    thread = threading.Thread(target=killer)
    thread.start()
    bookings, started = asyncio.run(booking_load(server.base_url, tiers, CLIENTS, duration_s=5))
    thread.join()
    assert killed
    kill_at = killed_at[0] - started
    assert kill_at < 4, f"the load was nearly over ({kill_at:.1f} s) when the worker died"
    after_kill = [a for b in bookings for a in b.attempts if a.at > kill_at + 0.5]
    # The surviving workers kept serving: plenty of final answers after the kill.
    assert sum(1 for a in after_kill if a.status in (200, 402)) >= 20
    assert all(b.final is not None for b in bookings), "a request never got an answer"
    counts = assert_invariants(db_url, bookings)
    counts["killed_worker_pid"] = killed[0]
    counts["connection_errors_retried"] = sum(
        1 for b in bookings for a in b.attempts if a.status == 0
    )
    _report("sigkill-one-worker", counts)


def test_postgres_restart_mid_load(tmp_path: Path) -> None:
    with private_postgres() as pg:
        db_url = pg.database_url
        tiers = _tiers(db_url)
        server = LiveServer(
            db_url,
            tmp_path,
            {
                **RECOVERY,
                "TICKETBOOK_CONNECT_TIMEOUT_S": "1",
                "TICKETBOOK_POOL_ACQUIRE_TIMEOUT_S": "1",
                "TICKETBOOK_PAYMENT_LATENCY_MS": "50",
            },
            workers=2,
        ).start()
        outage: dict[str, float] = {}

        def restart() -> None:
            wait_until_under_way(db_url)
            outage["down"] = time.monotonic()
            pg.stop()
            # The outage's length is the subject: long enough for requests to meet it.
            time.sleep(2.0)
            pg.start()
            outage["up"] = time.monotonic()

        try:
            thread = threading.Thread(target=restart)
            thread.start()
            bookings, started = asyncio.run(
                booking_load(server.base_url, tiers, CLIENTS, duration_s=7)
            )
            thread.join()
        finally:
            server.stop()
        down, up = outage["down"] - started, outage["up"] - started
        during = [a for b in bookings for a in b.attempts if down + 0.3 < a.at < up - 0.3]
        unavailable = [a for a in during if a.status == 503]
        assert unavailable, "no request saw the outage"
        # Prompt answers, never a hang: bounded by the connect and pool timeouts.
        assert max(a.seconds for a in during) < 5.0
        assert all(a.retry_after == "1" for a in unavailable)
        # It recovered by itself: bookings succeed again after the database returned.
        assert any(a.status == 200 and a.at > up + 0.5 for b in bookings for a in b.attempts)
        unanswered = [(b.key, b.attempts) for b in bookings if b.final is None]
        assert not unanswered, f"requests never got an answer (outage {down:.2f}-{up:.2f} s)"
        counts = assert_invariants(db_url, bookings)
        counts["503_during_outage"] = len(unavailable)
        _report("postgres-restart", counts)


def test_payment_timeouts_and_errors_mid_flow(db_url: str, start_server: ServerFactory) -> None:
    tiers = _tiers(db_url)
    server = start_server(
        db_url,
        workers=2,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="0.5",
        TICKETBOOK_PAYMENT_TIMEOUT_SHARE="0.5",
        TICKETBOOK_PAYMENT_ERROR_SHARE="0.3",
        TICKETBOOK_PAYMENT_TIMEOUT_MS="300",
        TICKETBOOK_PAYMENT_LATENCY_MS="20",
        **RECOVERY,
    )
    bookings, _ = asyncio.run(booking_load(server.base_url, tiers, CLIENTS, duration_s=4))
    counts = assert_invariants(db_url, bookings)
    rows = fetch(
        db_url,
        "SELECT b.status AS booking, p.status AS payment, count(*) AS n FROM bookings b"
        " JOIN payments p ON p.booking_id = b.id GROUP BY 1, 2",
    )
    pairs = {(r["booking"], r["payment"]): r["n"] for r in rows}
    # A hold ends CONFIRMED and paid, or released with no money kept.
    for (booking, payment), _n in pairs.items():
        if booking == "CONFIRMED":
            assert payment == "SUCCEEDED"
        else:
            assert booking in ("FAILED", "EXPIRED")
            assert payment in ("DECLINED", "ERROR", "TIMEOUT", "REFUNDED", "VOIDED")
    assert pairs.get(("FAILED", "TIMEOUT"), 0) + pairs.get(("FAILED", "REFUNDED"), 0) > 0
    # Timed-out charges that the provider captured late were refunded.
    assert pairs.get(("FAILED", "REFUNDED"), 0) > 0
    assert pairs.get(("FAILED", "ERROR"), 0) > 0
    counts.update({f"{b}/{p}": n for (b, p), n in sorted(pairs.items())})
    _report("payment-faults", counts)


def test_pool_exhaustion_is_a_bounded_wait_then_503(
    db_url: str, start_server: ServerFactory
) -> None:
    tiers = _tiers(db_url)
    server = start_server(
        db_url,
        workers=1,
        TICKETBOOK_POOL_MIN_SIZE="1",
        TICKETBOOK_POOL_MAX_SIZE="2",
        TICKETBOOK_POOL_ACQUIRE_TIMEOUT_S="0.5",
        TICKETBOOK_LOCK_TIMEOUT_MS="3000",
        **RECOVERY,
    )
    # A long transaction elsewhere holds every tier's row lock for two seconds, so the two
    # connections stay busy and the other 62 clients find none free.
    locks = [RowLock(db_url, tier) for tier in tiers]

    def lock_for_a_while() -> None:
        wait_until_under_way(db_url)
        for lock in locks:
            lock.__enter__()
        # How long the locks are held is the subject: long enough to exhaust the pool.
        time.sleep(2.0)
        for lock in locks:
            lock.__exit__()

    thread = threading.Thread(target=lock_for_a_while)
    thread.start()
    bookings, _ = asyncio.run(booking_load(server.base_url, tiers, clients=64, duration_s=5))
    thread.join()
    attempts = [a for b in bookings for a in b.attempts]
    refused = [a for a in attempts if a.status == 503]
    assert refused, "nobody waited for a connection"
    # Bounded: every statement of a booking (the rate-limit count, hold, settle) waits at
    # most the pool wait for a connection and the lock timeout for a lock, so no answer takes
    # longer than three of each, plus slack; without those bounds it would wait for good.
    assert max(a.seconds for a in attempts) < 3 * (3.0 + 0.5) + 1.0
    assert all(b.final is not None for b in bookings)
    counts = assert_invariants(db_url, bookings)
    counts["503_pool_or_lock"] = len(refused)
    counts["max_latency_ms"] = int(max(a.seconds for a in attempts) * 1000)
    _report("pool-exhaustion", counts)


def test_sigterm_finishes_in_flight_requests(db_url: str, start_server: ServerFactory) -> None:
    tiers = _tiers(db_url)

    def pending(url: str) -> bool:
        return fetchval(url, "SELECT count(*) FROM bookings WHERE status = 'PENDING'") == CLIENTS

    server = start_server(
        db_url,
        workers=2,
        TICKETBOOK_PAYMENT_LATENCY_MS="2000",
        TICKETBOOK_PAYMENT_SUCCESS_RATE="1",
        TICKETBOOK_GRACEFUL_TIMEOUT_S="10",
    )
    assert server.process is not None

    async def in_flight_then_term() -> tuple[list[httpx.Response], float, bool]:
        limits = httpx.Limits(max_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as c:
            guests = [(await c.post("/api/auth/guest")).json() for _ in range(CLIENTS)]
            requests = [
                c.post(
                    "/api/bookings",
                    json={"ticketTierId": tiers[i % len(tiers)], "quantity": 1},
                    headers={
                        "Authorization": f"Bearer {g['token']}",
                        "Idempotency-Key": str(uuid.uuid4()),
                    },
                )
                for i, g in enumerate(guests)
            ]
            tasks = [asyncio.create_task(r) for r in requests]
            await async_wait_until(
                lambda: asyncio.to_thread(pending, db_url),
                "every booking holds its ticket and waits on the provider",
            )
            assert not any(t.done() for t in tasks)
            os.kill(server.process.pid, signal.SIGTERM)
            term_at = time.monotonic()

            # uvicorn's supervisor looks at its signals every 0.5 s, then stops its workers:
            # soon a new request is refused, while the ones in flight still finish.
            async def refuses_new() -> bool:
                try:
                    async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as fresh:
                        await fresh.get("/api/concerts")
                except httpx.HTTPError:
                    return True
                return False

            refused_new = await async_wait_until(
                refuses_new, "the server refuses new requests after SIGTERM", timeout_s=5
            )
            responses = await asyncio.gather(*tasks)
            return responses, term_at, refused_new

    responses, term_at, refused_new = asyncio.run(in_flight_then_term())
    assert refused_new, "the server still took new requests after SIGTERM"
    assert [r.status_code for r in responses] == [200] * CLIENTS
    server.process.wait(15)
    exited_after = time.monotonic() - term_at
    assert exited_after < 10 + 2
    assert fetchval(db_url, "SELECT count(*) FROM bookings WHERE status = 'CONFIRMED'") == CLIENTS
    assert fetchval(db_url, "SELECT count(*) FROM bookings WHERE status = 'PENDING'") == 0
    _report(
        "sigterm",
        {"in_flight": CLIENTS, "completed_200": CLIENTS, "exit_seconds": round(exited_after, 1)},
    )
