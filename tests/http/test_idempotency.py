"""Idempotency keys: one booking per key, replays answer the first response, reuse is refused."""

from __future__ import annotations

import uuid

import httpx

from tests.http.conftest import AppFactory
from tests.support.api import book, guest_identity
from tests.support.inventory import fetchval, make_concert, tier_counts

# Twenty concurrent duplicates over two worker processes: tests/system/test_race.py (an
# idempotency guard kept in one process's memory would pass in-process and fail there).


def test_replayed_payment_failure_stays_402_and_new_key_tries_again(
    db_url: str, start_app: AppFactory
) -> None:
    concert = make_concert(db_url, {"GA": 10})
    tier_id = concert["tiers"]["GA"]
    app = start_app(
        db_url,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="0",
        TICKETBOOK_PAYMENT_TIMEOUT_SHARE="0",
        TICKETBOOK_PAYMENT_ERROR_SHARE="0",
    )
    with app.client() as client:
        _, auth = guest_identity(client)
        key = str(uuid.uuid4())
        first = book(client, auth, tier_id, 3, key=key)
        assert first.status_code == 402
        assert first.json()["booking"]["status"] == "FAILED"
        replay = book(client, auth, tier_id, 3, key=key)
        assert replay.status_code == 402
        assert replay.json() == first.json()
        assert fetchval(db_url, "SELECT count(*) FROM bookings") == 1

        retry = book(client, auth, tier_id, 3)  # a new key is a new attempt
        assert retry.status_code == 402
        assert retry.json()["booking"]["id"] != first.json()["booking"]["id"]
    assert fetchval(db_url, "SELECT count(*) FROM bookings") == 2
    assert tier_counts(db_url, tier_id) == {"available": 10, "total": 10, "FAILED": 6}


def test_same_key_with_another_payload_is_422(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 10, "VIP": 10})
    _, auth = guest_identity(client)
    key = str(uuid.uuid4())
    assert book(client, auth, concert["tiers"]["GA"], 1, key=key).status_code == 200
    for tier, quantity in (("GA", 2), ("VIP", 1)):
        response = book(client, auth, concert["tiers"][tier], quantity, key=key)
        assert response.status_code == 422
        assert response.json()["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert tier_counts(shared_db, concert["tiers"]["GA"]) == {
        "available": 9,
        "total": 10,
        "CONFIRMED": 1,
    }
    assert tier_counts(shared_db, concert["tiers"]["VIP"]) == {"available": 10, "total": 10}


def test_keys_are_scoped_per_user(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    tier_id = concert["tiers"]["GA"]
    key = str(uuid.uuid4())
    _, alice = guest_identity(client)
    _, bob = guest_identity(client)
    first = book(client, alice, tier_id, 1, key=key)
    second = book(client, bob, tier_id, 1, key=key)
    assert first.status_code == second.status_code == 200
    assert first.json()["booking"]["id"] != second.json()["booking"]["id"]
    assert first.json()["booking"]["userId"] != second.json()["booking"]["userId"]
    assert tier_counts(shared_db, tier_id)["CONFIRMED"] == 2


def test_body_key_is_accepted_like_the_header(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    tier_id = concert["tiers"]["GA"]
    _, auth = guest_identity(client)
    body = {"ticketTierId": tier_id, "quantity": 1, "idempotencyKey": str(uuid.uuid4())}
    first = client.post("/api/bookings", json=body, headers=auth)
    again = client.post("/api/bookings", json=body, headers=auth)
    assert first.status_code == again.status_code == 200
    assert first.json()["booking"]["id"] == again.json()["booking"]["id"]
    assert tier_counts(shared_db, tier_id)["CONFIRMED"] == 1


def test_sold_out_answer_is_replayed(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 1})
    tier_id = concert["tiers"]["GA"]
    _, auth = guest_identity(client)
    key = str(uuid.uuid4())
    first = book(client, auth, tier_id, 2, key=key)
    assert first.status_code == 409
    assert first.json()["error"] == "SOLD_OUT"
    replay = book(client, auth, tier_id, 2, key=key)
    assert (replay.status_code, replay.json()) == (409, first.json())
    assert tier_counts(shared_db, tier_id) == {"available": 1, "total": 1}
