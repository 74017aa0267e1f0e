"""Nobody reads or changes another person's bookings; owners can list and cancel their own."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.api import book, guest_identity
from tests.support.inventory import fetch, fetchval, make_concert, snapshot, tier_counts

BOOKING_FIELDS = {
    "id",
    "userId",
    "concertId",
    "concertName",
    "ticketTierId",
    "tierType",
    "quantity",
    "unitPriceCents",
    "totalCents",
    "totalPrice",
    "currency",
    "status",
    "holdExpiresAt",
    "createdAt",
    "idempotencyKey",
    "paymentStatus",
    "updatedAt",
    "seats",
}
CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")


@dataclass(frozen=True)
class Scene:
    """User A holds confirmed bookings on a fresh tier; user B is somebody else."""

    tier_id: str
    a_id: str
    a: dict[str, str]
    b_id: str
    b: dict[str, str]
    bookings: list[dict[str, Any]]  # A's bookings, in the order they were made

    @property
    def booking(self) -> dict[str, Any]:
        return self.bookings[0]


@pytest.fixture
def scene(client: httpx.Client, shared_db: str) -> Scene:
    concert = make_concert(shared_db, {"VIP": 10, "GA": 20}, price_cents=2500)
    tier_id = concert["tiers"]["GA"]
    a_id, a = guest_identity(client)
    b_id, b = guest_identity(client)
    bookings = []
    for quantity in (2, 3):
        response = book(client, a, tier_id, quantity)
        assert response.status_code == 200, response.text
        assert response.json()["booking"]["status"] == "CONFIRMED"
        bookings.append(response.json()["booking"])
    assert tier_counts(shared_db, tier_id) == {"available": 15, "total": 20, "CONFIRMED": 5}
    return Scene(tier_id, a_id, a, b_id, b, bookings)


def booking_status(url: str, booking_id: str) -> str:
    status: str = fetchval(url, "SELECT status FROM bookings WHERE id = $1", uuid.UUID(booking_id))
    return status


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    payload = response.json()
    assert payload["success"] is False, payload
    assert isinstance(payload["message"], str) and payload["message"].strip(), payload


def test_other_user_cannot_list_my_bookings(
    client: httpx.Client, shared_db: str, scene: Scene
) -> None:
    before = snapshot(shared_db)
    response = client.get(f"/api/bookings/{scene.a_id}", headers=scene.b)
    assert_error(response, 403)
    # Nothing of A's leaks into the refusal.
    assert scene.booking["id"] not in response.text
    assert snapshot(shared_db) == before


def test_other_user_cannot_cancel_my_booking(
    client: httpx.Client, shared_db: str, scene: Scene
) -> None:
    before = snapshot(shared_db)
    response = client.post(f"/api/bookings/{scene.booking['id']}/cancel", headers=scene.b)
    assert_error(response, 403)

    assert booking_status(shared_db, scene.booking["id"]) == "CONFIRMED"
    assert tier_counts(shared_db, scene.tier_id) == {"available": 15, "total": 20, "CONFIRMED": 5}
    assert snapshot(shared_db) == before
    # A still sees the booking as confirmed.
    mine = client.get(f"/api/bookings/{scene.a_id}", headers=scene.a).json()["data"]
    assert {b["id"]: b["status"] for b in mine}[scene.booking["id"]] == "CONFIRMED"


def test_other_users_own_list_does_not_show_my_bookings(client: httpx.Client, scene: Scene) -> None:
    response = client.get(f"/api/bookings/{scene.b_id}", headers=scene.b)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "data": [], "count": 0}


def test_owner_lists_own_bookings_newest_first_in_camel_case(
    client: httpx.Client, scene: Scene
) -> None:
    response = client.get(f"/api/bookings/{scene.a_id}", headers=scene.a)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True
    assert payload["count"] == 2 == len(payload["data"])

    listed = payload["data"]
    for item in listed:
        # "My bookings" rows are the brief's BookingWithDetails: the booking, its concert, its
        # tier.
        assert set(item) == BOOKING_FIELDS | {"concert", "ticketTier"}, item
        assert all(CAMEL_CASE.match(name) for name in item), item
        assert item["userId"] == scene.a_id
        assert item["ticketTierId"] == scene.tier_id
        assert item["tierType"] == "GA"
        assert item["status"] == "CONFIRMED"
        assert item["unitPriceCents"] == 2500
        assert item["totalCents"] == 2500 * item["quantity"]
        assert item["currency"] == "USD"
    # Newest first; each listed booking is the one the POST answered.
    assert [b["id"] for b in listed] == [b["id"] for b in reversed(scene.bookings)]
    assert [b["quantity"] for b in listed] == [3, 2]
    assert {k: v for k, v in listed[1].items() if k in BOOKING_FIELDS} == scene.booking


def test_owner_cancels_own_booking_once_and_tickets_return_once(
    client: httpx.Client, shared_db: str, scene: Scene
) -> None:
    booking_id = scene.booking["id"]
    payments_before = fetchval(shared_db, "SELECT count(*) FROM payments")

    response = client.post(f"/api/bookings/{booking_id}/cancel", headers=scene.a)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True
    assert payload["booking"]["id"] == booking_id
    assert payload["booking"]["status"] == "CANCELLED"
    assert booking_status(shared_db, booking_id) == "CANCELLED"
    after_first = tier_counts(shared_db, scene.tier_id)
    assert after_first == {"available": 17, "total": 20, "CONFIRMED": 3, "CANCELLED": 2}

    # Cancelling again is harmless: same answer, tickets not returned a second time.
    again = client.post(f"/api/bookings/{booking_id}/cancel", headers=scene.a)
    assert again.status_code == 200, again.text
    assert again.json()["booking"]["status"] == "CANCELLED"
    assert tier_counts(shared_db, scene.tier_id) == after_first

    # The other booking is untouched, and cancelling created no payments.
    assert booking_status(shared_db, scene.bookings[1]["id"]) == "CONFIRMED"
    assert fetchval(shared_db, "SELECT count(*) FROM payments") == payments_before
    listed = client.get(f"/api/bookings/{scene.a_id}", headers=scene.a).json()["data"]
    assert {b["id"]: b["status"] for b in listed} == {
        booking_id: "CANCELLED",
        scene.bookings[1]["id"]: "CONFIRMED",
    }


def test_other_user_cannot_cancel_after_owner_cancelled(
    client: httpx.Client, shared_db: str, scene: Scene
) -> None:
    booking_id = scene.booking["id"]
    assert client.post(f"/api/bookings/{booking_id}/cancel", headers=scene.a).status_code == 200
    before = snapshot(shared_db)
    assert_error(client.post(f"/api/bookings/{booking_id}/cancel", headers=scene.b), 403)
    assert snapshot(shared_db) == before


def test_owner_cannot_cancel_a_booking_that_is_not_confirmed(
    client: httpx.Client, shared_db: str, scene: Scene
) -> None:
    """A FAILED booking already gave its tickets back; cancelling it must not give them again."""
    failed_id = fetchval(
        shared_db,
        "INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents, "
        "total_cents, currency, status, hold_expires_at) "
        "SELECT $1, concert_id, id, 4, price_cents, 4 * price_cents, currency, 'FAILED', now() "
        "FROM ticket_tiers WHERE id = $2 RETURNING id",
        uuid.UUID(scene.a_id),
        uuid.UUID(scene.tier_id),
    )
    before = snapshot(shared_db)
    counts = tier_counts(shared_db, scene.tier_id)

    response = client.post(f"/api/bookings/{failed_id}/cancel", headers=scene.a)
    assert_error(response, 409)
    assert booking_status(shared_db, str(failed_id)) == "FAILED"
    assert tier_counts(shared_db, scene.tier_id) == counts
    assert snapshot(shared_db) == before


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Bearer not-a-token"}, id="garbage-token"),
    ],
)
def test_no_valid_token_cannot_list_or_cancel(
    client: httpx.Client, shared_db: str, scene: Scene, headers: dict[str, str]
) -> None:
    before = snapshot(shared_db)
    listed = client.get(f"/api/bookings/{scene.a_id}", headers=headers)
    assert_error(listed, 401)
    assert listed.headers.get("www-authenticate", "").lower().startswith("bearer")
    assert scene.booking["id"] not in listed.text

    cancelled = client.post(f"/api/bookings/{scene.booking['id']}/cancel", headers=headers)
    assert_error(cancelled, 401)

    assert booking_status(shared_db, scene.booking["id"]) == "CONFIRMED"
    assert tier_counts(shared_db, scene.tier_id) == {"available": 15, "total": 20, "CONFIRMED": 5}
    assert snapshot(shared_db) == before


def test_a_token_names_exactly_one_user(client: httpx.Client, shared_db: str, scene: Scene) -> None:
    """B's token with A's id in the payload (B's signature) is refused, not treated as A."""
    _, _, b_signature = scene.b["Authorization"].removeprefix("Bearer ").partition(".")
    spliced = {"Authorization": f"Bearer {uuid.UUID(scene.a_id).hex}.{b_signature}"}
    before = snapshot(shared_db)
    assert_error(client.get(f"/api/bookings/{scene.a_id}", headers=spliced), 401)
    assert_error(client.post(f"/api/bookings/{scene.booking['id']}/cancel", headers=spliced), 401)
    assert booking_status(shared_db, scene.booking["id"]) == "CONFIRMED"
    assert snapshot(shared_db) == before
    rows = fetch(
        shared_db, "SELECT user_id FROM bookings WHERE tier_id = $1", uuid.UUID(scene.tier_id)
    )
    assert {str(r["user_id"]) for r in rows} == {scene.a_id}
