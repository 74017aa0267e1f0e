"""A booking can't be cancelled or refunded once its concert has started: 409 with a clear
message in the API; on the pages no cancel button, and a form sent anyway is refused with
the same words. Nothing changes either way."""

from __future__ import annotations

import uuid

import httpx

from tests.support.api import book, guest_identity
from tests.support.inventory import execute, fetch, fetchval, make_concert, tier_counts
from tests.support.pages import booking_form, forms, post_form, text

STARTED = "UPDATE concerts SET starts_at = now() - interval '10 minutes' WHERE id = $1"


def test_api_refuses_to_cancel_once_the_concert_started(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    _, auth = guest_identity(client)
    booking = book(client, auth, concert["tiers"]["GA"], 2).json()["booking"]
    execute(shared_db, STARTED, uuid.UUID(concert["id"]))

    response = client.post(f"/api/bookings/{booking['id']}/cancel", headers=auth)
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "CONCERT_STARTED",
        "message": "This concert has already started, so its bookings can no longer be "
        "cancelled or refunded",
    }
    status = fetchval(
        shared_db, "SELECT status FROM bookings WHERE id = $1", uuid.UUID(booking["id"])
    )
    assert status == "CONFIRMED"
    assert tier_counts(shared_db, concert["tiers"]["GA"])["available"] == 3
    owed = fetch(
        shared_db,
        "SELECT r.id FROM refunds r WHERE r.booking_id = $1",
        uuid.UUID(booking["id"]),
    )
    assert owed == []


def test_api_still_cancels_before_the_start(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    _, auth = guest_identity(client)
    booking = book(client, auth, concert["tiers"]["GA"], 1).json()["booking"]
    response = client.post(f"/api/bookings/{booking['id']}/cancel", headers=auth)
    assert response.status_code == 200
    assert response.json()["booking"]["status"] == "CANCELLED"


def test_pages_offer_no_cancel_once_started_and_refuse_a_form_sent_anyway(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, concert["tiers"]["GA"])
    assert post_form(client, form, quantity="1").status_code == 200
    listing = client.get("/bookings").text
    [cancel] = [f for f in forms(listing) if f.action.endswith("/cancel")]

    execute(shared_db, STARTED, uuid.UUID(concert["id"]))
    after = client.get("/bookings").text
    assert not [f for f in forms(after) if f.action.endswith("/cancel")]
    assert "can no longer be cancelled" in text(after)

    refused = client.post(cancel.action, data=cancel.fields)
    assert refused.status_code == 409
    assert "can no longer be cancelled or refunded" in text(refused.text)
    with_script = client.post(
        cancel.action, data=cancel.fields, headers={"Accept": "application/json"}
    )
    assert with_script.status_code == 409
    assert "can no longer be cancelled" in with_script.json()["message"]
    assert tier_counts(shared_db, concert["tiers"]["GA"])["available"] == 4
