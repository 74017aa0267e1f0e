"""The one mapping from a booking outcome to the API's answer: status code and JSON body.

A first answer and every replay of its idempotency key are rendered here from the same
stored outcome, so they are the same answer.
"""

from __future__ import annotations

from typing import Any

from ticketbook.booking.outcomes import BookingOutcome, BookingResult

STATUS = {
    BookingOutcome.CONFIRMED: 200,
    BookingOutcome.DECLINED: 402,
    BookingOutcome.EXPIRED: 402,
    BookingOutcome.SOLD_OUT: 409,
    BookingOutcome.ALL_HELD: 409,
    BookingOutcome.CONCERT_OVER: 409,
    BookingOutcome.TICKET_CAP: 409,
    BookingOutcome.IN_PROGRESS: 409,
    BookingOutcome.KEY_REUSED: 422,
    BookingOutcome.UNKNOWN_TIER: 404,
    BookingOutcome.SEAT_TAKEN: 409,
    BookingOutcome.NOT_TOGETHER: 409,
    BookingOutcome.UNKNOWN_SEAT: 404,
    BookingOutcome.NOT_SEATED: 409,
}

# (error code, message) for the outcomes that made no booking.
REFUSALS = {
    BookingOutcome.SOLD_OUT: ("SOLD_OUT", "Not enough tickets left in this tier"),
    BookingOutcome.ALL_HELD: (
        "ALL_HELD",
        "The tickets left are held by payments in progress; some may come back if a payment "
        "fails: retry after the time in Retry-After",
    ),
    BookingOutcome.CONCERT_OVER: (
        "CONCERT_STARTED",
        "This concert has already started; tickets are off sale",
    ),
    BookingOutcome.TICKET_CAP: (
        "TICKET_LIMIT_REACHED",
        "You can hold at most {cap} tickets for one concert",
    ),
    BookingOutcome.IN_PROGRESS: (
        "REQUEST_IN_PROGRESS",
        "A request with this idempotency key is still being processed; retry shortly",
    ),
    BookingOutcome.KEY_REUSED: (
        "IDEMPOTENCY_KEY_REUSED",
        "This idempotency key was already used for a different request; use a new key",
    ),
    BookingOutcome.UNKNOWN_TIER: ("TIER_NOT_FOUND", "Ticket tier not found"),
    BookingOutcome.SEAT_TAKEN: (
        "SEAT_TAKEN",
        "Taken: {seats}. The nearest seats free together are in details.alternatives",
    ),
    BookingOutcome.NOT_TOGETHER: (
        "NOT_TOGETHER",
        "Not that many seats side by side are left here; choose seats by seatIds (see the "
        "seat map) or ask for fewer",
    ),
    BookingOutcome.UNKNOWN_SEAT: (
        "SEAT_NOT_FOUND",
        "A seat in seatIds is not one of this tier's (its price zone's) seats",
    ),
    BookingOutcome.NOT_SEATED: (
        "NOT_SEATED",
        "This tier is general admission: send quantity, without seatIds or section",
    ),
}
# "All held", for seats named: which, and that they may come back.
SEATS_HELD = (
    "Held by payments in progress: {seats}. They come back if a payment fails: retry after "
    "the time in Retry-After, or take the nearest free seats in details.alternatives"
)

SETTLED_MESSAGES = {
    BookingOutcome.CONFIRMED: "Booking confirmed",
    BookingOutcome.DECLINED: "Payment failed ({reason}); your tickets were released. "
    "Try again with a new idempotency key.",
    BookingOutcome.EXPIRED: "Your hold expired before the payment completed; "
    "any charge was refunded.",
}


def booking_answer(result: BookingResult, *, ticket_cap: int) -> tuple[int, dict[str, Any]]:
    """(status code, body) for POST /api/bookings. ``ticket_cap`` is the per-fan cap the
    engine enforces, named in its refusal."""
    status = STATUS[result.outcome]
    if result.booking is not None:
        message = SETTLED_MESSAGES[result.outcome].format(
            reason=result.failure_reason or "declined"
        )
        return status, {
            "success": result.confirmed,
            "booking": result.booking.model_dump(mode="json"),
            "message": message,
        }
    error, message = REFUSALS[result.outcome]
    seats = ", ".join(result.taken_seats) or "the seats asked for"
    if result.taken_seats and result.outcome is BookingOutcome.ALL_HELD:
        message = SEATS_HELD
    body: dict[str, Any] = {
        "success": False,
        "error": error,
        "message": message.format(cap=ticket_cap, seats=seats),
    }
    if result.taken_seats or result.alternatives:
        body["details"] = {
            "seats": list(result.taken_seats),
            "alternatives": [list(a) for a in result.alternatives],
        }
    return status, body


def booking_headers(result: BookingResult) -> dict[str, str] | None:
    """Retry-After when the answer says "try again later"."""
    if result.retry_after_s is not None:
        return {"Retry-After": str(result.retry_after_s)}
    return None
