"""The load shapes: browse, hot-tier, spread, my-bookings over HTTP, and raw SQL as the limit.

Every scenario runs its clients as asyncio tasks for a bounded time; booking scenarios stop
early once everything they aim at is sold out.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from ticketbook.bench.cpu import CpuProbe
from ticketbook.bench.http import Connection, HttpError
from ticketbook.bench.stats import Progress, Recorder
from ticketbook.booking import queries, seat_queries
from ticketbook.booking.service import MAX_CONTENDED_LOOKS
from ticketbook.db.pool import StatelessConnection
from ticketbook.domain.enums import BookingStatus, PaymentStatus, Role, TierType
from ticketbook.ratelimit.limiter import NO_BUCKETS


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    database_url: str
    # The server's and PostgreSQL's processes, to measure their CPU time per request.
    cpu: CpuProbe | None = None


@dataclass(frozen=True)
class Catalog:
    concert_ids: list[str]
    tier_ids: list[str]
    hot_tier_id: str
    # The seated demo concert's price zones (SEATED tiers): the `seated` scenario.
    seated_tier_ids: list[str]


async def load_catalog(conn: asyncpg.Connection) -> Catalog:
    rows = await conn.fetch(
        "SELECT t.id, t.concert_id, t.tier_type, t.total_quantity, c.layout_id IS NOT NULL"
        " AS seated_concert FROM ticket_tiers t JOIN concerts c ON c.id = t.concert_id"
        " WHERE c.starts_at > now() ORDER BY c.starts_at"
    )
    # The booking scenarios sell the brief's five general-admission concerts; the seated
    # concert has its own scenario.
    unseated = [r for r in rows if not r["seated_concert"]]
    ga = [r for r in unseated if r["tier_type"] == TierType.GA]
    # The smallest GA tier sells out soonest: the hot tier everyone fights over.
    hot = min(ga, key=lambda r: r["total_quantity"])
    return Catalog(
        concert_ids=sorted({str(r["concert_id"]) for r in rows}),
        tier_ids=[str(r["id"]) for r in unseated],
        hot_tier_id=str(hot["id"]),
        seated_tier_ids=[str(r["id"]) for r in rows if r["tier_type"] == TierType.SEATED],
    )


# The per-fan cap is checked in the raw hold too (it is part of the statement), so its cost
# is measured; the raw clients are one user each, so it is set so high it never bites.
RAW_SQL_TICKET_CAP = 1_000_000_000
RAW_SQL_RATE_LIMIT = 1_000_000_000
# The hold statement's bound on a payment in flight (it only matters when all is held).
RAW_SQL_PAYMENT_DEADLINE_S = 4.0


# The server runs the production abuse limits: one fan may hold 10 tickets for a concert and
# send 30 bookings a minute. A load client books as a stream of fans, moving to a fresh one
# after this many bookings, so neither limit is what the figures measure.
BOOKINGS_PER_FAN = 10
# Fans to mint per second of a booking scenario: above any booking rate this machine reaches
# (docs/benchmarks/latest.json), so the pool does not run dry inside the window.
FANS_PER_SECOND = 2000 // BOOKINGS_PER_FAN


def fans_needed(clients: int, duration_s: float) -> int:
    return clients + math.ceil(duration_s * FANS_PER_SECOND)


async def make_guests(target: Target, count: int, connections: int = 8) -> list[tuple[str, str]]:
    """(user id, bearer token) for ``count`` fresh guests, minted over a few connections."""
    guests: list[tuple[str, str]] = []

    async def mint(share: int) -> None:
        conn = Connection(target.host, target.port)
        try:
            for _ in range(share):
                status, body = await conn.request("POST", "/api/auth/guest")
                if status != 200:
                    raise RuntimeError(f"could not create a guest: {status} {body!r}")
                data = orjson.loads(body)
                guests.append((data["userId"], data["token"]))
        finally:
            await conn.close()

    shares = [count // connections + (i < count % connections) for i in range(connections)]
    await asyncio.gather(*(mint(share) for share in shares if share))
    return guests


class Fans:
    """A pre-minted pool of guests, handed to the load clients one fresh fan at a time."""

    def __init__(self, guests: list[tuple[str, str]]) -> None:
        self.minted = len(guests)
        self._fresh = deque(guests)
        self.used: list[tuple[str, str]] = []

    def take(self) -> tuple[str, str] | None:
        if not self._fresh:
            return None
        fan = self._fresh.popleft()
        self.used.append(fan)
        return fan

    def summary(self) -> dict[str, Any]:
        return {"fans": {"minted": self.minted, "used": len(self.used)}}


ClientLoop = Callable[[int, Connection, Recorder, float], Awaitable[None]]


async def _run_clients(
    target: Target, name: str, clients: int, duration_s: float, loop: ClientLoop
) -> Recorder:
    recorder = Recorder(name, clients, target.cpu, window_s=duration_s)
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


def _error_code(status: int, body: bytes) -> str | None:
    """The API's error code ({"error": CODE, ...}) of a refusal the load reacts to."""
    if status not in (409, 429):
        return None
    try:
        code = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return code if isinstance(code, str) else None


async def _timed(recorder: Recorder, call: Awaitable[tuple[int, bytes]]) -> tuple[int, str | None]:
    """(status, error code of a 409 or 429) of one timed request; status 0 if it failed."""
    started = time.perf_counter()
    try:
        status, body = await call
    except HttpError:
        recorder.record("error", time.perf_counter() - started)
        return 0, None
    elapsed = time.perf_counter() - started
    code = _error_code(status, body)
    recorder.record(status, elapsed, code)
    return status, code


async def browse(target: Target, catalog: Catalog, clients: int, duration_s: float) -> Recorder:
    paths = ["/api/concerts"] + [f"/api/concerts/{cid}" for cid in catalog.concert_ids]

    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        rng = random.Random(i)
        while time.perf_counter() < deadline:
            path = paths[0] if rng.random() < 0.5 else rng.choice(paths[1:])
            await _timed(rec, conn.request("GET", path))

    return await _run_clients(target, "browse", clients, duration_s, client)


def _booking_call(
    conn: Connection, token: str, tier_id: str, quantity: int = 1
) -> Awaitable[tuple[int, bytes]]:
    return conn.request(
        "POST",
        "/api/bookings",
        {"ticketTierId": tier_id, "quantity": quantity},
        {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
    )


# This fan may book no more (the per-fan cap, or a rate limit): the next fan takes over.
FAN_REFUSED = ("TICKET_LIMIT_REACHED", "RATE_LIMITED")


async def _book(
    target: Target,
    fans: Fans,
    tier_ids: list[str],
    clients: int,
    duration_s: float,
    name: str,
    quantity: int = 1,
) -> Recorder:
    """Each client books ``quantity`` tickets at a time in a random tier it has not seen
    run out, as a fresh fan every BOOKINGS_PER_FAN tickets or when its fan is refused."""
    per_fan = max(1, BOOKINGS_PER_FAN // quantity)

    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        rng = random.Random(i)
        tiers = list(tier_ids)
        fan, booked = fans.take(), 0
        while fan and tiers and time.perf_counter() < deadline:
            tier = rng.choice(tiers)
            status, code = await _timed(rec, _booking_call(conn, fan[1], tier, quantity))
            booked += 1
            if status == 409 and code not in FAN_REFUSED:
                tiers.remove(tier)  # sold out, not together, or all held by payments
            if booked == per_fan or status == 429 or code in FAN_REFUSED:
                fan, booked = fans.take(), 0

    return await _run_clients(target, name, clients, duration_s, client)


async def hot_tier(
    target: Target,
    catalog: Catalog,
    fans: Fans,
    clients: int,
    duration_s: float,
    name: str = "hot-tier",
    tier_id: str | None = None,
) -> Recorder:
    """Every client fights over one tier: the hot tier unless ``tier_id`` is given."""
    tier = tier_id or catalog.hot_tier_id
    return await _book(target, fans, [tier], clients, duration_s, name)


async def spread(
    target: Target, catalog: Catalog, fans: Fans, clients: int, duration_s: float
) -> Recorder:
    return await _book(target, fans, catalog.tier_ids, clients, duration_s, "spread")


# The `seated` scenario's group: best available, this many side by side.
SEATED_GROUP = 2


async def seated(
    target: Target, catalog: Catalog, fans: Fans, clients: int, duration_s: float
) -> Recorder:
    """Best available SEATED_GROUP seats together in a random zone of the seated concert."""
    return await _book(
        target, fans, catalog.seated_tier_ids, clients, duration_s, "seated", SEATED_GROUP
    )


async def seat_states(
    target: Target, concert_id: str, clients: int, duration_s: float, name: str
) -> tuple[Recorder, int]:
    """Open seat maps polling a concert's seat states; and how many bytes one answer is."""
    path = f"/api/concerts/{concert_id}/seats/states"
    probe = Connection(target.host, target.port)
    try:
        status, body = await probe.request("GET", path)
    finally:
        await probe.close()
    assert status == 200, status

    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        while time.perf_counter() < deadline:
            await _timed(rec, conn.request("GET", path))

    return await _run_clients(target, name, clients, duration_s, client), len(body)


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
    cpu: CpuProbe | None = None,
    quantity: int = 1,
    seated: bool = False,
) -> Recorder:
    """The same hold and settle statements the app runs, sent straight from asyncpg (for
    ``seated`` tiers the best-available hold, looked at again when contended, as the engine
    does)."""
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
        recorder = Recorder(name, clients, cpu, window_s=duration_s)
        progress = Progress(name, duration_s)
        deadline = time.perf_counter() + duration_s

        async def client(i: int) -> None:
            rng = random.Random(i)
            tiers = [uuid.UUID(t) for t in tier_ids]
            while tiers and time.perf_counter() < deadline:
                tier = rng.choice(tiers)
                started = time.perf_counter()
                arguments = (
                    tier,
                    quantity,
                    user_ids[i],
                    uuid.uuid4(),
                    "raw",
                    600.0,
                    uuid.uuid4(),
                    RAW_SQL_TICKET_CAP,
                    RAW_SQL_PAYMENT_DEADLINE_S,
                )
                # The app counts each booking in its fan's rate-limit bucket inside the
                # hold; so does the baseline (with a limit it never reaches).
                bucket = ([f"booking:account:{user_ids[i]}"], [60], [RAW_SQL_RATE_LIMIT])
                if seated:
                    row = await _raw_seated_hold(pool, arguments, bucket)
                else:
                    async with pool.acquire() as conn:
                        row = await conn.fetchrow(queries.HOLD_SQL, *arguments, *bucket)
                if row["contended"] and not seated:
                    # A split tier with every slot locked: the engine's second statement.
                    async with pool.acquire() as conn:
                        row = await conn.fetchrow(
                            queries.LOCKED_HOLD_SQL, *arguments, *NO_BUCKETS.arguments()
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


async def _raw_seated_hold(
    pool: asyncpg.Pool, arguments: tuple[Any, ...], bucket: tuple[Any, ...]
) -> asyncpg.Record:
    """The best-available hold, again at once while every fitting block is locked."""
    for _ in range(MAX_CONTENDED_LOOKS + 1):
        async with pool.acquire() as conn:
            row: asyncpg.Record = await conn.fetchrow(
                seat_queries.BEST_HOLD_SQL, *arguments, *bucket, None
            )
        if row["refusal"] != queries.CONTENDED:
            break
        bucket = NO_BUCKETS.arguments()
    return row


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


async def checkin(
    target: Target,
    concert_id: str,
    token: str,
    ticket_codes: list[str],
    clients: int,
    duration_s: float,
    gates: int = 8,
) -> tuple[Recorder, Counter[str]]:
    """Door staff at ``gates`` gates scanning every ticket once (verify, check revocation,
    record the entry): the recorder, and what the door answered."""
    queue = deque(ticket_codes)
    headers = {"Authorization": f"Bearer {token}"}
    outcomes: Counter[str] = Counter()

    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        gate = f"Gate {i % gates + 1}"
        while queue and time.perf_counter() < deadline:
            scan = {
                "concertId": concert_id,
                "code": queue.popleft(),
                "gate": gate,
                "scanId": str(uuid.uuid4()),
            }
            started = time.perf_counter()
            try:
                status, body = await conn.request("POST", "/api/checkin", scan, headers)
            except HttpError:
                rec.record("error", time.perf_counter() - started)
                continue
            rec.record(status, time.perf_counter() - started)
            if status == 200:
                outcomes[orjson.loads(body)["outcome"]] += 1

    return await _run_clients(target, "checkin", clients, duration_s, client), outcomes


async def queue_joins(
    target: Target, concert_id: str, tokens: list[str], clients: int, duration_s: float
) -> tuple[Recorder, int]:
    """Visitors joining a protected on-sale's waiting room before it opens, each once:
    the recorder, and how many joined."""
    queue = deque(tokens)
    path = f"/api/concerts/{concert_id}/queue"
    joined = 0

    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        nonlocal joined
        while queue and time.perf_counter() < deadline:
            headers = {"Authorization": f"Bearer {queue.popleft()}"}
            status, _ = await _timed(rec, conn.request("POST", path, {}, headers))
            joined += status == 200

    return await _run_clients(target, "onsale-joins", clients, duration_s, client), joined


async def queue_polls(
    target: Target, concert_id: str, tokens: list[str], clients: int, duration_s: float
) -> Recorder:
    """Waiting visitors polling where they stand (what the waiting room's page does)."""
    path = f"/api/concerts/{concert_id}/queue"

    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        rng = random.Random(i)
        while time.perf_counter() < deadline:
            headers = {"Authorization": f"Bearer {rng.choice(tokens)}"}
            await _timed(rec, conn.request("GET", path, None, headers))

    return await _run_clients(target, "onsale-polls", clients, duration_s, client)


async def admitted_bookings(
    target: Target,
    concert_id: str,
    tier_ids: list[str],
    visitors: list[str],
    clients: int,
    duration_s: float,
) -> Recorder:
    """The admitted, in queue order, each polling until its turn comes, then booking one
    ticket with its admission token; only the bookings are recorded."""
    queue = deque(visitors)
    path = f"/api/concerts/{concert_id}/queue"

    async def client(i: int, conn: Connection, rec: Recorder, deadline: float) -> None:
        rng = random.Random(i)
        tiers = list(tier_ids)
        while queue and tiers and time.perf_counter() < deadline:
            bearer = {"Authorization": f"Bearer {queue.popleft()}"}
            admission = None
            while admission is None and time.perf_counter() < deadline:
                status, body = await conn.request("GET", path, None, bearer)
                data = orjson.loads(body)["data"] if status == 200 else {}
                admission = data.get("admissionToken")
                if admission is None:
                    await asyncio.sleep(0.05)
            if admission is None:
                return
            tier = rng.choice(tiers)
            call = conn.request(
                "POST",
                "/api/bookings",
                {"ticketTierId": tier, "quantity": 1},
                {**bearer, "Idempotency-Key": str(uuid.uuid4()), "X-Queue-Admission": admission},
            )
            status, code = await _timed(rec, call)
            if status == 409 and code not in FAN_REFUSED:
                tiers.remove(tier)

    return await _run_clients(target, "onsale-bookings", clients, duration_s, client)
