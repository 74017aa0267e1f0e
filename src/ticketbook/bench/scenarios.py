"""The load shapes: browse, hot-tier, spread, my-bookings over HTTP, and raw SQL as the limit.

Every scenario runs its clients as asyncio tasks for a bounded time; booking scenarios stop
early once everything they aim at is sold out.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from ticketbook.bench.http import Connection, HttpError
from ticketbook.bench.stats import Progress, Recorder
from ticketbook.booking import queries
from ticketbook.db.pool import StatelessConnection
from ticketbook.domain.enums import BookingStatus, PaymentStatus, Role, TierType


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    database_url: str


@dataclass(frozen=True)
class Catalog:
    concert_ids: list[str]
    tier_ids: list[str]
    hot_tier_id: str


async def load_catalog(conn: asyncpg.Connection) -> Catalog:
    rows = await conn.fetch(
        "SELECT t.id, t.concert_id, t.tier_type, t.total_quantity FROM ticket_tiers t"
        " JOIN concerts c ON c.id = t.concert_id WHERE c.starts_at > now() ORDER BY c.starts_at"
    )
    ga = [r for r in rows if r["tier_type"] == TierType.GA]
    # The smallest GA tier sells out soonest: the hot tier everyone fights over.
    hot = min(ga, key=lambda r: r["total_quantity"])
    return Catalog(
        concert_ids=sorted({str(r["concert_id"]) for r in rows}),
        tier_ids=[str(r["id"]) for r in rows],
        hot_tier_id=str(hot["id"]),
    )


# The per-fan cap is checked in the raw hold too (it is part of the statement), set as high
# as the benchmarked server's (bench/runner.py), so it never bites.
RAW_SQL_TICKET_CAP = 1_000_000_000
# The hold statement's bound on a payment in flight (it only matters when all is held).
RAW_SQL_PAYMENT_DEADLINE_S = 4.0


async def make_guests(target: Target, count: int) -> list[tuple[str, str]]:
    """(user id, bearer token) for ``count`` fresh guests."""
    conn = Connection(target.host, target.port)
    guests = []
    try:
        for _ in range(count):
            status, body = await conn.request("POST", "/api/auth/guest")
            if status != 200:
                raise RuntimeError(f"could not create a guest: {status} {body!r}")
            data = orjson.loads(body)
            guests.append((data["userId"], data["token"]))
    finally:
        await conn.close()
    return guests


ClientLoop = Callable[[int, Connection, Recorder, float], Awaitable[None]]


async def _run_clients(
    target: Target, name: str, clients: int, duration_s: float, loop: ClientLoop
) -> Recorder:
    recorder = Recorder(name, clients)
    progress = Progress(name, duration_s)
    deadline = time.perf_counter() + duration_s
    connections = [Connection(target.host, target.port) for _ in range(clients)]

    async def ticker() -> None:
        while True:
            progress.update(len(recorder.latencies_ms))
            await asyncio.sleep(0.25)

    ticking = asyncio.create_task(ticker())
    try:
        await asyncio.gather(*(loop(i, connections[i], recorder, deadline) for i in range(clients)))
    finally:
        recorder.stop()
        ticking.cancel()
        progress.close()
        for conn in connections:
            await conn.close()
    return recorder


async def _timed(recorder: Recorder, call: Awaitable[tuple[int, bytes]]) -> int:
    started = time.perf_counter()
    try:
        status, _ = await call
    except HttpError:
        recorder.record("error", time.perf_counter() - started)
        return 0
    recorder.record(status, time.perf_counter() - started)
    return status


async def browse(target: Target, catalog: Catalog, clients: int, duration_s: float) -> Recorder:
    paths = ["/api/concerts"] + [f"/api/concerts/{cid}" for cid in catalog.concert_ids]

    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        rng = random.Random(i)
        while time.perf_counter() < deadline:
            path = paths[0] if rng.random() < 0.5 else rng.choice(paths[1:])
            await _timed(rec, conn.request("GET", path))

    return await _run_clients(target, "browse", clients, duration_s, client)


def _booking_call(conn: Connection, token: str, tier_id: str) -> Awaitable[tuple[int, bytes]]:
    return conn.request(
        "POST",
        "/api/bookings",
        {"ticketTierId": tier_id, "quantity": 1},
        {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
    )


async def hot_tier(
    target: Target, catalog: Catalog, guests: list[tuple[str, str]], duration_s: float
) -> Recorder:
    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        token = guests[i][1]
        while time.perf_counter() < deadline:
            if await _timed(rec, _booking_call(conn, token, catalog.hot_tier_id)) == 409:
                return  # sold out

    return await _run_clients(target, "hot-tier", len(guests), duration_s, client)


async def spread(
    target: Target, catalog: Catalog, guests: list[tuple[str, str]], duration_s: float
) -> Recorder:
    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        rng = random.Random(i)
        token = guests[i][1]
        tiers = list(catalog.tier_ids)
        while tiers and time.perf_counter() < deadline:
            tier = rng.choice(tiers)
            if await _timed(rec, _booking_call(conn, token, tier)) == 409:
                tiers.remove(tier)  # this client saw it sell out

    return await _run_clients(target, "spread", len(guests), duration_s, client)


async def my_bookings(
    target: Target, guests: list[tuple[str, str]], clients: int, duration_s: float, name: str
) -> Recorder:
    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        user_id, token = guests[i % len(guests)]
        headers = {"Authorization": f"Bearer {token}"}
        while time.perf_counter() < deadline:
            await _timed(rec, conn.request("GET", f"/api/bookings/{user_id}", None, headers))

    return await _run_clients(target, name, clients, duration_s, client)


async def raw_sql(
    database_url: str,
    tier_ids: list[str],
    clients: int,
    pool_size: int,
    duration_s: float,
    name: str,
    success_rate: float = 0.8,
) -> Recorder:
    """The same hold and settle statements the app runs, sent straight from asyncpg."""
    pool = await asyncpg.create_pool(
        database_url, min_size=pool_size, max_size=pool_size, connection_class=StatelessConnection
    )
    assert pool is not None
    try:
        user_ids = [
            r["id"]
            for r in await pool.fetch(
                f"INSERT INTO users (role) SELECT '{Role.GUEST}' FROM generate_series(1, $1) "
                "RETURNING id",
                clients,
            )
        ]
        # The app sends the booking's wire shape with the settle; so does the baseline.
        booking = orjson.dumps(
            {
                "id": str(uuid.uuid4()),
                "userId": str(uuid.uuid4()),
                "concertId": str(uuid.uuid4()),
                "concertName": "Benchmark concert",
                "ticketTierId": str(uuid.uuid4()),
                "tierType": TierType.GA,
                "quantity": 1,
                "unitPriceCents": 1000,
                "totalCents": 1000,
                "totalPrice": "10.00",
                "currency": "USD",
                "status": BookingStatus.PENDING,
                "holdExpiresAt": "2026-12-02T12:00:00Z",
                "createdAt": "2026-12-02T11:50:00Z",
            }
        ).decode()
        recorder = Recorder(name, clients)
        progress = Progress(name, duration_s)
        deadline = time.perf_counter() + duration_s

        async def client(i: int) -> None:
            rng = random.Random(i)
            tiers = [uuid.UUID(t) for t in tier_ids]
            while tiers and time.perf_counter() < deadline:
                tier = rng.choice(tiers)
                started = time.perf_counter()
                async with pool.acquire() as conn:
                    row = await conn.fetchrow(
                        queries.HOLD_SQL,
                        tier,
                        1,
                        user_ids[i],
                        uuid.uuid4(),
                        "raw",
                        600.0,
                        uuid.uuid4(),
                        RAW_SQL_TICKET_CAP,
                        RAW_SQL_PAYMENT_DEADLINE_S,
                    )
                if row["id"] is None:
                    recorder.record(409, time.perf_counter() - started)
                    tiers.remove(tier)
                    continue
                paid = rng.random() < success_rate
                async with pool.acquire() as conn:
                    await conn.fetchval(
                        queries.SETTLE_SQL,
                        row["id"],
                        row["payment_id"],
                        paid,
                        PaymentStatus.SUCCEEDED if paid else PaymentStatus.DECLINED,
                        None,
                        None,
                        booking,
                    )
                recorder.record(200 if paid else 402, time.perf_counter() - started)
                progress.update(len(recorder.latencies_ms))

        try:
            await asyncio.gather(*(client(i) for i in range(clients)))
        finally:
            recorder.stop()
            progress.close()
        return recorder
    finally:
        await pool.close()


def inventory_check(report_lines: list[str], violations: int, tiers: list[Any]) -> dict[str, Any]:
    oversold = sum(max(0, t["held"] - t["total_quantity"]) for t in tiers)
    negative = sum(1 for t in tiers if t["available_quantity"] < 0)
    return {
        "inventory": {
            "oversold_tickets": oversold,
            "negative_availability_tiers": negative,
            "conservation_holds": violations == 0,
            "doctor": "clean" if violations == 0 else report_lines,
        }
    }
