"""The per-fan cap is released when a booking fails: declined payments use none of it.
(Moved from tests/system/test_ticket_cap.py; the concurrent case stays there.)"""

from __future__ import annotations

import uuid

from tests.http.conftest import AppFactory
from tests.support.api import fan
from tests.support.inventory import fetchval, make_concert

CAP = 10  # TICKETBOOK_MAX_TICKETS_PER_CONCERT's default


def held_by(url: str, user_id: str, concert_id: str) -> int:
    held: int = fetchval(
        url,
        "SELECT coalesce(sum(quantity), 0)::int FROM bookings WHERE user_id = $1 AND "
        "concert_id = $2 AND status IN ('PENDING', 'CONFIRMED')",
        uuid.UUID(user_id),
        uuid.UUID(concert_id),
    )
    return held


def test_failed_payments_do_not_use_up_the_cap(db_url: str, start_app: AppFactory) -> None:
    concert = make_concert(db_url, {"GA": 50})
    tier = concert["tiers"]["GA"]
    declining = start_app(
        db_url,  # the cap at its default: CAP
        TICKETBOOK_PAYMENT_SUCCESS_RATE="0",
        TICKETBOOK_PAYMENT_TIMEOUT_SHARE="0",
        TICKETBOOK_PAYMENT_ERROR_SHARE="0",
    )
    with declining.client() as client:
        api = fan(client)
        for _ in range(3):
            assert api.book(tier, CAP).status == 402
    assert held_by(db_url, str(api.user_id), concert["id"]) == 0
