"""The brief's HTTP contract, field by field (its shared-types package, as listed in the
project's seed CONTRACT.md): every listed field of every listed route is in our answers
with that name and type. Our own extra fields may be there too; none of these may be
missing, renamed or retyped. A client written for the brief only adds `Authorization`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.api import guest_identity
from tests.support.inventory import make_concert

Check = Callable[[Any], bool]


def uuid_string(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def iso_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def decimal_string(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d+\.\d{2}", value) is not None


def string(value: Any) -> bool:
    return isinstance(value, str)


def string_or_null(value: Any) -> bool:
    return value is None or isinstance(value, str)


def integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def boolean(value: Any) -> bool:
    return isinstance(value, bool)


def one_of(*values: str) -> Check:
    return lambda value: value in values


TIER_TYPE = one_of("VIP", "FRONT_ROW", "GA")
BOOKING_STATUS = one_of("PENDING", "CONFIRMED", "FAILED", "CANCELLED", "EXPIRED")
PAYMENT_STATUS = one_of("PENDING", "SUCCESS", "FAILED")

CONCERT: dict[str, Check] = {
    "id": uuid_string,
    "name": string,
    "artist": string,
    "date": iso_timestamp,
    "venue": string,
    "description": string_or_null,
    "createdAt": iso_timestamp,
    "updatedAt": iso_timestamp,
}
TICKET_TIER: dict[str, Check] = {
    "id": uuid_string,
    "concertId": uuid_string,
    "tierType": TIER_TYPE,
    "price": decimal_string,
    "totalQuantity": integer,
    "availableQuantity": integer,
    "createdAt": iso_timestamp,
    "updatedAt": iso_timestamp,
}
BOOKING: dict[str, Check] = {
    "id": uuid_string,
    "userId": uuid_string,
    "ticketTierId": uuid_string,
    "quantity": integer,
    "totalPrice": decimal_string,
    "status": BOOKING_STATUS,
    "paymentStatus": PAYMENT_STATUS,
    "idempotencyKey": uuid_string,
    "createdAt": iso_timestamp,
    "updatedAt": iso_timestamp,
}
TIER_AVAILABILITY: dict[str, Check] = {
    "tierId": uuid_string,
    "tierType": TIER_TYPE,
    "availableQuantity": integer,
    "totalQuantity": integer,
    "price": decimal_string,
}


def assert_shape(value: Any, fields: dict[str, Check], where: str) -> None:
    assert isinstance(value, dict), f"{where}: not an object: {value!r}"
    missing = sorted(set(fields) - set(value))
    assert not missing, f"{where}: missing {missing}"
    wrong = sorted(name for name, check in fields.items() if not check(value[name]))
    assert not wrong, f"{where}: wrong type for {[(n, value[n]) for n in wrong]}"


def assert_concert_with_tiers(concert: Any, where: str) -> None:
    assert_shape(concert, CONCERT, where)
    assert isinstance(concert.get("ticketTiers"), list) and concert["ticketTiers"], where
    for i, tier in enumerate(concert["ticketTiers"]):
        assert_shape(tier, TICKET_TIER, f"{where}.ticketTiers[{i}]")


@pytest.fixture(scope="module")
def world(shared_db: str) -> dict[str, Any]:
    return make_concert(shared_db, {"VIP": 5, "FRONT_ROW": 5, "GA": 20})


def test_health_check(client: httpx.Client) -> None:
    response = client.get("/api/health-check")
    assert response.status_code == 200
    assert response.json()["success"] is True


def test_list_concerts_is_concerts_with_availability(
    client: httpx.Client, world: dict[str, Any]
) -> None:
    body = client.get("/api/concerts").json()
    assert body["success"] is True and integer(body["count"])
    assert body["count"] == len(body["data"]) >= 1
    for i, concert in enumerate(body["data"]):
        assert_concert_with_tiers(concert, f"data[{i}]")
        assert boolean(concert["hasAvailableTickets"])


def test_one_concert_is_a_concert_with_tiers(client: httpx.Client, world: dict[str, Any]) -> None:
    body = client.get(f"/api/concerts/{world['id']}").json()
    assert body["success"] is True
    assert_concert_with_tiers(body["data"], "data")
    assert client.get(f"/api/concerts/{uuid.uuid4()}").status_code == 404


def test_availability(client: httpx.Client, world: dict[str, Any]) -> None:
    response = client.get(f"/api/concerts/{world['id']}/availability")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["concertId"] == world["id"] and string(data["concertName"])
    assert len(data["tiers"]) == 3
    for i, tier in enumerate(data["tiers"]):
        assert_shape(tier, TIER_AVAILABILITY, f"data.tiers[{i}]")
    assert client.get(f"/api/concerts/{uuid.uuid4()}/availability").status_code == 404


def test_booking_with_the_briefs_body_and_my_bookings(
    client: httpx.Client, world: dict[str, Any]
) -> None:
    """The brief's client sends userId and idempotencyKey in the body, no header."""
    user_id, auth = guest_identity(client)
    key = str(uuid.uuid4())
    body = {
        "userId": user_id,
        "ticketTierId": world["tiers"]["GA"],
        "quantity": 2,
        "idempotencyKey": key,
    }
    response = client.post("/api/bookings", json=body, headers=auth)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["success"] is True and string(answer["message"])
    assert_shape(answer["booking"], BOOKING, "booking")
    assert answer["booking"]["idempotencyKey"] == key
    assert answer["booking"]["paymentStatus"] == "SUCCESS"

    listed = client.get(f"/api/bookings/{user_id}", headers=auth).json()
    assert listed["success"] is True and listed["count"] == 1
    [row] = listed["data"]
    assert_shape(row, BOOKING, "data[0]")
    assert_shape(row["concert"], CONCERT, "data[0].concert")
    assert_shape(row["ticketTier"], TICKET_TIER, "data[0].ticketTier")
    assert row["concert"]["id"] == world["id"]
    assert row["ticketTier"]["id"] == world["tiers"]["GA"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"quantity": 11}, 400),  # 1-10
        ({"quantity": 0}, 400),
        ({"idempotencyKey": "not-a-uuid"}, 400),
        ({"ticketTierId": str(uuid.uuid4())}, 404),
    ],
)
def test_booking_refusals_keep_the_briefs_statuses(
    client: httpx.Client, world: dict[str, Any], change: dict[str, Any], status: int
) -> None:
    user_id, auth = guest_identity(client)
    body = {
        "userId": user_id,
        "ticketTierId": world["tiers"]["VIP"],
        "quantity": 1,
        "idempotencyKey": str(uuid.uuid4()),
        **change,
    }
    response = client.post("/api/bookings", json=body, headers=auth)
    assert response.status_code == status
    assert response.json()["success"] is False


def test_not_enough_tickets_is_409(client: httpx.Client, world: dict[str, Any]) -> None:
    user_id, auth = guest_identity(client)
    body = {
        "userId": user_id,
        "ticketTierId": world["tiers"]["FRONT_ROW"],
        "quantity": 6,
        "idempotencyKey": str(uuid.uuid4()),
    }
    response = client.post("/api/bookings", json=body, headers=auth)
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "SOLD_OUT",
        "message": "Not enough tickets left in this tier",
    }
