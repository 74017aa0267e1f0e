"""The booking flow: hold (short, locked), pay (no transaction open), settle (conditional).

See docs/architecture.md for why each step is one statement.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import asyncpg

from ticketbook.booking import queries
from ticketbook.booking.idempotency import StoredResponse, booking_fingerprint
from ticketbook.db.pool import Database
from ticketbook.domain.errors import Conflict, Forbidden, NotFound, Unauthenticated
from ticketbook.domain.schemas import Booking, BookingEnvelope, ErrorBody, format_money
from ticketbook.observability.metrics import (
    BOOKINGS,
    HOLDS_CREATED,
    HOLDS_EXPIRED,
    PAYMENTS,
    REFUNDS,
)
from ticketbook.payments.gateway import ChargeOutcome, ChargeResult, PaymentGateway
from ticketbook.ratelimit.limiter import RateLimiter

log = logging.getLogger(__name__)

MAX_LISTED_BOOKINGS = 200

UNKNOWN_TIER = ErrorBody(error="TIER_NOT_FOUND", message="Ticket tier not found")
NOT_ENOUGH_TICKETS = ErrorBody(
    error="NOT_ENOUGH_TICKETS", message="Not enough tickets left in this tier"
)
CONCERT_OVER = ErrorBody(
    error="CONCERT_STARTED", message="This concert has already started; tickets are off sale"
)
IN_PROGRESS = ErrorBody(
    error="REQUEST_IN_PROGRESS",
    message="A request with this idempotency key is still being processed; retry shortly",
)
KEY_REUSED = ErrorBody(
    error="IDEMPOTENCY_KEY_REUSED",
    message="This idempotency key was already used for a different request; use a new key",
)

SETTLED_MESSAGES = {
    "CONFIRMED": "Booking confirmed",
    "FAILED": "Payment failed ({reason}); your tickets were released. "
    "Try again with a new idempotency key.",
    "EXPIRED": "Your hold expired before the payment completed; any charge was refunded.",
}


def _iso(moment: datetime) -> str:
    # The same text pydantic writes for an aware datetime, so both renderings agree.
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def booking_wire(row: Mapping[str, Any], status: str | None = None) -> dict[str, Any]:
    """A booking in its wire shape (the `Booking` schema), built without a model: this runs
    on every booking and for every row of "my bookings"."""
    return {
        "id": str(row["id"]),
        "userId": str(row["user_id"]),
        "concertId": str(row["concert_id"]),
        "concertName": row["concert_name"],
        "ticketTierId": str(row["tier_id"]),
        "tierType": row["tier_type"],
        "quantity": row["quantity"],
        "unitPriceCents": row["unit_price_cents"],
        "totalCents": row["total_cents"],
        "totalPrice": format_money(row["total_cents"]),
        "currency": row["currency"],
        "status": status or row["status"],
        "holdExpiresAt": _iso(row["hold_expires_at"]),
        "createdAt": _iso(row["created_at"]),
    }


def render_booking(row: Mapping[str, Any], status: str | None = None) -> Booking:
    return Booking.model_validate(booking_wire(row, status))


def outcome_label(result: StoredResponse) -> str:
    """confirmed / failed / expired for settled bookings, else the error code (sold out...)."""
    booking = result.body.get("booking")
    if isinstance(booking, dict):
        return str(booking.get("status", "unknown")).lower()
    return str(result.body.get("error", "unknown")).lower()


def _body(model: BookingEnvelope | ErrorBody) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def settled_bodies(
    row: Mapping[str, Any], statuses: tuple[str, ...], reason: str | None
) -> dict[str, dict[str, Any]]:
    """The response body for each way a booking can settle (the booking is rendered once)."""
    booking = booking_wire(row)
    return {
        status: {
            "success": status == "CONFIRMED",
            "booking": {**booking, "status": status},
            "message": SETTLED_MESSAGES[status].format(reason=reason or "declined"),
        }
        for status in statuses
    }


# Rejections are constant: rendered once, stored with the idempotency key as they are.
UNKNOWN_TIER_BODY = _body(UNKNOWN_TIER)
NOT_ENOUGH_TICKETS_BODY = _body(NOT_ENOUGH_TICKETS)
CONCERT_OVER_BODY = _body(CONCERT_OVER)
IN_PROGRESS_BODY = _body(IN_PROGRESS)
KEY_REUSED_BODY = _body(KEY_REUSED)
SETTLE_STATUSES = ("CONFIRMED", "FAILED", "EXPIRED")


def ticket_cap_body(cap: int) -> dict[str, Any]:
    return _body(
        ErrorBody(
            error="TICKET_LIMIT_REACHED",
            message=f"You can hold at most {cap} tickets for one concert",
        )
    )


@dataclass(frozen=True)
class BookingEngine:
    db: Database
    gateway: PaymentGateway
    hold_seconds: float
    payment_timeout_s: float
    max_tickets_per_concert: int = 10
    # Counts booking attempts per account and client address (None: no limits).
    limiter: RateLimiter | None = None

    @cached_property
    def _rejections(self) -> dict[str, dict[str, Any]]:
        """The 409 bodies by the hold's `rejection`; the cap's names this engine's cap."""
        return {
            "concert_over": CONCERT_OVER_BODY,
            "ticket_cap": ticket_cap_body(self.max_tickets_per_concert),
            "not_enough": NOT_ENOUGH_TICKETS_BODY,
        }

    async def book(
        self,
        *,
        user_id: uuid.UUID,
        tier_id: uuid.UUID,
        quantity: int,
        key: uuid.UUID,
        address: str | None = None,
    ) -> StoredResponse:
        """Hold, pay, settle; the answer is what the idempotency key will replay. Raises
        RateLimited (nothing changed) when the caller books too often."""
        if self.limiter is not None:
            await self.limiter.hit("booking", account=str(user_id), address=address)
        result = await self._book(user_id, tier_id, quantity, key)
        BOOKINGS.labels(outcome_label(result)).inc()
        return result

    async def _book(
        self, user_id: uuid.UUID, tier_id: uuid.UUID, quantity: int, key: uuid.UUID
    ) -> StoredResponse:
        fingerprint = booking_fingerprint(tier_id, quantity)
        payment_key = uuid.uuid4()
        try:
            row = await self.db.fetchrow(
                queries.HOLD_SQL,
                tier_id,
                quantity,
                user_id,
                key,
                fingerprint,
                self.hold_seconds,
                payment_key,
                UNKNOWN_TIER_BODY,
                NOT_ENOUGH_TICKETS_BODY,
                CONCERT_OVER_BODY,
                self.max_tickets_per_concert,
                self._rejections["ticket_cap"],
            )
        except asyncpg.UniqueViolationError:
            return await self._replay(user_id, key, fingerprint)
        except asyncpg.ForeignKeyViolationError:
            # A validly signed token for a user that no longer exists (e.g. after a reset).
            raise Unauthenticated("Your session is no longer valid; sign in again") from None
        assert row is not None
        if row["id"] is None:
            rejection: str = row["rejection"]
            if rejection == "unknown_tier":
                return StoredResponse(404, UNKNOWN_TIER_BODY)
            return StoredResponse(409, self._rejections[rejection])

        HOLDS_CREATED.inc()
        # The hold is committed and no lock or transaction is open while we wait on the provider.
        result = await self._charge(payment_key, row["total_cents"], row["currency"])
        return await self._settle(row, payment_key, result, user_id, key, fingerprint)

    async def _charge(self, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        result = await self._call_gateway(key, amount_cents, currency)
        PAYMENTS.labels(result.outcome.value.lower()).inc()
        return result

    async def _call_gateway(self, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        try:
            return await asyncio.wait_for(
                self.gateway.charge(key=key, amount_cents=amount_cents, currency=currency),
                timeout=self.payment_timeout_s,
            )
        except TimeoutError:
            return ChargeResult(ChargeOutcome.TIMEOUT, failure_reason="payment provider timed out")
        except Exception:
            log.exception("payment gateway raised; treating the attempt as a provider error")
            return ChargeResult(ChargeOutcome.ERROR, failure_reason="payment provider error")

    async def _settle(
        self,
        row: Mapping[str, Any],
        payment_key: uuid.UUID,
        result: ChargeResult,
        user_id: uuid.UUID,
        key: uuid.UUID,
        fingerprint: str,
    ) -> StoredResponse:
        bodies = settled_bodies(row, SETTLE_STATUSES, result.failure_reason)
        settled: str | None = await self.db.fetchval(
            queries.SETTLE_SQL,
            row["id"],
            row["payment_id"],
            result.paid,
            result.outcome.value,
            result.provider_reference,
            result.failure_reason,
            bodies,
        )
        if settled != "CONFIRMED" and result.outcome in (
            ChargeOutcome.SUCCEEDED,
            ChargeOutcome.TIMEOUT,
        ):
            # Money may have been taken for a booking we could not confirm: give it back.
            await refund_payment(self.db, self.gateway, row["payment_id"], payment_key)
        if settled == "EXPIRED":
            HOLDS_EXPIRED.labels("settle").inc()
        if settled is None:
            # The reaper expired this hold first; it also answered the idempotency key.
            return await self._replay(user_id, key, fingerprint)
        return StoredResponse(200 if settled == "CONFIRMED" else 402, bodies[settled])

    async def stored_answer(
        self, *, user_id: uuid.UUID, tier_id: uuid.UUID, quantity: int, key: uuid.UUID
    ) -> StoredResponse:
        """What a booking's key answers now, read-only: for waiting on a request in flight
        without taking the tier's lock again."""
        return await self._replay(user_id, key, booking_fingerprint(tier_id, quantity))

    async def _replay(self, user_id: uuid.UUID, key: uuid.UUID, fingerprint: str) -> StoredResponse:
        stored = await self.db.fetchrow(queries.FIND_KEY_SQL, user_id, key)
        if stored is None:  # pragma: no cover - the key row is never deleted while in use
            return StoredResponse(409, IN_PROGRESS_BODY)
        if stored["fingerprint"] != fingerprint:
            return StoredResponse(422, KEY_REUSED_BODY)
        if stored["response_status"] is None:
            return StoredResponse(409, IN_PROGRESS_BODY)
        return StoredResponse(stored["response_status"], stored["response_body"])

    async def list_for_user_wire(self, user_id: uuid.UUID) -> list[dict[str, Any]]:
        """The user's bookings, newest first, in the API's JSON shape."""
        rows = await self.db.fetch(queries.LIST_FOR_USER_SQL, user_id, MAX_LISTED_BOOKINGS)
        return [booking_wire(r) for r in rows]

    async def list_for_user(self, user_id: uuid.UUID) -> list[Booking]:
        return [Booking.model_validate(b) for b in await self.list_for_user_wire(user_id)]

    async def cancel(self, *, user_id: uuid.UUID, booking_id: uuid.UUID) -> Booking:
        released = await self.db.fetchrow(queries.CANCEL_SQL, booking_id, user_id)
        booking = await self.db.fetchrow(queries.GET_BOOKING_SQL, booking_id)
        if booking is None:
            raise NotFound("Booking not found")
        if booking["user_id"] != user_id:
            raise Forbidden("This booking belongs to someone else")
        if released is not None:
            if released["payment_id"] is not None:
                await refund_payment(
                    self.db, self.gateway, released["payment_id"], released["provider_key"]
                )
        elif booking["status"] != "CANCELLED":
            raise Conflict(
                f"Only confirmed bookings can be cancelled; this one is {booking['status']}"
            )
        return render_booking(booking)


async def refund_payment(
    db: Database, gateway: PaymentGateway, payment_id: uuid.UUID, provider_key: uuid.UUID
) -> None:
    """Refund whatever the provider captured under our key and record it."""
    try:
        refund = await gateway.refund(key=provider_key)
    except Exception:
        log.exception(
            "refund failed for payment %s; it stays as recorded for reconciliation", payment_id
        )
        return
    if refund.refunded:
        REFUNDS.inc()
        await db.execute(
            queries.MARK_PAYMENT_SQL, payment_id, "REFUNDED", refund.provider_reference
        )
