"""The hot-path queries use their indexes (DESIGN.md, promise 4), checked with EXPLAIN.

Each test fills a fresh database with a realistic volume (years of past concerts, a few
upcoming ones, thousands of bookings over many users), runs ANALYZE, and reads the plan
PostgreSQL chooses for the exact SQL the app runs. EXPLAIN without ANALYZE plans the
statement but never executes it, so the data-modifying hold statement changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.support.databases import DatabaseFactory
from ticketbook.auth.queries import RESOLVE_SESSION_SQL
from ticketbook.booking.queries import CANCEL_SQL, HOLD_SQL, LIST_FOR_USER_SQL
from ticketbook.booking.seat_queries import BEST_HOLD_SQL, NAMED_HOLD_SQL, SEAT_STATES_SQL
from ticketbook.catalog.queries import LIST_UPCOMING_SQL

PAST_CONCERTS = 3000
UPCOMING_CONCERTS = 30
USERS = 400
BOOKINGS = 20000
SESSIONS_PER_USER = 25
IDLE_USERS = 20000

# Only the planner reads this data, so availability need not balance with the bookings.
FILL_SQL = f"""
INSERT INTO users (role) SELECT 'guest' FROM generate_series(1, {USERS});

INSERT INTO auth_sessions (user_id, token_hash, kind, expires_at)
SELECT u.id, sha256(convert_to(u.id::text || i, 'UTF8')), 'api', now() + interval '1 day'
  FROM users u CROSS JOIN generate_series(1, {SESSIONS_PER_USER}) AS i;

INSERT INTO concerts (name, artist, venue, starts_at)
SELECT 'Concert ' || i, 'Artist ' || (i % 97), 'Venue ' || (i % 13),
       CASE WHEN i <= {PAST_CONCERTS}
            THEN now() - make_interval(days => i % 1800 + 1, hours => i % 24)
            ELSE now() + make_interval(days => i - {PAST_CONCERTS}) END
  FROM generate_series(1, {PAST_CONCERTS + UPCOMING_CONCERTS}) AS i;

INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency, total_quantity)
SELECT c.id, t.tier_type, t.price_cents, 'USD', t.quantity
  FROM concerts c
 CROSS JOIN (VALUES ('VIP', 10000, 100), ('FRONT_ROW', 5000, 500), ('GA', 1000, 5000))
       AS t (tier_type, price_cents, quantity);
UPDATE tier_stock s SET available = t.total_quantity / 2 FROM ticket_tiers t WHERE t.id = s.tier_id;

WITH u AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users),
     t AS (SELECT id, concert_id, price_cents, currency,
                  row_number() OVER (ORDER BY id) - 1 AS n FROM ticket_tiers),
     picks AS (SELECT i, i % {USERS} AS user_n, (i * 7919) % (SELECT count(*) FROM t) AS tier_n
                 FROM generate_series(1, {BOOKINGS}) AS i)
INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents, total_cents,
                      currency, status, hold_expires_at, created_at)
SELECT u.id, t.concert_id, t.id, 1 + p.i % 4, t.price_cents, t.price_cents * (1 + p.i % 4),
       t.currency,
       (ARRAY['CONFIRMED', 'CONFIRMED', 'CONFIRMED', 'FAILED', 'CANCELLED',
              'EXPIRED'])[1 + p.i % 6],
       now() - make_interval(mins => p.i),
       now() - make_interval(mins => p.i + 10)
  FROM picks p
  JOIN u ON u.n = p.user_n
  JOIN t ON t.n = p.tier_n;

-- Most users browse and never book, or book once and sign out.
INSERT INTO users (role) SELECT 'guest' FROM generate_series(1, {IDLE_USERS});

ANALYZE;
"""


async def _fill(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(FILL_SQL)
    finally:
        await conn.close()


async def _explain(db_url: str, plan_cache_mode: str, sql: str, *args: Any) -> dict[str, Any]:
    conn = await asyncpg.connect(db_url, server_settings={"plan_cache_mode": plan_cache_mode})
    try:
        raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
    finally:
        await conn.close()
    plan: dict[str, Any] = json.loads(raw)[0]["Plan"]
    return plan


async def _fetchval(db_url: str, sql: str) -> Any:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def filled_db(shared_db: str) -> str:
    """A database with a realistic volume of data and fresh planner statistics, filled once
    for the module (EXPLAIN executes nothing, so no test changes it)."""
    asyncio.run(_fill(shared_db))
    assert asyncio.run(_fetchval(shared_db, "SELECT count(*) FROM bookings")) == BOOKINGS
    return shared_db


def explain(db_url: str, sql: str, *args: Any, mode: str = "auto") -> dict[str, Any]:
    """The plan PostgreSQL picks for `sql` with these parameters (not executed).

    The app's statements are prepared and reused, so after a few runs PostgreSQL may switch
    to a generic plan that ignores the parameter values: `mode` picks which plan to show.
    """
    plan: dict[str, Any] = asyncio.run(_explain(db_url, mode, sql, *args))
    return plan


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def access_paths(plan: dict[str, Any], table: str) -> list[str]:
    """How each read of `table` in the plan finds its rows: an index name, or 'Seq Scan'.

    A bitmap heap scan names its table while the bitmap index scans beneath it name the index.
    """
    found = []
    for node in nodes(plan):
        if node.get("Relation Name") != table or "Scan" not in node["Node Type"]:
            continue
        if node["Node Type"] == "Bitmap Heap Scan":
            found += [n["Index Name"] for n in nodes(node) if "Index Name" in n]
        else:
            found.append(node.get("Index Name", node["Node Type"]))
    return found


def describe(plan: dict[str, Any]) -> str:
    lines = []

    def walk(node: dict[str, Any], depth: int) -> None:
        detail = " ".join(
            f"{k}={node[k]}" for k in ("Relation Name", "Index Name", "Operation") if k in node
        )
        lines.append("  " * depth + f"{node['Node Type']} {detail}")
        for child in node.get("Plans", ()):
            walk(child, depth + 1)

    walk(plan, 0)
    return "plan:\n" + "\n".join(lines)


PLAN_MODES = pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])


async def _hold_arguments(db_url: str, tier_id: uuid.UUID, sql: str = HOLD_SQL) -> list[Any]:
    """Plausible values for HOLD_SQL's parameters, by the types PostgreSQL infers for them.

    $1 is the tier id (the statement's contract); the others only need the right type to be
    planned, so the test keeps working when the statement gains or reorders parameters.
    """
    samples: dict[str, Any] = {
        "uuid": None,
        "int2": 2,
        "int4": 2,
        "int8": 2,
        "float4": 600.0,
        "float8": 600.0,
        "numeric": 600,
        "text": "x",
        "varchar": "x",
        "bool": True,
        "json": "{}",
        "jsonb": "{}",
        "timestamptz": datetime.now(UTC),
        "interval": timedelta(seconds=600),
        "text[]": ["x"],
        "int4[]": [600],
    }
    conn = await asyncpg.connect(db_url)
    try:
        statement = await conn.prepare(sql)
        types = [t.name for t in statement.get_parameters()]
    finally:
        await conn.close()
    assert types[0] == "uuid", types
    unknown = [t for t in types if t not in samples]
    assert not unknown, f"add sample values for parameter types {unknown}"
    return [
        tier_id if i == 0 else uuid.uuid4() if t == "uuid" else samples[t]
        for i, t in enumerate(types)
    ]


@PLAN_MODES
def test_hold_updates_the_tier_stock_through_its_primary_key(filled_db: str, mode: str) -> None:
    tier_id = asyncio.run(_fetchval(filled_db, "SELECT id FROM ticket_tiers LIMIT 1"))
    before = asyncio.run(_fetchval(filled_db, "SELECT sum(available) FROM tier_stock"))
    arguments = asyncio.run(_hold_arguments(filled_db, tier_id))
    plan = explain(filled_db, HOLD_SQL, *arguments, mode=mode)
    text = describe(plan)
    updates = [
        n
        for n in nodes(plan)
        if n["Node Type"] == "ModifyTable"
        and n.get("Operation") == "Update"
        and n.get("Relation Name") == "tier_stock"
    ]
    # One UPDATE for a one-row tier's stock, one for the slot a split tier's hold locked.
    assert len(updates) == 2, text
    for update in updates:
        assert set(access_paths(update, "tier_stock")) == {"pk_tier_stock"}, text
    # The slot choice, the tier and concert lookups go through primary keys too: nothing in
    # the hold reads a whole table.
    assert set(access_paths(plan, "tier_stock")) == {"pk_tier_stock"}, text
    assert set(access_paths(plan, "ticket_tiers")) == {"pk_ticket_tiers"}, text
    assert not [n for n in nodes(plan) if n["Node Type"] == "Seq Scan"], text
    # EXPLAIN alone executes nothing.
    after = asyncio.run(_fetchval(filled_db, "SELECT sum(available) FROM tier_stock"))
    assert after == before
    assert asyncio.run(_fetchval(filled_db, "SELECT count(*) FROM bookings")) == BOOKINGS
    assert asyncio.run(_fetchval(filled_db, "SELECT count(*) FROM idempotency_keys")) == 0


@PLAN_MODES
def test_my_bookings_use_the_user_and_date_index(filled_db: str, mode: str) -> None:
    # The user with the most bookings: the least selective lookup is the one to check.
    user_id = asyncio.run(
        _fetchval(
            filled_db,
            "SELECT user_id FROM bookings GROUP BY user_id ORDER BY count(*) DESC LIMIT 1",
        )
    )
    plan = explain(filled_db, LIST_FOR_USER_SQL, user_id, 200, mode=mode)
    text = describe(plan)
    assert access_paths(plan, "bookings") == ["ix_bookings_user_id_created_at"], text


def test_upcoming_listing_uses_the_start_time_index(filled_db: str) -> None:
    plan = explain(filled_db, LIST_UPCOMING_SQL)
    text = describe(plan)
    concerts = access_paths(plan, "concerts")
    tiers = access_paths(plan, "ticket_tiers")
    assert concerts, text
    # Past concerts are never read: the start-time index (or a tier index driving the join)
    # finds the upcoming ones.
    assert "Seq Scan" not in concerts, text
    assert "ix_concerts_starts_at" in concerts or any(p != "Seq Scan" for p in tiers), text


def _cap_query(db_url: str) -> str:
    """The counting query inside tb_tickets_held (migration 0002), read from the database's
    own copy of the function, with its arguments as $1 (user) and $2 (concert)."""
    source = asyncio.run(
        _fetchval(db_url, "SELECT prosrc FROM pg_proc WHERE proname = 'tb_tickets_held'")
    )
    match = re.search(r"SELECT (.*?) INTO held\s+(FROM .*?);", source, re.S)
    assert match, source
    return f"SELECT {match[1]} {match[2]}".replace("p_user", "$1").replace("p_concert", "$2")


@PLAN_MODES
def test_the_per_fan_cap_counts_through_its_partial_index(filled_db: str, mode: str) -> None:
    row = asyncio.run(
        _fetchval(
            filled_db,
            "SELECT ARRAY[user_id, concert_id] FROM bookings GROUP BY user_id, concert_id "
            "ORDER BY count(*) DESC LIMIT 1",
        )
    )
    plan = explain(filled_db, _cap_query(filled_db), row[0], row[1], mode=mode)
    text = describe(plan)
    assert access_paths(plan, "bookings") == ["ix_bookings_live_user_id_concert_id"], text


@PLAN_MODES
def test_a_session_token_is_found_through_its_unique_digest(filled_db: str, mode: str) -> None:
    digest = hashlib.sha256(b"tb_whatever").digest()
    plan = explain(filled_db, RESOLVE_SESSION_SQL, digest, "api", mode=mode)
    text = describe(plan)
    assert access_paths(plan, "auth_sessions") == ["uq_auth_sessions_token_hash"], text
    assert "Seq Scan" not in access_paths(plan, "users"), text


# -- reserved seats ---------------------------------------------------------------------------

SEATED_CONCERTS = 10
ROWS, SEATS_PER_ROW = 50, 100  # 5,000 seats a concert

SEATED_FILL_SQL = f"""
INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency, total_quantity, zone,
                          zone_name)
SELECT c.id, 'SEATED', 5000, 'USD', {ROWS * SEATS_PER_ROW}, 'stalls', 'Stalls'
  FROM (SELECT id FROM concerts WHERE starts_at > now() ORDER BY starts_at
         LIMIT {SEATED_CONCERTS}) c;

INSERT INTO concert_seats (concert_id, ordinal, code, tier_id, section, row_no, position,
                           distance)
SELECT t.concert_id, r * {SEATS_PER_ROW} + p, 'S:' || r || ':' || p, t.id, 'S', r, p,
       sqrt(power(p - {SEATS_PER_ROW} / 2.0, 2) + power(r * 2, 2))
  FROM ticket_tiers t, generate_series(0, {ROWS - 1}) r, generate_series(0, {SEATS_PER_ROW - 1}) p
 WHERE t.tier_type = 'SEATED';

-- A tenth of the seats sold, each to a booking of its own.
WITH sold AS (
    SELECT s.concert_id, s.ordinal, s.code, s.tier_id, u.id AS user_id
      FROM concert_seats s
      JOIN LATERAL (SELECT id FROM users ORDER BY id LIMIT 1) u ON true
     WHERE s.ordinal % 10 = 0
), booked AS (
    INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents, total_cents,
                          currency, status, hold_expires_at, seats)
    SELECT user_id, concert_id, tier_id, 1, 5000, 5000, 'USD', 'CONFIRMED', now(), ARRAY[code]
      FROM sold
 RETURNING id, concert_id, seats[1] AS code
)
UPDATE concert_seats s SET booking_id = b.id
  FROM booked b WHERE s.concert_id = b.concert_id AND s.code = b.code;

ANALYZE;
"""


@pytest.fixture(scope="module")
def seated_db(databases: DatabaseFactory) -> str:
    """Another such database, with seated concerts besides."""
    url = databases.fresh()

    async def fill() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(FILL_SQL)
            await conn.execute(SEATED_FILL_SQL)
        finally:
            await conn.close()

    asyncio.run(fill())
    return url


def _seated_tier(db_url: str) -> uuid.UUID:
    tier: uuid.UUID = asyncio.run(
        _fetchval(db_url, "SELECT id FROM ticket_tiers WHERE tier_type = 'SEATED' LIMIT 1")
    )
    return tier


def _no_seq_scan_of_seats(plan: dict[str, Any]) -> list[str]:
    paths = access_paths(plan, "concert_seats")
    assert paths, describe(plan)
    assert "Seq Scan" not in paths, describe(plan)
    return paths


@PLAN_MODES
def test_best_available_reads_free_seats_through_their_partial_index(
    seated_db: str, mode: str
) -> None:
    tier = _seated_tier(seated_db)
    arguments = asyncio.run(_hold_arguments(seated_db, tier, BEST_HOLD_SQL))
    arguments[-1] = None  # no section: the whole zone
    plan = explain(seated_db, BEST_HOLD_SQL, *arguments, mode=mode)
    assert set(_no_seq_scan_of_seats(plan)) <= {"ix_concert_seats_free", "pk_concert_seats"}
    assert "ix_concert_seats_free" in access_paths(plan, "concert_seats"), describe(plan)


@PLAN_MODES
def test_named_seats_are_found_by_concert_and_code(seated_db: str, mode: str) -> None:
    tier = _seated_tier(seated_db)
    arguments = asyncio.run(_hold_arguments(seated_db, tier, NAMED_HOLD_SQL))
    arguments[-1] = ["S:3:4", "S:3:5"]
    plan = explain(seated_db, NAMED_HOLD_SQL, *arguments, mode=mode)
    paths = _no_seq_scan_of_seats(plan)
    assert "uq_concert_seats_concert_id_code" in paths, describe(plan)


@PLAN_MODES
def test_seat_states_read_one_concert_in_seat_order(seated_db: str, mode: str) -> None:
    concert = asyncio.run(_fetchval(seated_db, "SELECT concert_id FROM concert_seats LIMIT 1"))
    plan = explain(seated_db, SEAT_STATES_SQL, concert, mode=mode)
    # Either index that starts with the concert; the holds in flight through theirs.
    assert set(_no_seq_scan_of_seats(plan)) <= {
        "pk_concert_seats",
        "uq_concert_seats_concert_id_code",
    }, describe(plan)
    assert access_paths(plan, "bookings") == ["ix_bookings_pending_hold_expires_at"], describe(plan)


@PLAN_MODES
def test_a_release_finds_its_seats_through_the_holder_index(seated_db: str, mode: str) -> None:
    booking = asyncio.run(
        _fetchval(
            seated_db, "SELECT booking_id FROM concert_seats WHERE booking_id IS NOT NULL LIMIT 1"
        )
    )
    plan = explain(seated_db, CANCEL_SQL, booking, uuid.uuid4(), mode=mode)
    assert set(_no_seq_scan_of_seats(plan)) == {"ix_concert_seats_booking_id"}, describe(plan)
