"""The two outcome mappers, for every outcome: the API's status and body, and the page's
panel rendered through its template. No database: a booking is built by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from ticketbook.api.booking_answers import booking_answer
from ticketbook.booking.outcomes import SETTLED, SETTLED_STATUS, BookingOutcome, BookingResult
from ticketbook.domain.enums import TierType
from ticketbook.domain.schemas import Booking, Concert, TicketTier
from ticketbook.web import rendering
from ticketbook.web.booking_panels import booking_panel

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def a_booking(outcome: BookingOutcome) -> Booking:
    return Booking(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        concert_id=uuid.uuid4(),
        concert_name="Test concert",
        ticket_tier_id=uuid.uuid4(),
        tier_type=TierType.GA,
        quantity=2,
        unit_price_cents=1000,
        total_cents=2000,
        total_price="20.00",
        currency="USD",
        status=SETTLED_STATUS[outcome],
        idempotency_key=uuid.uuid4(),
        hold_expires_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )


def a_result(outcome: BookingOutcome) -> BookingResult:
    if outcome in SETTLED:
        reason = "card declined" if outcome is BookingOutcome.DECLINED else None
        return BookingResult(outcome, a_booking(outcome), reason)
    if outcome is BookingOutcome.ALL_HELD:
        return BookingResult(outcome, retry_after_s=3)
    return BookingResult(outcome)


EXPECTED_API = {
    BookingOutcome.CONFIRMED: (200, None),
    BookingOutcome.DECLINED: (402, None),
    BookingOutcome.EXPIRED: (402, None),
    BookingOutcome.SOLD_OUT: (409, "SOLD_OUT"),
    BookingOutcome.ALL_HELD: (409, "ALL_HELD"),
    BookingOutcome.CONCERT_OVER: (409, "CONCERT_STARTED"),
    BookingOutcome.TICKET_CAP: (409, "TICKET_LIMIT_REACHED"),
    BookingOutcome.IN_PROGRESS: (409, "REQUEST_IN_PROGRESS"),
    BookingOutcome.KEY_REUSED: (422, "IDEMPOTENCY_KEY_REUSED"),
    BookingOutcome.UNKNOWN_TIER: (404, "TIER_NOT_FOUND"),
    BookingOutcome.SEAT_TAKEN: (409, "SEAT_TAKEN"),
    BookingOutcome.NOT_TOGETHER: (409, "NOT_TOGETHER"),
    BookingOutcome.UNKNOWN_SEAT: (404, "SEAT_NOT_FOUND"),
    BookingOutcome.NOT_SEATED: (409, "NOT_SEATED"),
}

# What each panel says (a phrase only its outcome's panel has).
EXPECTED_PANEL = {
    BookingOutcome.CONFIRMED: (200, "Booking confirmed"),
    BookingOutcome.DECLINED: (402, "Payment declined"),
    BookingOutcome.EXPIRED: (402, "Your hold ran out"),
    BookingOutcome.SOLD_OUT: (409, "Not enough tickets left"),
    BookingOutcome.ALL_HELD: (409, "try again in 3 seconds"),
    BookingOutcome.CONCERT_OVER: (409, "Tickets are off sale"),
    BookingOutcome.TICKET_CAP: (409, "at most 7 tickets for one concert"),
    BookingOutcome.IN_PROGRESS: (409, "Still processing"),
    BookingOutcome.KEY_REUSED: (409, "This form was already sent"),
    BookingOutcome.UNKNOWN_TIER: (404, "This ticket tier is gone"),
    BookingOutcome.SEAT_TAKEN: (409, "just booked by another fan"),
    BookingOutcome.NOT_TOGETHER: (409, "Not enough seats together"),
    BookingOutcome.UNKNOWN_SEAT: (404, "Seat not found"),
    BookingOutcome.NOT_SEATED: (409, "No seats to choose in this tier"),
}


def test_the_tables_name_every_outcome() -> None:
    assert set(EXPECTED_API) == set(BookingOutcome) == set(EXPECTED_PANEL)


@pytest.mark.parametrize("outcome", list(BookingOutcome))
def test_api_answer(outcome: BookingOutcome) -> None:
    status, body = booking_answer(a_result(outcome), ticket_cap=7)
    expected_status, expected_error = EXPECTED_API[outcome]
    assert status == expected_status
    assert body["success"] is (outcome is BookingOutcome.CONFIRMED)
    assert body.get("error") == expected_error
    assert body["message"]
    if outcome in SETTLED:
        assert body["booking"]["status"] == SETTLED_STATUS[outcome]
        assert body["booking"]["ticketTierId"]  # camelCase, as on the wire
    if outcome is BookingOutcome.DECLINED:
        assert "(card declined)" in body["message"]
    if outcome is BookingOutcome.TICKET_CAP:
        assert body["message"] == "You can hold at most 7 tickets for one concert"


@pytest.mark.parametrize("outcome", list(BookingOutcome))
def test_page_panel(outcome: BookingOutcome) -> None:
    panel = booking_panel(a_result(outcome))
    concert_id = uuid.uuid4()
    tier = TicketTier(
        id=uuid.uuid4(),
        concert_id=concert_id,
        tier_type=TierType.GA,
        price_cents=1000,
        price="10.00",
        currency="USD",
        total_quantity=10,
        available_quantity=0,
        created_at=NOW,
        updated_at=NOW,
    )
    concert = Concert(
        id=concert_id,
        name="Test concert",
        artist="Artist",
        venue="Venue",
        description="",
        date=NOW,
        timezone="UTC",
        created_at=NOW,
        updated_at=NOW,
        ticket_tiers=[tier],
        has_available_tickets=False,
        lowest_price_cents=1000,
    )
    html = rendering.render(
        "_result.html",
        {
            "result": panel,
            "concert": concert,
            "tier": tier,
            "quantity": 2,
            "ticket_cap": 7,
            "on_sale": True,
            "session": None,
            "csrf_field": "csrf_token",
        },
    )
    expected_status, phrase = EXPECTED_PANEL[outcome]
    assert panel.status_code == expected_status
    assert f'data-outcome="{outcome.value.replace("_", "-")}"' in html
    assert phrase in html
    assert panel.title
    assert panel.ok is (outcome is BookingOutcome.CONFIRMED)
