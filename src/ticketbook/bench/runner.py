"""Orchestrates a benchmark run: a fresh database, the production server, every scenario, the
inventory check after each, and a summary table with the ratios against raw SQL."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import orjson

from ticketbook.auth.tokens import TokenSigner
from ticketbook.bench import bigdata, scenarios
from ticketbook.bench.cpu import CpuProbe, postmaster_pid
from ticketbook.bench.http import Connection
from ticketbook.bench.scenarios import Fans, Target
from ticketbook.booking.stock import split_stock
from ticketbook.catalog.demo import seed
from ticketbook.db.migrate import upgrade_to_head
from ticketbook.db.pool import Database
from ticketbook.domain.enums import BookingStatus
from ticketbook.ops.doctor import diagnose
from ticketbook.ops.queries import CONSERVATION_SQL
from ticketbook.queue.service import CACHE_TTL_S, WaitingRoom
from ticketbook.seating.demo_layouts import stadium
from ticketbook.seating.service import store_and_seat
from ticketbook.tickets.keys import TicketKeys

BENCH_DATABASE = "ticketbook_bench"


@dataclass(frozen=True)
class BenchOptions:
    workers: int = 2
    pool_size: int = 10
    duration_s: float = 10.0
    browse_clients: int = 32
    booking_clients: int = 64
    # The second client count for the hot tier, to show p99 under a crowd; also the
    # realistic-payments run's, so 150 ms charges do not cap its throughput (Little's law).
    many_clients: int = 256
    payment_latency_ms: float = 0.0
    payment_success_rate: float = 0.8
    rows: int = 0
    # The hot tier is sold again with its stock over this many rows (booking/stock.py): more
    # than the server's connections (workers x pool size), else most holds find every slot
    # locked and take the locked pass. 1 leaves those rounds out.
    split_slots: int = 32
    port: int = 8099
    output: Path | None = None
    # A smoke run: one client count per booking shape (the hot tier's crowd rounds,
    # @many_clients, left out), a tenth of the stadium and of the door's tickets, and
    # realistic payments that time out after 0.6 s instead of 3 s.
    quick: bool = False

    @property
    def stadium_seats(self) -> int:
        return STADIUM_SEATS // 10 if self.quick else STADIUM_SEATS

    @property
    def checkin_tickets(self) -> int:
        return CHECKIN_TICKETS // 10 if self.quick else CHECKIN_TICKETS

    @property
    def queue_visitors(self) -> int:
        return QUEUE_VISITORS // 50 if self.quick else QUEUE_VISITORS


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _fresh_database(admin_url: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    finally:
        await conn.close()
    return _with_database(admin_url, BENCH_DATABASE)


# Tickets added to the hot tier for the steady rounds, so no window sells it out.
STEADY_EXTRA_TICKETS = 100_000


async def _reseed(url: str, hot_tier_slots: int = 1, *, steady: bool = False) -> str:
    """The demo data afresh; the hot tier's stock over ``hot_tier_slots`` rows, and
    STEADY_EXTRA_TICKETS more of it if ``steady``. Returns the hot tier's id (with the extra
    tickets it is no longer the smallest, which is how the catalog finds it)."""
    conn = await asyncpg.connect(url)
    try:
        await seed(conn, reset=True)
        hot = uuid.UUID((await scenarios.load_catalog(conn)).hot_tier_id)
        if steady:
            await conn.execute(
                "WITH t AS (UPDATE ticket_tiers SET total_quantity = total_quantity + $2"
                " WHERE id = $1) UPDATE tier_stock SET available = available + $2"
                " WHERE tier_id = $1 AND slot = 0",
                hot,
                STEADY_EXTRA_TICKETS,
            )
        if hot_tier_slots > 1:
            await split_stock(conn, hot, hot_tier_slots)
    finally:
        await conn.close()
    return str(hot)


async def _steady_round(
    url: str, target: Target, options: BenchOptions, results: list[dict[str, Any]], name: str
) -> None:
    """The hot tier with far more tickets than a window sells: its throughput while it is on
    sale, without the sell-out's last seconds (with realistic payments, the 3 s timeouts
    whose tickets come back only then)."""
    hot_tier_id = await _reseed(url, steady=True)
    catalog, fans = await _fans(url, target, options.many_clients, options)
    # After the 60,000-seat stadium's rows came and went: no vacuum or checkpoint inside.
    await _settle_database(url)
    recorder = await scenarios.hot_tier(
        target, catalog, fans, options.many_clients, options.duration_s, name, hot_tier_id
    )
    conn = await asyncpg.connect(url)
    try:
        sold = await conn.fetchval(
            "SELECT coalesce(sum(quantity), 0)::int FROM bookings"
            " WHERE tier_id = $1 AND status = $2",
            uuid.UUID(hot_tier_id),
            BookingStatus.CONFIRMED,
        )
    finally:
        await conn.close()
    summary = recorder.summary(**fans.summary(), **await _inventory(url))
    _emit({**summary, "steady_tier_sold": sold}, results)


async def _settle_database(url: str) -> None:
    """Start each scenario from the same footing: fresh planner statistics, visibility map
    set, dirty pages written, so no autovacuum or checkpoint lands inside a measurement."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
        # Skipped on an external server where we are not superuser.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def _inventory(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        report = await diagnose(conn, stuck_grace_s=3600)
        tiers = await conn.fetch(CONSERVATION_SQL)
    finally:
        await conn.close()
    return scenarios.inventory_check(report.lines, report.violations, list(tiers))


def instant_payments(options: BenchOptions) -> dict[str, str]:
    """The brief's figures were taken with an instant provider: failures are declines and
    errors, not 3-second timeouts."""
    return {
        "TICKETBOOK_PAYMENT_LATENCY_MS": str(options.payment_latency_ms),
        "TICKETBOOK_PAYMENT_LATENCY_JITTER_MS": "0",
        "TICKETBOOK_PAYMENT_SUCCESS_RATE": str(options.payment_success_rate),
        "TICKETBOOK_PAYMENT_TIMEOUT_SHARE": "0",
    }


def realistic_payments(options: BenchOptions) -> dict[str, str]:
    """The simulated provider as it ships: 150 ms ± 100 ms, and the default timeout share
    and timeout length (with success 0.8, 2% of charges take 3 s and time out)."""
    profile = {
        "TICKETBOOK_PAYMENT_LATENCY_MS": "150",
        "TICKETBOOK_PAYMENT_LATENCY_JITTER_MS": "100",
        "TICKETBOOK_PAYMENT_SUCCESS_RATE": str(options.payment_success_rate),
    }
    if options.quick:
        profile["TICKETBOOK_PAYMENT_TIMEOUT_MS"] = "600"
    return profile


# Settings the benchmarked server runs at their production defaults, whatever the calling
# shell says: the per-fan cap and the per-account booking rate (the load books as many fans,
# scenarios.BOOKINGS_PER_FAN each), and the payment timeouts unless a payment profile sets them.
PRODUCTION_DEFAULTS = (
    "TICKETBOOK_MAX_TICKETS_PER_CONCERT",
    "TICKETBOOK_RATE_BOOKING_PER_ACCOUNT",
    "TICKETBOOK_PAYMENT_TIMEOUT_SHARE",
    "TICKETBOOK_PAYMENT_TIMEOUT_MS",
)


class Server:
    """`ticketbook serve` as a child process: the production server, as an operator runs it."""

    def __init__(
        self,
        database_url: str,
        options: BenchOptions,
        data_dir: Path,
        payments: dict[str, str] | None = None,
    ) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if k not in PRODUCTION_DEFAULTS},
            "DATABASE_URL": database_url,
            "TICKETBOOK_DATA_DIR": str(data_dir),
            **(instant_payments(options) if payments is None else payments),
            "TICKETBOOK_POOL_MAX_SIZE": str(options.pool_size),
            "TICKETBOOK_POOL_MIN_SIZE": str(options.pool_size),
            # All the load comes from one address: a per-address booking limit would be one
            # counter shared by every fan, unlike production, so it is off.
            "TICKETBOOK_RATE_BOOKING_PER_ADDRESS": "off",
            # Every fan is minted as a guest from that one load address.
            "TICKETBOOK_RATE_GUEST_PER_ADDRESS": "off",
        }
        command = [
            sys.executable,
            "-m",
            "ticketbook.cli.main",
            "serve",
            "--port",
            str(options.port),
            "--workers",
            str(options.workers),
        ]
        self.url = f"http://127.0.0.1:{options.port}"
        self.process = subprocess.Popen(command, env=env, start_new_session=True)

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            try:
                if httpx.get(f"{self.url}/api/health-check", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not become healthy")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def _emit(result: dict[str, Any], results: list[dict[str, Any]]) -> None:
    results.append(result)
    print(orjson.dumps(result).decode(), flush=True)


async def _fans(
    url: str, target: Target, clients: int, options: BenchOptions
) -> tuple[scenarios.Catalog, Fans]:
    """After a reseed (which deletes every user), the catalog and a fresh pool of fans,
    minted before the measured window, then the database settled."""
    catalog = await _catalog(url)
    guests = await scenarios.make_guests(target, scenarios.fans_needed(clients, options.duration_s))
    await _settle_database(url)
    return catalog, Fans(guests)


async def _booking_round(
    url: str, target: Target, options: BenchOptions, results: list[dict[str, Any]]
) -> None:
    """hot-tier (at two client counts, with its stock in one row and split over
    ``options.split_slots``) and spread over HTTP, each followed by the same shape as raw
    SQL."""
    pool_size = options.workers * options.pool_size
    raw_cpu = replace(target.cpu, app_pid=None) if target.cpu else None
    hot = [("hot-tier", options.booking_clients, 1)]
    if not options.quick:
        hot.append(("hot-tier", options.many_clients, 1))
    if options.split_slots > 1:
        hot += [(s, c, options.split_slots) for s, c, _ in hot]
    rounds = [*hot, ("spread", options.booking_clients, 1)]
    for shape, clients, slots in rounds:
        name = shape if slots == 1 else f"{shape}/split{slots}"
        if clients != options.booking_clients:
            name += f"@{clients}"
        await _reseed(url, slots)
        catalog, fans = await _fans(url, target, clients, options)
        if shape == "hot-tier":
            recorder = await scenarios.hot_tier(
                target, catalog, fans, clients, options.duration_s, name
            )
        else:
            recorder = await scenarios.spread(target, catalog, fans, clients, options.duration_s)
        _emit(recorder.summary(**fans.summary(), **await _inventory(url)), results)
        if shape == "spread":
            # The fans now own bookings: list them, as fans check "my bookings".
            await _settle_database(url)
            listing = await scenarios.my_bookings(
                target, fans.used, options.browse_clients, options.duration_s, "my-bookings"
            )
            _emit(listing.summary(), results)

        await _reseed(url, slots)
        catalog = await _catalog(url)
        tiers = [catalog.hot_tier_id] if shape == "hot-tier" else catalog.tier_ids
        await _settle_database(url)
        raw = await scenarios.raw_sql(
            url,
            tiers,
            clients,
            pool_size,
            options.duration_s,
            f"raw-sql-{name}",
            options.payment_success_rate,
            raw_cpu,
        )
        _emit(raw.summary(**await _inventory(url)), results)
        if shape == "spread":
            await _untriggered_spread(url, target, options, results)


async def _untriggered_spread(
    url: str, target: Target, options: BenchOptions, results: list[dict[str, Any]]
) -> None:
    """spread again with the ticket-issuing triggers off: what issuing a confirmed booking's
    tickets (migration 0007) costs a booking, in the same run."""
    await _reseed(url)
    catalog, fans = await _fans(url, target, options.booking_clients, options)
    await _issue_tickets(url, enabled=False)
    try:
        recorder = await scenarios.spread(
            target, catalog, fans, options.booking_clients, options.duration_s
        )
    finally:
        await _issue_tickets(url, enabled=True)
    # ... and the bookings confirmed meanwhile get theirs now, as doctor expects.
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO tickets (booking_id, concert_id, tier_id, admission, seat, holder_id)"
            " SELECT b.id, b.concert_id, b.tier_id, n, b.seats[n], b.user_id"
            " FROM bookings b, generate_series(1, b.quantity) AS n"
            " WHERE b.status = 'CONFIRMED'"
            " AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.booking_id = b.id)"
        )
    finally:
        await conn.close()
    recorder.scenario = "spread/no-tickets"
    _emit(recorder.summary(**fans.summary(), **await _inventory(url)), results)


async def _issue_tickets(url: str, *, enabled: bool) -> None:
    conn = await asyncpg.connect(url)
    try:
        verb = "ENABLE" if enabled else "DISABLE"
        for trigger in ("tb_issue_tickets", "tb_issue_tickets_on_insert"):
            await conn.execute(f"ALTER TABLE bookings {verb} TRIGGER {trigger}")
    finally:
        await conn.close()


async def _seated_round(
    url: str, target: Target, options: BenchOptions, results: list[dict[str, Any]]
) -> None:
    """Best available 2 seats together in the seated demo concert's zones, until they sell
    out, through HTTP and then as raw SQL of the same allocation."""
    await _reseed(url)
    catalog, fans = await _fans(url, target, options.booking_clients, options)
    recorder = await scenarios.seated(
        target, catalog, fans, options.booking_clients, options.duration_s
    )
    _emit(recorder.summary(**fans.summary(), **await _inventory(url)), results)
    await _reseed(url)
    catalog = await _catalog(url)
    await _settle_database(url)
    raw = await scenarios.raw_sql(
        url,
        catalog.seated_tier_ids,
        options.booking_clients,
        options.workers * options.pool_size,
        options.duration_s,
        "raw-sql-seated",
        options.payment_success_rate,
        replace(target.cpu, app_pid=None) if target.cpu else None,
        quantity=scenarios.SEATED_GROUP,
        seated=True,
    )
    _emit(raw.summary(**await _inventory(url)), results)
    seats = options.stadium_seats
    concert_id = await _stadium_concert(url, seats)
    await _settle_database(url)
    polling, size = await scenarios.seat_states(
        target, concert_id, options.browse_clients, options.duration_s, f"seat-states@{seats}"
    )
    _emit(polling.summary(body_bytes=size), results)


STADIUM_SEATS = 60_000
# Tickets issued for the check-in round: more than one window scans.
CHECKIN_TICKETS = 30_000


async def _checkin_round(
    url: str, target: Target, options: BenchOptions, results: list[dict[str, Any]], secret: str
) -> None:
    """Door staff scanning a concert's tickets, each once, over HTTP; and what a ticket's
    code costs to sign and to verify in this process."""
    await _reseed(url)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            concert_id = await conn.fetchval(
                "INSERT INTO concerts (name, artist, venue, starts_at)"
                " VALUES ('Door night', 'The Benchmarks', 'Bench Hall',"
                " now() + interval '1 hour') RETURNING id"
            )
            tier_id = await conn.fetchval(
                "INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency,"
                " total_quantity) VALUES ($1, 'GA', 1000, 'USD', $2) RETURNING id",
                concert_id,
                options.checkin_tickets,
            )
            # Confirmed bookings: the trigger issues their tickets (one each).
            await conn.execute(
                "WITH fan AS (INSERT INTO users DEFAULT VALUES RETURNING id),"
                " booked AS (INSERT INTO bookings (user_id, concert_id, tier_id, quantity,"
                "  unit_price_cents, total_cents, currency, status, hold_expires_at)"
                "  SELECT fan.id, $1, $2, 1, 1000, 1000, 'USD', 'CONFIRMED', now()"
                "  FROM fan, generate_series(1, $3))"
                " UPDATE tier_stock SET available = available - $3 WHERE tier_id = $2",
                concert_id,
                tier_id,
                options.checkin_tickets,
            )
        tickets = await conn.fetch(
            "SELECT id, tier_id, seat FROM tickets WHERE concert_id = $1", concert_id
        )
    finally:
        await conn.close()
    keys = TicketKeys(secret)
    keys.signing_key(concert_id, 1)  # derived once per concert, not per ticket
    started = time.process_time()
    ticket_codes = [
        keys.code(
            concert_id=concert_id,
            key_version=1,
            ticket_id=t["id"],
            tier_id=t["tier_id"],
            seat=t["seat"],
        )
        for t in tickets
    ]
    sign_us = (time.process_time() - started) / len(ticket_codes) * 1e6
    started = time.process_time()
    for code in ticket_codes[:2000]:
        keys.verify(code, concert_id, 1)
    verify_us = (time.process_time() - started) / min(2000, len(ticket_codes)) * 1e6
    token = await _staff_token(target, url, concert_id)
    await _settle_database(url)
    recorder, outcomes = await scenarios.checkin(
        target, str(concert_id), token, ticket_codes, options.browse_clients, options.duration_s
    )
    admitted = await _admitted(url, concert_id)
    _emit(
        recorder.summary(
            outcomes=dict(outcomes),
            admitted=admitted,
            sign_us_per_ticket=round(sign_us, 1),
            verify_us_per_ticket=round(verify_us, 1),
            code_chars=len(ticket_codes[0]),
        ),
        results,
    )


# The on-sale round's crowd, and the rate the waiting room lets it in at.
QUEUE_VISITORS = 100_000
ADMIT_PER_MINUTE = 30_000


async def _onsale_round(
    url: str, target: Target, options: BenchOptions, results: list[dict[str, Any]], secret: str
) -> None:
    """A protected on-sale of the hot tier's concert: a burst of joins before it opens (over
    HTTP for one window; the rest of the QUEUE_VISITORS crowd written straight in), their
    status polls, the draw of all of them, then the admitted booking at ADMIT_PER_MINUTE."""
    await _reseed(url)
    catalog = await _catalog(url)
    visitors = options.queue_visitors
    signer = TokenSigner(secret)
    conn = await asyncpg.connect(url)
    try:
        concert_id = await conn.fetchval(
            "SELECT concert_id FROM ticket_tiers WHERE id = $1", uuid.UUID(catalog.hot_tier_id)
        )
        tier_ids = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM ticket_tiers WHERE concert_id = $1 AND zone IS NULL", concert_id
            )
        ]
        # The crowd: guests, whose bearer tokens this process signs with the server's key.
        ids = [
            r["id"]
            for r in await conn.fetch(
                "INSERT INTO users (role) SELECT 'guest' FROM generate_series(1, $1) RETURNING id",
                visitors,
            )
        ]
    finally:
        await conn.close()
    tokens = {user_id: signer.issue(user_id) for user_id in ids}
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    room = WaitingRoom(Database(pool, acquire_timeout_s=30.0), signer)
    try:
        await room.set_onsale(
            concert_id,
            opens_at=datetime.now(UTC) + timedelta(hours=1),
            protected=True,
            rate_per_minute=ADMIT_PER_MINUTE,
            by=None,
        )
        await _settle_database(url)
        joins, joined = await scenarios.queue_joins(
            target,
            str(concert_id),
            list(tokens.values()),
            options.booking_clients,
            options.duration_s,
        )
        async with pool.acquire() as db:
            await db.execute(
                "INSERT INTO queue_entries (concert_id, user_id, join_id, early)"
                " SELECT $1, u, substr(md5(u::text), 1, 16), true FROM unnest($2::uuid[]) AS u"
                " ON CONFLICT DO NOTHING",
                concert_id,
                ids,
            )
        _emit(joins.summary(joined_over_http=joined, queued=visitors), results)
        await _settle_database(url)
        polls = await scenarios.queue_polls(
            target,
            str(concert_id),
            list(tokens.values()),
            options.browse_clients,
            options.duration_s,
        )
        _emit(polls.summary(queued=visitors), results)
        # The clock reaches the opening (an on-sale with joiners can't be moved earlier
        # through the service): the draw places the whole crowd.
        async with pool.acquire() as db:
            await db.execute(
                "UPDATE onsales SET opens_at = now() - interval '1 second' WHERE concert_id = $1",
                concert_id,
            )
        room.forget_cached()
        started = time.perf_counter()
        await room.draw(concert_id)
        draw_s = time.perf_counter() - started
        print(orjson.dumps({"draw": {"visitors": visitors, "seconds": round(draw_s, 2)}}).decode())
        # The server's workers see the draw once their on-sale cache (at most a second) lapses.
        await asyncio.sleep(CACHE_TTL_S + 0.1)
        async with pool.acquire() as db:
            order = await db.fetch(
                "SELECT user_id FROM queue_entries WHERE concert_id = $1"
                " ORDER BY position LIMIT $2",
                concert_id,
                math.ceil(ADMIT_PER_MINUTE / 60 * options.duration_s) + options.booking_clients,
            )
        await _settle_database(url)
        bookings = await scenarios.admitted_bookings(
            target,
            str(concert_id),
            tier_ids,
            [tokens[r["user_id"]] for r in order],
            options.booking_clients,
            options.duration_s,
        )
        _emit(
            bookings.summary(
                draw_s=round(draw_s, 2),
                drawn=visitors,
                admit_per_minute=ADMIT_PER_MINUTE,
                **await _inventory(url),
            ),
            results,
        )
    finally:
        await pool.close()


async def _staff_token(target: Target, url: str, concert_id: uuid.UUID) -> str:
    """A fresh account's bearer token, granted the door for ``concert_id``."""
    conn = Connection(target.host, target.port)
    try:
        status, body = await conn.request(
            "POST",
            "/api/auth/register",
            {
                "email": f"door-{uuid.uuid4().hex[:12]}@bench.example",
                "password": "bench door staff 1",
            },
        )
    finally:
        await conn.close()
    if status != 201:
        raise RuntimeError(f"could not register the door staff: {status} {body!r}")
    session = orjson.loads(body)
    db = await asyncpg.connect(url)
    try:
        await db.execute(
            "INSERT INTO checkin_staff (concert_id, user_id) VALUES ($1, $2)",
            concert_id,
            uuid.UUID(session["userId"]),
        )
    finally:
        await db.close()
    return str(session["token"])


async def _admitted(url: str, concert_id: uuid.UUID) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM checkins WHERE concert_id = $1", concert_id)
        )
    finally:
        await conn.close()


async def _stadium_concert(url: str, seats: int) -> str:
    """A concert seated on a stadium of ``seats`` seats, a tenth of them sold."""
    layout = stadium(seats)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            concert_id = await conn.fetchval(
                "INSERT INTO concerts (name, artist, venue, starts_at)"
                " VALUES ('Stadium night', 'The Benchmarks', 'Bench Stadium',"
                " now() + interval '30 days') RETURNING id"
            )
            await store_and_seat(
                conn, concert_id, layout, {z.key: 5000 for z in layout.zones}, "USD"
            )
            await conn.execute(
                "WITH guest AS (INSERT INTO users DEFAULT VALUES RETURNING id),"
                " sold AS (SELECT s.ordinal, s.code, s.tier_id FROM concert_seats s"
                "  WHERE s.concert_id = $1 AND s.ordinal % 10 = 0),"
                " booked AS (INSERT INTO bookings (user_id, concert_id, tier_id, quantity,"
                "  unit_price_cents, total_cents, currency, status, hold_expires_at, seats)"
                "  SELECT guest.id, $1, sold.tier_id, 1, 5000, 5000, 'USD', 'CONFIRMED',"
                "  now(), ARRAY[sold.code] FROM guest, sold RETURNING id, seats[1] AS code),"
                " stock AS (UPDATE tier_stock k SET available = available - n.sold"
                "  FROM (SELECT tier_id, count(*)::int AS sold FROM sold GROUP BY tier_id) n"
                "  WHERE k.tier_id = n.tier_id)"
                " UPDATE concert_seats s SET booking_id = b.id FROM booked b"
                " WHERE s.concert_id = $1 AND s.code = b.code",
                concert_id,
            )
    finally:
        await conn.close()
    return str(concert_id)


async def _realistic_round(
    url: str, target: Target, options: BenchOptions, results: list[dict[str, Any]]
) -> None:
    """The hot tier again, against a server whose provider takes as long as a real one.

    Its 1000 tickets take several seconds to sell at these rates (as in the instant run), so
    it is measured on the same tier; the window ends when the last charge in flight does,
    up to a 3 s timeout after the deadline.
    """
    await _reseed(url)
    catalog, fans = await _fans(url, target, options.many_clients, options)
    recorder = await scenarios.hot_tier(
        target, catalog, fans, options.many_clients, options.duration_s, "hot-tier-realistic"
    )
    _emit(recorder.summary(**fans.summary(), **await _inventory(url)), results)


async def _big_round(
    url: str, target: Target, options: BenchOptions, results: list[dict[str, Any]]
) -> None:
    """The same booking and listing load after filling ``options.rows`` bookings."""
    await _reseed(url)
    conn = await asyncpg.connect(url)
    try:
        seconds = await bigdata.fill_bookings(conn, options.rows)
    finally:
        await conn.close()
    print(orjson.dumps({"fill": {"rows": options.rows, "seconds": round(seconds, 1)}}).decode())
    catalog, fans = await _fans(url, target, options.booking_clients, options)
    suffix = f"@{options.rows}"
    spread = await scenarios.spread(
        target, catalog, fans, options.booking_clients, options.duration_s
    )
    spread.scenario += suffix
    _emit(spread.summary(rows=options.rows, **fans.summary(), **await _inventory(url)), results)
    await _settle_database(url)
    listing = await scenarios.my_bookings(
        target, fans.used, options.browse_clients, options.duration_s, "my-bookings" + suffix
    )
    _emit(listing.summary(rows=options.rows), results)


async def _catalog(url: str) -> scenarios.Catalog:
    conn = await asyncpg.connect(url)
    try:
        return await scenarios.load_catalog(conn)
    finally:
        await conn.close()


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def summary_table(results: list[dict[str, Any]]) -> str:
    by_name = {r["scenario"]: r for r in results}
    lines = [
        "| scenario | clients | requests | req/s | p50 ms | p90 ms | p99 ms | p99/p50 | "
        "app CPU ms/req | PG CPU ms/req | statuses | oversold | doctor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in results:
        inventory = r.get("inventory", {})
        statuses = " ".join(f"{k}:{v}" for k, v in r["statuses"].items())
        if r.get("error_codes"):
            statuses += " (" + " ".join(f"{k}:{v}" for k, v in r["error_codes"].items()) + ")"
        doctor = inventory.get("doctor", "-")
        spread = f"{r['p99_ms'] / r['p50_ms']:.1f}" if r["p50_ms"] else "-"
        lines.append(
            f"| {r['scenario']} | {r['clients']} | {r['requests']} | {r['throughput_rps']} | "
            f"{r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} | {spread} | "
            f"{_cell(r.get('app_cpu_ms_per_request'))} | "
            f"{_cell(r.get('pg_cpu_ms_per_request'))} | {statuses} | "
            f"{inventory.get('oversold_tickets', '-')} | "
            f"{doctor if isinstance(doctor, str) else 'VIOLATIONS'} |"
        )
    ratios = []
    for name in by_name:
        app, raw = by_name[name], by_name.get(f"raw-sql-{name}")
        if raw and raw["throughput_rps"]:
            ratios.append(
                f"{name}: {app['throughput_rps']} / {raw['throughput_rps']} req/s = "
                f"{app['throughput_rps'] / raw['throughput_rps']:.2f} x raw SQL"
            )
    for name, split in by_name.items():
        one_row = by_name.get(re.sub(r"/split\d+", "", name))
        if one_row is not split and one_row and one_row["throughput_rps"]:
            ratios.append(
                f"{name} / its tier in one row = "
                f"{split['throughput_rps'] / one_row['throughput_rps']:.2f} x req/s, "
                f"p99 {split['p99_ms']} vs {one_row['p99_ms']} ms"
            )
    for name, slow in by_name.items():
        fast = by_name.get(name.replace("-realistic-steady", "-steady"))
        if name.startswith("hot-tier-realistic-steady") and fast and fast["throughput_rps"]:
            ratios.append(
                f"{name} / {fast['scenario']} = "
                f"{slow['throughput_rps'] / fast['throughput_rps']:.2f} "
                "(150 ms ± 100 ms payments vs instant, while on sale)"
            )
    with_tickets, without = by_name.get("spread"), by_name.get("spread/no-tickets")
    if with_tickets and without:
        ratios.append(
            "spread / spread/no-tickets (issuing tickets in the confirming statement): "
            f"app CPU {with_tickets.get('app_cpu_ms_per_request')} vs "
            f"{without.get('app_cpu_ms_per_request')} ms/req, PG CPU "
            f"{with_tickets.get('pg_cpu_ms_per_request')} vs "
            f"{without.get('pg_cpu_ms_per_request')} ms/req"
        )
    joins, polls = by_name.get("onsale-joins"), by_name.get("onsale-polls")
    admitted = by_name.get("onsale-bookings")
    if joins and polls and admitted:
        ratios.append(
            f"onsale: {joins['throughput_rps']} joins/s (app CPU "
            f"{joins.get('app_cpu_ms_per_request')} + PG {joins.get('pg_cpu_ms_per_request')} ms"
            f" a join), {polls['throughput_rps']} status polls/s (app CPU "
            f"{polls.get('app_cpu_ms_per_request')} + PG {polls.get('pg_cpu_ms_per_request')} ms"
            f" a poll) with {polls['queued']} queued; the draw of {admitted['drawn']} took "
            f"{admitted['draw_s']} s; the admitted ({admitted['admit_per_minute']}/min) booked "
            f"{admitted['throughput_rps']} req/s, p99 {admitted['p99_ms']} ms"
        )
    door = by_name.get("checkin")
    if door:
        ratios.append(
            f"checkin: {door['throughput_rps']} scans/s, p99 {door['p99_ms']} ms, app CPU "
            f"{door.get('app_cpu_ms_per_request')} + PG CPU {door.get('pg_cpu_ms_per_request')}"
            f" ms/scan; a code ({door['code_chars']} characters) costs "
            f"{door['sign_us_per_ticket']} us to sign, {door['verify_us_per_ticket']} us to verify"
        )
    realistic, instant = by_name.get("hot-tier-realistic"), by_name.get("hot-tier")
    if realistic and instant and instant["throughput_rps"]:
        ratios.append(
            f"hot-tier-realistic / hot-tier = "
            f"{realistic['throughput_rps'] / instant['throughput_rps']:.2f} "
            "(150 ms ± 100 ms payments vs instant)"
        )
    for name, other in by_name.items():
        small = by_name.get(name.partition("@")[0])
        if other.get("rows") and small and small["p50_ms"]:
            ratios.append(
                f"{name} vs small database: p50 {other['p50_ms'] / small['p50_ms']:.2f} x, "
                f"p90 {other['p90_ms'] / small['p90_ms']:.2f} x"
            )
    for name, polled in by_name.items():
        if polled.get("body_bytes"):
            ratios.append(
                f"{name}: {polled['body_bytes']} bytes an answer, p50 {polled['p50_ms']} ms,"
                f" p99 {polled['p99_ms']} ms"
            )
    if "browse" in by_name:
        ratios.append(f"browse p99: {by_name['browse']['p99_ms']} ms")
    return "\n".join([*lines, "", *ratios])


def machine_description() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


async def _postmaster(url: str) -> int | None:
    """The local postmaster's PID: the parent of our own backend; None if not local."""
    conn = await asyncpg.connect(url)
    try:
        return postmaster_pid(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def _serving(
    url: str, options: BenchOptions, data_dir: Path, payments: dict[str, str]
) -> AsyncIterator[Target]:
    """A healthy server for the scenarios, and the process trees to measure."""
    server = Server(url, options, data_dir, payments)
    try:
        await asyncio.to_thread(server.wait_healthy)
        probe = CpuProbe(app_pid=server.process.pid, pg_pid=await _postmaster(url))
        yield Target("127.0.0.1", options.port, url, probe)
    finally:
        server.stop()


async def run_scenarios(
    url: str, options: BenchOptions, data_dir: Path, secret_key: str
) -> list[dict[str, Any]]:
    """Every scenario, in order. ``secret_key`` is the server's (its settings'), so the
    check-in round can sign the codes the door then scans."""
    results: list[dict[str, Any]] = []
    many = options.many_clients
    async with _serving(url, options, data_dir, instant_payments(options)) as target:
        catalog = await _catalog(url)
        await _settle_database(url)
        recorder = await scenarios.browse(
            target, catalog, options.browse_clients, options.duration_s
        )
        _emit(recorder.summary(), results)
        await _booking_round(url, target, options, results)
        await _seated_round(url, target, options, results)
        await _steady_round(url, target, options, results, f"hot-tier-steady@{many}")
        await _checkin_round(url, target, options, results, secret_key)
        await _onsale_round(url, target, options, results, secret_key)
        if options.rows:
            await _big_round(url, target, options, results)
    # A second server, on the same port once the first has stopped: the payment profile is
    # read at start-up.
    # The two steady rounds back to back, so their ratio compares like with like.
    async with _serving(url, options, data_dir, realistic_payments(options)) as target:
        await _steady_round(url, target, options, results, f"hot-tier-realistic-steady@{many}")
        await _realistic_round(url, target, options, results)
    return results


async def prepare_database(admin_url: str) -> str:
    url = await _fresh_database(admin_url)
    await asyncio.to_thread(upgrade_to_head, url)
    await _reseed(url)
    return url
