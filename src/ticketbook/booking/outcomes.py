"""What a booking attempt came to: a closed set of outcomes plus the booking, if one was made.

The engine returns these and knows nothing of HTTP; each edge maps them once (the API in
``api/booking_answers.py``, the pages in ``web/booking_panels.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ticketbook.domain.enums import BookingStatus
from ticketbook.domain.schemas import Booking


class BookingOutcome(StrEnum):
    CONFIRMED = "confirmed"  # paid within the hold
    DECLINED = "declined"  # payment not taken (declined, timed out, provider error)
    EXPIRED = "expired"  # the hold ran out before the payment settled; any charge refunded
    SOLD_OUT = "sold_out"  # fewer tickets left than asked for, and none held by payments
    ALL_HELD = "all_held"  # enough only once payments in flight fail, and they did not in time
    CONCERT_OVER = "concert_over"  # the concert has started: off sale
    TICKET_CAP = "ticket_cap"  # the fan would hold more than the per-concert cap
    UNKNOWN_TIER = "unknown_tier"
    # Reserved seats (docs/seating.md):
    SEAT_TAKEN = "seat_taken"  # a seat asked for by name is sold or held
    NOT_TOGETHER = "not_together"  # enough seats are free, but not that many side by side
    UNKNOWN_SEAT = "unknown_seat"  # a seat code that is not in this tier's zone
    NOT_SEATED = "not_seated"  # seats named for a general-admission tier
    IN_PROGRESS = "in_progress"  # the same key's first request is still paying
    KEY_REUSED = "key_reused"  # the same key was used for a different request

    @property
    def made_booking(self) -> bool:
        return self in SETTLED


# A booking was held and then settled into one of these.
SETTLED = frozenset({BookingOutcome.CONFIRMED, BookingOutcome.DECLINED, BookingOutcome.EXPIRED})
# What an idempotency key may remember (the schema's CHECK). IN_PROGRESS and KEY_REUSED are
# answers about the key itself, and ALL_HELD says "retry": none of them is final.
NOT_STORED = (BookingOutcome.IN_PROGRESS, BookingOutcome.KEY_REUSED, BookingOutcome.ALL_HELD)
STORED_OUTCOMES = tuple(o for o in BookingOutcome if o not in NOT_STORED)

SETTLED_STATUS = {
    BookingOutcome.CONFIRMED: BookingStatus.CONFIRMED,
    BookingOutcome.DECLINED: BookingStatus.FAILED,
    BookingOutcome.EXPIRED: BookingStatus.EXPIRED,
}
OUTCOME_OF_STATUS = {status: outcome for outcome, status in SETTLED_STATUS.items()}


@dataclass(frozen=True)
class BookingResult:
    outcome: BookingOutcome
    # The booking as it settled (CONFIRMED, FAILED or EXPIRED); None when none was made.
    booking: Booking | None = None
    # Why a payment failed ("card declined", "payment provider timed out"...), if it did.
    failure_reason: str | None = None
    # ALL_HELD: when trying again may find tickets, in seconds.
    retry_after_s: int | None = None
    # SEAT_TAKEN: which of the seats asked for are taken, and the nearest blocks of as many
    # seats that are free now (seat codes).
    taken_seats: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, ...], ...] = ()

    @property
    def confirmed(self) -> bool:
        return self.outcome is BookingOutcome.CONFIRMED
