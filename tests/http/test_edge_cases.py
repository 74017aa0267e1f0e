"""Edge cases of the booking flow: past concerts, stale identities, lock and pool limits."""

from __future__ import annotations

import threading
import time
import uuid

import httpx

from tests.http.conftest import AppFactory
from tests.support.api import book, guest_identity
from tests.support.inventory import execute, make_concert, snapshot, tier_counts
from tests.support.locks import RowLock, lock_waiters
from tests.support.waiting import wait_until


def test_a_concert_that_started_is_off_sale(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    execute(
        shared_db,
        "UPDATE concerts SET starts_at = now() - interval '1 hour' WHERE id = $1",
        uuid.UUID(concert["id"]),
    )
    _, auth = guest_identity(client)
    response = book(client, auth, concert["tiers"]["GA"], 1)
    assert response.status_code == 409
    assert response.json()["error"] == "CONCERT_STARTED"
    assert tier_counts(shared_db, concert["tiers"]["GA"]) == {"available": 5, "total": 5}
    listed = {c["id"] for c in client.get("/api/concerts").json()["data"]}
    assert concert["id"] not in listed


def test_a_token_for_a_deleted_user_is_401_not_500(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    user_id, auth = guest_identity(client)
    execute(shared_db, "DELETE FROM users WHERE id = $1", uuid.UUID(user_id))
    before = snapshot(shared_db)
    response = book(client, auth, concert["tiers"]["GA"], 1)
    assert response.status_code == 401
    assert response.json()["error"] == "UNAUTHENTICATED"
    assert snapshot(shared_db) == before


def test_lock_timeout_answers_503_and_changes_nothing(db_url: str, start_app: AppFactory) -> None:
    concert = make_concert(db_url, {"GA": 5})
    tier_id = concert["tiers"]["GA"]
    app = start_app(db_url, TICKETBOOK_LOCK_TIMEOUT_MS="300")
    with app.client() as client:
        _, auth = guest_identity(client)
        before = snapshot(db_url)
        with RowLock(db_url, tier_id):
            started = time.monotonic()
            response = book(client, auth, tier_id, 1)
            waited = time.monotonic() - started
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert waited < 10  # bounded by the lock timeout, not by the other transaction
        assert snapshot(db_url) == before
        # Once the lock is gone the same request goes through.
        assert book(client, auth, tier_id, 1).status_code == 200


def test_exhausted_pool_answers_503_after_a_bounded_wait(
    db_url: str, start_app: AppFactory
) -> None:
    concert = make_concert(db_url, {"GA": 5})
    tier_id = concert["tiers"]["GA"]
    app = start_app(
        db_url,
        TICKETBOOK_POOL_MIN_SIZE="1",
        TICKETBOOK_POOL_MAX_SIZE="1",
        TICKETBOOK_POOL_ACQUIRE_TIMEOUT_S="0.3",
        TICKETBOOK_LOCK_TIMEOUT_MS="5000",
        TICKETBOOK_REAPER_INTERVAL_S="600",
    )
    with app.client() as client:
        _, auth = guest_identity(client)
        with RowLock(db_url, tier_id):
            # The first booking takes the only connection and waits on the row lock ...
            first: list[httpx.Response] = []
            waiting = threading.Thread(target=lambda: first.append(book(client, auth, tier_id, 1)))
            waiting.start()
            wait_until(lambda: lock_waiters(db_url), "the first booking waits on the row lock")
            # ... so the next request finds no free connection and is told to retry.
            second = client.get(f"/api/concerts/{concert['id']}")
            assert second.status_code == 503
            assert second.json()["error"] == "SERVICE_UNAVAILABLE"
        waiting.join(30)
        assert first[0].status_code == 200
        assert client.get(f"/api/concerts/{concert['id']}").status_code == 200
    assert tier_counts(db_url, tier_id) == {"available": 4, "total": 5, "CONFIRMED": 1}
