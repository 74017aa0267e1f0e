from __future__ import annotations

import httpx

from tests.support.api import fan
from tests.support.inventory import make_concert
from ticketbook.domain.enums import BookingStatus


def test_book_one_ticket_end_to_end(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    api = fan(client)
    answer = api.book(concert["tiers"]["GA"], 2)
    assert answer.status == 200, answer.message
    assert answer.booking is not None and answer.booking.status == BookingStatus.CONFIRMED
    assert api.concert(concert["id"]).ticket_tiers[0].available_quantity == 3
