"""The catalog's hand-built JSON is exactly the shared `Concert` schema."""

from __future__ import annotations

import httpx

from tests.support.inventory import execute, make_concert, set_available
from ticketbook.domain.schemas import Concert


def test_listing_and_detail_match_the_schema(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"VIP": 0, "GA": 3}, price_cents=1250)
    listed = client.get("/api/concerts").json()
    assert listed["success"] is True and listed["count"] == len(listed["data"]) >= 1
    for item in listed["data"]:
        # Round trip through the pydantic model: same keys, same values, same formats.
        assert Concert.model_validate(item).model_dump(mode="json") == item
    mine = next(c for c in listed["data"] if c["id"] == concert["id"])
    assert mine["hasAvailableTickets"] is True
    assert mine["lowestPriceCents"] == 1250
    assert [t["tierType"] for t in mine["ticketTiers"]] == ["VIP", "GA"]
    assert mine["ticketTiers"][1]["price"] == "12.50"
    assert mine["date"].endswith("Z")

    detail = client.get(f"/api/concerts/{concert['id']}").json()
    assert detail == {"success": True, "data": mine}


def test_sold_out_concert_has_no_available_tickets(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 2})
    execute(
        shared_db,
        "UPDATE ticket_tiers SET total_quantity = 0 WHERE concert_id = $1::uuid",
        concert["id"],
    )
    set_available(shared_db, concert["tiers"]["GA"], 0)
    detail = client.get(f"/api/concerts/{concert['id']}").json()["data"]
    assert detail["hasAvailableTickets"] is False


def test_booking_json_matches_the_schema(client: httpx.Client, shared_db: str) -> None:
    """Bookings are rendered without models on the hot path; the shape is still the schema's."""
    from tests.support.api import book, guest_identity
    from ticketbook.domain.schemas import Booking, BookingWithDetails

    concert = make_concert(shared_db, {"GA": 5})
    user_id, auth = guest_identity(client)
    created = book(client, auth, concert["tiers"]["GA"], 2).json()["booking"]
    assert Booking.model_validate(created).model_dump(mode="json") == created
    listed = client.get(f"/api/bookings/{user_id}", headers=auth).json()
    assert listed["count"] == 1
    [row] = listed["data"]
    assert BookingWithDetails.model_validate(row).model_dump(mode="json") == row
    assert {k: v for k, v in row.items() if k in created} == created
    assert row["concert"]["id"] == concert["id"]
    assert row["ticketTier"]["id"] == concert["tiers"]["GA"]
