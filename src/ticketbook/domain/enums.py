"""The closed sets of values the whole system agrees on: one definition each.

The models build their CHECK constraints from these, the SQL interpolates them, doctor and
the templates compare against them, and the wire schemas use them as field types.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

# Tickets in one booking; the schema's CHECK, the API's validation and the pages' forms all
# read this one number.
MAX_TICKETS_PER_BOOKING = 10


class TierType(StrEnum):
    VIP = "VIP"
    FRONT_ROW = "FRONT_ROW"
    GA = "GA"
    # Reserved seats of one price zone: a fan gets particular seats (docs/seating.md).
    SEATED = "SEATED"


class BookingStatus(StrEnum):
    PENDING = "PENDING"  # tickets held, payment in flight
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"  # payment not taken; tickets back on sale
    EXPIRED = "EXPIRED"  # hold ran out; tickets back on sale, any charge refunded
    CANCELLED = "CANCELLED"  # by the fan; tickets back on sale, payment refunded


# The statuses whose tickets are out of the tier's available count (the conservation law).
LIVE_BOOKING_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    TIMEOUT = "TIMEOUT"
    ERROR = "ERROR"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"


class RefundStatus(StrEnum):
    PENDING = "PENDING"  # owed: the refunder retries it until the provider answers
    DONE = "DONE"  # the provider gave the money back
    NOTHING_CAPTURED = "NOTHING_CAPTURED"  # the provider had taken nothing under that key


class BookingPaymentStatus(StrEnum):
    """The brief's `paymentStatus` of a booking (derived from the booking's status)."""

    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


class Role(StrEnum):
    GUEST = "guest"  # no credentials: a signed id
    FAN = "fan"
    ORGANIZER = "organizer"


class TicketRevocation(StrEnum):
    """Why a ticket's code stopped admitting (tickets.revoked_reason)."""

    CANCELLED = "cancelled"  # its booking was cancelled
    TRANSFERRED = "transferred"  # a new ticket, for the new holder, carries its admission


class ScanOutcome(StrEnum):
    """What the door answers for one scanned code (docs/tickets.md)."""

    ADMIT = "ADMIT"
    ALREADY_USED = "ALREADY_USED"
    REVOKED = "REVOKED"
    INVALID = "INVALID"
    WRONG_EVENT = "WRONG_EVENT"


class EmailKind(StrEnum):
    BOOKING_CONFIRMED = "booking_confirmed"  # the fan's tickets, after the payment
    TICKET_TRANSFERRED = "ticket_transferred"  # a ticket someone gave this address


class SessionKind(StrEnum):
    API = "api"  # a bearer token
    PAGE = "page"  # the pages' cookie


def sql_list(values: Iterable[StrEnum]) -> str:
    """``'A', 'B'``: enum values for an SQL ``IN (...)``. Only our own constants go here."""
    return ", ".join(f"'{v.value}'" for v in values)
