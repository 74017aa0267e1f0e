"""PgBouncer in transaction pooling mode between the app and PostgreSQL.

In transaction mode a client connection gets a server connection for one transaction only,
so nothing may rely on session state: no startup parameters PgBouncer doesn't track, no
named prepared statements, no SET, LISTEN or session advisory locks. With
TICKETBOOK_PGBOUNCER=1 the app sends only ``application_name``, lets asyncpg use unnamed
statements, and takes its timeouts from the database's settings (ALTER DATABASE ... SET, as an
operator would with ALTER ROLE). Live availability keeps its direct connection.

The last-ticket race then runs through PgBouncer, squeezed onto fewer server connections than
the app has client connections, and must end exactly as it does without it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.conftest import ServerFactory
from tests.support.inventory import doctor, execute, make_concert, tier_counts
from tests.support.load import booking_requests, fire_together, make_guests
from tests.system.scaleout.processes import (
    Backend,
    PgBouncer,
    pgbouncer_binary,
    postgres_bin_dir,
    require,
)
from ticketbook.db.pool import server_defaults, session_settings, settings_mismatches
from ticketbook.settings import Settings

CONCURRENT_BOOKINGS = 120
TICKETS_LEFT = 7
# Server connections PgBouncer may open to the database, against 2 workers x 6 pooled
# client connections: every server connection is shared by several app connections.
SERVER_POOL_SIZE = 3
APP_POOL_SIZE = 6


@pytest.fixture
def pgbouncer(admin_url: str) -> Iterator[PgBouncer]:
    binary = pgbouncer_binary()
    require("pgbouncer", binary is not None, "apt-get install -y pgbouncer")
    assert binary is not None
    bouncer = PgBouncer(binary, Backend.from_url(admin_url), SERVER_POOL_SIZE).start()
    try:
        yield bouncer
    finally:
        bouncer.stop()


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _set_database_defaults(db_url: str) -> None:
    """What the operator does for the role (ALTER ROLE ... SET), scoped to this test's
    database so the shared test server's other databases are left alone."""
    name = _database_name(db_url)
    for setting, value in server_defaults(Settings()).items():
        execute(db_url, f"ALTER DATABASE \"{name}\" SET {setting} = '{value}'")


async def _startup_parameters_through(url: str) -> tuple[str, list[str]]:
    """Connect through PgBouncer as the app did before, then as it does in PgBouncer mode."""
    try:
        conn = await asyncpg.connect(url, server_settings=session_settings(Settings()))
    except asyncpg.PostgresError as exc:
        refused = str(exc)
    else:
        await conn.close()
        refused = ""
    settings = Settings(pgbouncer=True, statement_cache_size=0)
    conn = await asyncpg.connect(
        url, server_settings=session_settings(settings), statement_cache_size=0
    )
    try:
        return refused, await settings_mismatches(conn, settings)
    finally:
        await conn.close()


def test_booking_race_through_pgbouncer_transaction_mode(
    pgbouncer: PgBouncer, db_url: str, start_server: ServerFactory
) -> None:
    started = time.monotonic()
    _set_database_defaults(db_url)
    bouncer_url = pgbouncer.url(_database_name(db_url))

    # PgBouncer refuses the startup parameters the app sends to PostgreSQL directly; in
    # PgBouncer mode it sends none of them and the database's own settings match ours.
    refused, mismatches = asyncio.run(_startup_parameters_through(bouncer_url))
    assert "unsupported startup parameter" in refused, refused
    assert mismatches == []

    concert = make_concert(db_url, {"GA": TICKETS_LEFT})
    tier_id = concert["tiers"]["GA"]
    server = start_server(
        bouncer_url,
        workers=2,
        TICKETBOOK_PGBOUNCER="1",
        # LISTEN needs a session of its own: live availability connects directly.
        TICKETBOOK_LIVE_DATABASE_URL=db_url,
        TICKETBOOK_AUTO_MIGRATE="0",
        TICKETBOOK_POOL_MIN_SIZE=str(APP_POOL_SIZE),
        TICKETBOOK_POOL_MAX_SIZE=str(APP_POOL_SIZE),
        TICKETBOOK_PAYMENT_SUCCESS_RATE="1",
        # 120 bookings at once share 6 connections per worker: on a busy machine some wait
        # past the default 2 s for one and get 503, which is the pool's bound doing its job
        # (tests/system/faults tests it), not what this race is about.
        TICKETBOOK_POOL_ACQUIRE_TIMEOUT_S="30",
    )

    guests = asyncio.run(make_guests(server.base_url, CONCURRENT_BOOKINGS))
    race_started = time.monotonic()
    outcomes = asyncio.run(
        fire_together(server.base_url, "/api/bookings", booking_requests(guests, tier_id))
    )
    race_s = time.monotonic() - race_started

    statuses = Counter(o.status for o in outcomes)
    assert statuses == {200: TICKETS_LEFT, 409: CONCURRENT_BOOKINGS - TICKETS_LEFT}, statuses
    assert all(o.body["error"] == "SOLD_OUT" for o in outcomes if o.status == 409)
    winners = [
        (g, o.body["booking"]) for g, o in zip(guests, outcomes, strict=True) if o.status == 200
    ]
    assert len({b["id"] for _, b in winners}) == TICKETS_LEFT
    assert all(b["status"] == "CONFIRMED" for _, b in winners)

    counts = tier_counts(db_url, tier_id)
    assert counts == {"available": 0, "total": TICKETS_LEFT, "CONFIRMED": TICKETS_LEFT}
    report = doctor(db_url)
    assert report.violations == 0, report.lines

    # Reads through PgBouncer see the same: the catalog and a winner's own bookings.
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        listed = client.get(f"/api/concerts/{concert['id']}").json()["data"]
        assert listed["ticketTiers"][0]["availableQuantity"] == 0
        headers, booking = winners[0]
        mine = client.get(f"/api/bookings/{booking['userId']}", headers=headers).json()
        assert [b["id"] for b in mine["data"]] == [booking["id"]]

    # The traffic really went through PgBouncer, in transaction mode, multiplexed: the app
    # held more client connections than PgBouncer ever opened to PostgreSQL.
    psql = postgres_bin_dir()
    if psql is not None:
        name = _database_name(db_url)
        pool = next(
            p for p in pgbouncer.admin(psql / "psql", "SHOW POOLS") if p["database"] == name
        )
        assert pool["pool_mode"] == "transaction"
        clients = int(pool["cl_active"]) + int(pool["cl_waiting"])
        servers = sum(int(pool[k]) for k in ("sv_active", "sv_idle", "sv_used", "sv_tested"))
        assert clients >= 2 * APP_POOL_SIZE, pool
        assert 1 <= servers <= SERVER_POOL_SIZE, pool
        stats = next(
            s for s in pgbouncer.admin(psql / "psql", "SHOW STATS") if s["database"] == name
        )
        # Two transactions per booking (hold, settle) or one per refusal, plus the guests.
        assert int(stats["total_xact_count"]) >= CONCURRENT_BOOKINGS * 2, stats
        print(f"pgbouncer pool after the race: {pool}")
    assert "behind PgBouncer the role's settings apply" not in server.log_path.read_text()
    print(
        f"race through PgBouncer: {CONCURRENT_BOOKINGS} bookings in {race_s:.2f}s, "
        f"{dict(statuses)}; test {time.monotonic() - started:.1f}s"
    )


def test_pgbouncer_mode_warns_when_the_databases_settings_differ(db_url: str) -> None:
    """Behind PgBouncer the role's settings apply; the app names every one that differs."""
    settings = Settings(pgbouncer=True, statement_cache_size=0)

    async def check() -> list[str]:
        conn = await asyncpg.connect(db_url, statement_cache_size=0)
        try:
            return await settings_mismatches(conn, settings)
        finally:
            await conn.close()

    # A fresh database has PostgreSQL's defaults: no lock or statement timeout.
    mismatches = asyncio.run(check())
    assert {m.split(" ")[0] for m in mismatches} == {
        "lock_timeout",
        "statement_timeout",
        "idle_in_transaction_session_timeout",
    }, mismatches
    _set_database_defaults(db_url)
    assert asyncio.run(check()) == []


def test_pgbouncer_mode_needs_a_direct_url_for_live_availability(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ticketbook.settings import ConfigError

    monkeypatch.setenv("DATABASE_URL", "postgresql://app@127.0.0.1:6432/ticketbook")
    monkeypatch.setenv("TICKETBOOK_PGBOUNCER", "1")
    monkeypatch.delenv("TICKETBOOK_LIVE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TICKETBOOK_STATEMENT_CACHE_SIZE", raising=False)
    with pytest.raises(ConfigError, match="TICKETBOOK_LIVE_DATABASE_URL"):
        Settings.from_env()
    monkeypatch.setenv("TICKETBOOK_LIVE_DATABASE_URL", "postgresql://app@127.0.0.1/ticketbook")
    settings = Settings.from_env()
    assert settings.pgbouncer and settings.statement_cache_size == 0
    assert session_settings(settings) == {"application_name": "ticketbook"}
    # PgBouncer 1.21+ with max_prepared_statements can take named statements: an explicit
    # cache size wins.
    monkeypatch.setenv("TICKETBOOK_STATEMENT_CACHE_SIZE", "256")
    assert Settings.from_env().statement_cache_size == 256
