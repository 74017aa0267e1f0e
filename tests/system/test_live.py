"""Live availability: the Server-Sent Events stream, fed through PostgreSQL LISTEN/NOTIFY,
follows bookings and expired holds made by any worker process or app instance."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.support.api import book, new_guest
from tests.support.inventory import execute, fetchval, make_concert, set_available
from tests.support.live import EventReader
from tests.support.server import LiveServer
from tests.support.waiting import wait_until
from tests.system.test_observability import metric
from ticketbook.live.hub import PUBLISHER_LOCK_ID

# CI runs these again on PostgreSQL 15: PostgreSQL itself is under test across processes.
pytestmark = pytest.mark.postgres_versions

PAID = {"TICKETBOOK_PAYMENT_SUCCESS_RATE": "1"}

PUBLISHERS_SQL = """
SELECT count(*) FROM pg_locks
 WHERE locktype = 'advisory' AND objid = $1 AND granted AND database = (
       SELECT oid FROM pg_database WHERE datname = current_database())
"""


def events_url(server: LiveServer, concert_id: str) -> str:
    return f"{server.base_url}/api/concerts/{concert_id}/events"


def book_via(server: LiveServer, tier_id: str, quantity: int) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        response = book(client, new_guest(client), tier_id, quantity)
        assert response.status_code == 200, response.text


def test_stream_sends_the_counts_then_bookings_from_other_workers_and_instances(
    start_server, db_url: str
) -> None:
    concert = make_concert(db_url, {"VIP": 5, "GA": 100})
    vip, ga = concert["tiers"]["VIP"], concert["tiers"]["GA"]
    watched = start_server(db_url, workers=2, **PAID)
    other = start_server(db_url, workers=1, **PAID)  # another app instance, same database
    reader = EventReader(events_url(watched, concert["id"]))
    assert reader.status == 200 and reader.content_type == "text/event-stream; charset=utf-8"
    reader.wait_for_count(vip, 5)
    reader.wait_for_count(ga, 100)

    book_via(other, vip, 2)
    reader.wait_for_count(vip, 3)
    book_via(watched, ga, 10)
    reader.wait_for_count(ga, 90)
    # Metrics: the open stream, both workers listening, one publisher over both instances.
    watched_metrics = httpx.get(f"{watched.base_url}/metrics").text
    other_metrics = httpx.get(f"{other.base_url}/metrics").text
    assert metric(watched_metrics, "ticketbook_live_streams") == 1
    assert metric(watched_metrics, "ticketbook_live_listening") == 2
    assert metric(other_metrics, "ticketbook_live_listening") == 1
    publishers = [metric(t, "ticketbook_live_publishing") for t in (watched_metrics, other_metrics)]
    assert sum(publishers) == 1
    # An update made outside any app process is announced too: the database is the source.
    execute(db_url, "UPDATE ticket_tiers SET total_quantity = 200 WHERE id = $1", uuid.UUID(ga))
    set_available(db_url, ga, 190)
    reader.wait_for_count(ga, 190)


def test_an_expired_hold_is_announced_when_the_reaper_returns_its_tickets(
    start_server, db_url: str
) -> None:
    concert = make_concert(db_url, {"GA": 10})
    tier = concert["tiers"]["GA"]
    server = start_server(db_url, workers=1, TICKETBOOK_REAPER_INTERVAL_S="0.2", **PAID)
    reader = EventReader(events_url(server, concert["id"]))
    reader.wait_for_count(tier, 10)
    # A hold whose payment never settles (as after a crash): 4 tickets out, back at expiry.
    user = fetchval(db_url, "INSERT INTO users DEFAULT VALUES RETURNING id")
    execute(
        db_url,
        """
        WITH s AS (UPDATE tier_stock SET available = available - 4
                    WHERE tier_id = $1 AND slot = 0 RETURNING tier_id)
        INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents,
                              total_cents, currency, status, hold_expires_at)
        SELECT $2, t.concert_id, t.id, 4, t.price_cents, t.price_cents * 4, t.currency,
               'PENDING', now() + interval '1.5 seconds'
          FROM s JOIN ticket_tiers t ON t.id = s.tier_id
        """,
        uuid.UUID(tier),
        user,
    )
    reader.wait_for_count(tier, 6)
    reader.wait_for_count(tier, 10)
    assert fetchval(db_url, "SELECT status FROM bookings") == "EXPIRED"


def test_another_instance_takes_over_publishing_when_the_publisher_dies(
    start_server, db_url: str
) -> None:
    concert = make_concert(db_url, {"GA": 50})
    tier = concert["tiers"]["GA"]
    first = start_server(db_url, workers=1, **PAID)
    wait_until(
        lambda: fetchval(db_url, PUBLISHERS_SQL, PUBLISHER_LOCK_ID) == 1,
        "the first instance holds the publisher lock",
        timeout_s=15,
    )
    second = start_server(db_url, workers=1, **PAID)
    reader = EventReader(events_url(second, concert["id"]))
    reader.wait_for_count(tier, 50)
    book_via(second, tier, 1)
    reader.wait_for_count(tier, 49)

    first.kill()  # SIGKILL: the publisher's session ends, PostgreSQL releases its lock
    book_via(second, tier, 2)
    reader.wait_for_count(tier, 47, timeout=15)
    assert fetchval(db_url, PUBLISHERS_SQL, PUBLISHER_LOCK_ID) == 1


def test_the_listener_reconnects_when_its_connection_is_killed(start_server, db_url: str) -> None:
    concert = make_concert(db_url, {"GA": 50})
    tier = concert["tiers"]["GA"]
    server = start_server(db_url, workers=1, **PAID)
    reader = EventReader(events_url(server, concert["id"]))
    reader.wait_for_count(tier, 50)
    killed = fetchval(
        db_url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'ticketbook-live' AND datname = current_database()",
    )
    assert killed == 1
    book_via(server, tier, 5)
    reader.wait_for_count(tier, 45, timeout=15)
    assert not reader.ended.is_set()  # the page's stream stayed open throughout


def test_open_streams_end_promptly_when_the_server_stops(start_server, db_url: str) -> None:
    concert = make_concert(db_url, {"GA": 5})
    server = start_server(db_url, workers=2, **PAID)
    readers = [EventReader(events_url(server, concert["id"])) for _ in range(3)]
    for reader in readers:
        reader.wait_for_count(concert["tiers"]["GA"], 5)
    started = time.monotonic()
    server.stop()
    # uvicorn would otherwise wait its whole graceful timeout (10 s) for the open streams.
    assert time.monotonic() - started < 8
    assert all(reader.ended.wait(5) for reader in readers)


# An unknown concert's stream (tests/http/test_live_stream.py) and the pieces, encoding and
# coalescing (tests/unit/test_live_pieces.py), need no server process.
