"""Migrations 0003 and 0004: idempotency keys answered before them (HTTP status and body)
come out as outcomes that the API's mapper renders into the same answers (with the fields
the brief's contract added since), and going back restores them exactly."""

from __future__ import annotations

import json
import uuid
from typing import Any

from alembic import command

from tests.support.databases import DatabaseFactory, with_database
from tests.support.inventory import execute, fetch, fetchval
from ticketbook.api.booking_answers import booking_answer
from ticketbook.booking.outcomes import BookingOutcome, BookingResult
from ticketbook.db.migrate import alembic_config
from ticketbook.domain.schemas import Booking


def wire_booking(status: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "userId": str(uuid.uuid4()),
        "concertId": str(uuid.uuid4()),
        "concertName": "Old concert",
        "ticketTierId": str(uuid.uuid4()),
        "tierType": "GA",
        "quantity": 2,
        "unitPriceCents": 1000,
        "totalCents": 2000,
        "totalPrice": "20.00",
        "currency": "USD",
        "status": status,
        "holdExpiresAt": "2026-12-01T10:10:00Z",
        "createdAt": "2026-12-01T10:00:00Z",
    }


def with_new_fields(body: dict[str, Any], key: uuid.UUID) -> dict[str, Any]:
    """The answer as it replays now: a booking gains the contract's idempotencyKey,
    paymentStatus and updatedAt (an old booking's creation time) and `seats` (none: general
    admission); "not enough tickets" is now called SOLD_OUT."""
    if "booking" not in body:
        # The brief's 409 for too few tickets now says SOLD_OUT (beside ALL_HELD).
        renamed = {"NOT_ENOUGH_TICKETS": "SOLD_OUT"}
        return {**body, "error": renamed.get(body["error"], body["error"])}
    booking = body["booking"]
    payment = {"CONFIRMED": "SUCCESS", "FAILED": "FAILED", "EXPIRED": "FAILED"}
    added = {
        "idempotencyKey": str(key),
        "updatedAt": booking["createdAt"],
        "paymentStatus": payment[booking["status"]],
        "seats": None,
    }
    return {**body, "booking": {**booking, **added}}


def refusal(error: str, message: str) -> dict[str, Any]:
    return {"success": False, "error": error, "message": message}


# Answers exactly as revision 0002's code stored them, and the outcome each one means.
OLD_ANSWERS: list[tuple[int, dict[str, Any], BookingOutcome]] = [
    (
        200,
        {"success": True, "booking": wire_booking("CONFIRMED"), "message": "Booking confirmed"},
        BookingOutcome.CONFIRMED,
    ),
    (
        402,
        {
            "success": False,
            "booking": wire_booking("FAILED"),
            "message": "Payment failed (card declined); your tickets were released. "
            "Try again with a new idempotency key.",
        },
        BookingOutcome.DECLINED,
    ),
    (
        402,
        {
            "success": False,
            "booking": wire_booking("EXPIRED"),
            "message": "Your hold expired before the payment completed; any charge was refunded.",
        },
        BookingOutcome.EXPIRED,
    ),
    (
        409,
        refusal("NOT_ENOUGH_TICKETS", "Not enough tickets left in this tier"),
        BookingOutcome.SOLD_OUT,
    ),
    (
        409,
        refusal("CONCERT_STARTED", "This concert has already started; tickets are off sale"),
        BookingOutcome.CONCERT_OVER,
    ),
    (
        409,
        refusal("TICKET_LIMIT_REACHED", "You can hold at most 10 tickets for one concert"),
        BookingOutcome.TICKET_CAP,
    ),
    (404, refusal("TIER_NOT_FOUND", "Ticket tier not found"), BookingOutcome.UNKNOWN_TIER),
]


def test_old_answers_become_outcomes_that_render_the_same_and_go_back(
    databases: DatabaseFactory,
) -> None:
    name = f"{databases.prefix}_from_0002"
    databases._admin(f'CREATE DATABASE "{name}"')
    databases.created.append(name)
    url = with_database(databases.admin_url, name)
    command.upgrade(alembic_config(url), "0002")
    user = fetchval(url, "INSERT INTO users DEFAULT VALUES RETURNING id")
    keys = []
    for status, body, _ in OLD_ANSWERS:
        key = uuid.uuid4()
        keys.append(key)
        execute(
            url,
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, "
            "response_body, completed_at) VALUES ($1, $2, 'f', $3, $4::jsonb, now())",
            user,
            key,
            status,
            json.dumps(body),
        )
    in_flight = uuid.uuid4()
    execute(
        url,
        "INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES ($1, $2, 'f')",
        user,
        in_flight,
    )

    command.upgrade(alembic_config(url), "head")
    for key, (status, body, outcome) in zip(keys, OLD_ANSWERS, strict=True):
        [row] = fetch(
            url,
            "SELECT outcome, booking_snapshot, failure_reason FROM idempotency_keys WHERE key = $1",
            key,
        )
        assert row["outcome"] == outcome
        snapshot = json.loads(row["booking_snapshot"]) if row["booking_snapshot"] else None
        result = BookingResult(
            BookingOutcome(row["outcome"]),
            Booking.model_validate(snapshot) if snapshot else None,
            row["failure_reason"],
        )
        assert booking_answer(result, ticket_cap=10) == (status, with_new_fields(body, key))
    assert fetchval(url, "SELECT outcome FROM idempotency_keys WHERE key = $1", in_flight) is None

    command.downgrade(alembic_config(url), "0002")
    for key, (status, body, _) in zip(keys, OLD_ANSWERS, strict=True):
        [row] = fetch(
            url,
            "SELECT response_status, response_body FROM idempotency_keys WHERE key = $1",
            key,
        )
        assert (row["response_status"], json.loads(row["response_body"])) == (status, body)
    assert (
        fetchval(url, "SELECT response_status FROM idempotency_keys WHERE key = $1", in_flight)
        is None
    )
