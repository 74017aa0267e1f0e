"""The one mapping from a booking outcome to what the pages show: the result panel's kind,
title and the page's status code. The panel's text lives in ``templates/_result.html``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ticketbook.booking.outcomes import BookingOutcome, BookingResult
from ticketbook.domain.schemas import Booking
from ticketbook.web.views import SeatName, describe_seats

# (page title, HTTP status of the result page)
PANELS: dict[BookingOutcome, tuple[str, int]] = {
    BookingOutcome.CONFIRMED: ("Booking confirmed", 200),
    BookingOutcome.DECLINED: ("Payment declined", 402),
    BookingOutcome.EXPIRED: ("Payment too slow", 402),
    BookingOutcome.SOLD_OUT: ("Not enough tickets", 409),
    BookingOutcome.ALL_HELD: ("Tickets held right now", 409),
    BookingOutcome.CONCERT_OVER: ("Tickets off sale", 409),
    BookingOutcome.TICKET_CAP: ("Ticket limit reached", 409),
    BookingOutcome.IN_PROGRESS: ("Still processing", 409),
    BookingOutcome.KEY_REUSED: ("Form already sent", 409),
    BookingOutcome.UNKNOWN_TIER: ("Tier not found", 404),
    BookingOutcome.SEAT_TAKEN: ("Seats just taken", 409),
    BookingOutcome.NOT_TOGETHER: ("Not enough seats together", 409),
    BookingOutcome.UNKNOWN_SEAT: ("Seat not found", 404),
    BookingOutcome.NOT_SEATED: ("No seats in this tier", 409),
}

# Outcomes shown as a warning (nothing went wrong, but nothing new happened either).
WARNINGS = frozenset(
    {BookingOutcome.IN_PROGRESS, BookingOutcome.KEY_REUSED, BookingOutcome.ALL_HELD}
)
# Outcomes after which the same form may be sent again as a new booking.
RETRYABLE = frozenset(
    {
        BookingOutcome.DECLINED,
        BookingOutcome.EXPIRED,
        BookingOutcome.KEY_REUSED,
        BookingOutcome.ALL_HELD,
    }
)


@dataclass(frozen=True)
class SeatBlock:
    """Seats offered instead of taken ones: their codes (for the form) and their names."""

    codes: tuple[str, ...]
    names: tuple[SeatName, ...]

    @property
    def text(self) -> str:
        return describe_seats(self.names)


@dataclass(frozen=True)
class BookingPanel:
    """What a booking attempt came to, for the result panel."""

    outcome: BookingOutcome
    booking: Booking | None = None
    # ALL_HELD: when to try again, in seconds.
    retry_after_s: int | None = None
    # Reserved seats: the booking's, those of the seats asked for that are taken (SEAT_TAKEN,
    # and ALL_HELD when payments in flight hold them), and free blocks offered instead.
    seats: tuple[SeatName, ...] = ()
    taken: tuple[SeatName, ...] = ()
    alternatives: tuple[SeatBlock, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome is BookingOutcome.CONFIRMED

    @property
    def kind(self) -> str:
        """The panel's colour: success, warning or error."""
        return "success" if self.ok else "warning" if self.outcome in WARNINGS else "error"

    @property
    def can_retry(self) -> bool:
        return self.outcome in RETRYABLE

    @property
    def title(self) -> str:
        return PANELS[self.outcome][0]

    @property
    def status_code(self) -> int:
        return PANELS[self.outcome][1]

    @property
    def slug(self) -> str:
        """The outcome as the page's script and tests see it: 'sold-out', 'ticket-cap'..."""
        return self.outcome.value.replace("_", "-")


def booking_panel(
    result: BookingResult, name: Callable[[str], SeatName] = SeatName.of_code
) -> BookingPanel:
    """The panel of a result; `name` names seat codes (the concert's layout knows how)."""
    booked = result.booking.seats if result.booking is not None else None
    return BookingPanel(
        result.outcome,
        result.booking,
        result.retry_after_s,
        seats=tuple(map(name, booked or ())),
        taken=tuple(map(name, result.taken_seats)),
        alternatives=tuple(
            SeatBlock(codes, tuple(map(name, codes))) for codes in result.alternatives
        ),
    )
