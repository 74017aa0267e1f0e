"""The booking flow: hold (short, locked), pay (no transaction open), settle (conditional).

See docs/architecture.md for why each step is one statement.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ticketbook.booking import queries, seat_queries
from ticketbook.booking.idempotency import booking_fingerprint
from ticketbook.booking.outcomes import OUTCOME_OF_STATUS, BookingOutcome, BookingResult
from ticketbook.booking.refunds import Refunds
from ticketbook.booking.releases import TierReleases
from ticketbook.db.pool import Database, retry_deadlocked
from ticketbook.domain.enums import BookingStatus
from ticketbook.domain.errors import (
    ConcertStarted,
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
)
from ticketbook.domain.schemas import (
    PAYMENT_STATUS_OF,
    Booking,
    BookingWithDetails,
    format_money,
)
from ticketbook.observability.metrics import (
    BOOKINGS,
    HELD_WAITS,
    HOLDS_CREATED,
    HOLDS_EXPIRED,
    PAYMENTS,
)
from ticketbook.payments.gateway import ChargeOutcome, ChargeResult, PaymentGateway
from ticketbook.ratelimit.limiter import NO_BUCKETS, Buckets, RateLimiter, refuse_if

log = logging.getLogger(__name__)

MAX_LISTED_BOOKINGS = 200
# A request waiting for held tickets looks again at least this often, even when no release
# announced itself (a count that went down and up between two of the hub's polls).
RECHECK_HELD_S = 0.5
# A payment that reaches its deadline still has its settle statement to run: a request
# waiting for its tickets waits this much past the deadline before it answers "all held".
SETTLE_GRACE_S = 1.0
# Looks again at once, at most this many times, when the hold's statement saw holds that had
# settled by the time it asked how long they would take.
MAX_STALE_READS = 3
# A best-available hold whose every fitting block was locked by other holds looks again at
# once (those locks last one statement), at most this many times before it says "all held".
MAX_CONTENDED_LOOKS = 20
# How many alternatives a refusal of named seats offers.
ALTERNATIVES = 3


def _iso(moment: datetime) -> str:
    # The same text pydantic writes for an aware datetime, so both renderings agree.
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def booking_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    """A booking in its wire shape (the `Booking` schema), built without a model: this runs
    for every row of "my bookings"."""
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
        "status": row["status"],
        "idempotencyKey": str(row["idempotency_key"]) if row["idempotency_key"] else None,
        "holdExpiresAt": _iso(row["hold_expires_at"]),
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "seats": row["seats"],
    }


def booking_details_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of "my bookings" (`BookingWithDetails`): the booking, its concert, its tier."""
    booking = booking_wire(row)
    booking["paymentStatus"] = PAYMENT_STATUS_OF[row["status"]]
    booking["concert"] = {
        "id": booking["concertId"],
        "name": row["concert_name"],
        "artist": row["artist"],
        "venue": row["venue"],
        "description": row["description"],
        "date": _iso(row["starts_at"]),
        "timezone": row["timezone"],
        "createdAt": _iso(row["concert_created_at"]),
        "updatedAt": _iso(row["concert_updated_at"]),
    }
    booking["ticketTier"] = {
        "id": booking["ticketTierId"],
        "concertId": booking["concertId"],
        "tierType": row["tier_type"],
        "priceCents": row["price_cents"],
        "price": format_money(row["price_cents"]),
        "currency": row["tier_currency"],
        "totalQuantity": row["total_quantity"],
        "availableQuantity": row["available_quantity"],
        "zone": row["zone"],
        "zoneName": row["zone_name"],
        "createdAt": _iso(row["tier_created_at"]),
        "updatedAt": _iso(row["tier_updated_at"]),
    }
    return booking


def render_booking(row: Mapping[str, Any]) -> Booking:
    return Booking.model_validate(booking_wire(row))


# The constraint name migration 0006's trigger raises when a statement would hand a claimed
# seat to another booking: a bug, never an idempotency replay.
SEAT_HOLDER_GUARD = "concert_seats_one_holder"
# Refusals of a seated request that name seats and offer alternatives.
SEAT_REFUSALS = frozenset({BookingOutcome.SEAT_TAKEN, BookingOutcome.ALL_HELD})


@dataclass(frozen=True)
class HoldRequest:
    """What a booking asks to hold: a quantity of a tier, and for seats, which ones."""

    tier_id: uuid.UUID
    quantity: int
    seats: tuple[str, ...] = ()
    section: str | None = None

    @property
    def seated_request(self) -> bool:
        return bool(self.seats) or self.section is not None

    @property
    def fingerprint(self) -> str:
        return booking_fingerprint(self.tier_id, self.quantity, self.seats, self.section)


@dataclass(frozen=True)
class BookingEngine:
    db: Database
    gateway: PaymentGateway
    hold_seconds: float
    payment_timeout_s: float
    max_tickets_per_concert: int = 10
    # Counts booking attempts per account and client address (None: no limits).
    limiter: RateLimiter | None = None
    # Wakes requests waiting for held tickets when tickets come back (fed by the live hub
    # for other processes' releases).
    releases: TierReleases = field(default_factory=TierReleases)
    # The settle runs after the money moved: it waits this long for a free connection
    # rather than answer 503 and leave a paid hold to the reaper (minutes away).
    settle_acquire_timeout_s: float = 30.0
    # Money owed back, asked of the same gateway (built from it, once).
    refunds: Refunds = field(init=False)
    # Tiers found to sell reserved seats: their holds choose seats from the start.
    seated_tiers: set[uuid.UUID] = field(default_factory=set)

    def __post_init__(self) -> None:
        object.__setattr__(self, "refunds", Refunds(self.db, self.gateway))

    async def book(
        self,
        *,
        user_id: uuid.UUID,
        tier_id: uuid.UUID,
        quantity: int,
        key: uuid.UUID,
        address: str | None = None,
        seats: tuple[str, ...] = (),
        section: str | None = None,
    ) -> BookingResult:
        """Hold, pay, settle; the result is what the idempotency key will replay. Raises
        RateLimited (nothing changed) when the caller books too often.

        A seated tier sells particular seats: ``seats`` names them (their codes, as many as
        ``quantity``), else the hold takes the best ``quantity`` side by side in the tier's
        zone, or in its ``section`` (docs/seating.md)."""
        if seats and len(seats) != quantity:
            raise ValueError("name as many seats as the quantity")
        buckets = (
            self.limiter.buckets("booking", account=str(user_id), address=address)
            if self.limiter is not None
            else NO_BUCKETS
        )
        ask = HoldRequest(tier_id, quantity, seats, section)
        result = await self._book(user_id, ask, key, buckets)
        if ask.seated_request and result.outcome in SEAT_REFUSALS:
            result = await self._with_alternatives(result, ask)
        BOOKINGS.labels(result.outcome.value).inc()
        return result

    async def _with_alternatives(self, result: BookingResult, ask: HoldRequest) -> BookingResult:
        """A refusal of named seats says which are taken now and offers the nearest blocks of
        as many free seats (also when the answer is replayed from the key)."""
        if not ask.seats:
            return result
        taken = await self.db.fetchval(seat_queries.TAKEN_OF_SQL, ask.tier_id, list(ask.seats))
        alternatives = await self.db.fetch(
            seat_queries.ALTERNATIVES_SQL, ask.tier_id, ask.quantity, list(ask.seats), ALTERNATIVES
        )
        return dataclasses.replace(
            result,
            taken_seats=tuple(taken or ()),
            alternatives=tuple(tuple(r["codes"]) for r in alternatives),
        )

    async def _book(
        self, user_id: uuid.UUID, ask: HoldRequest, key: uuid.UUID, buckets: Buckets
    ) -> BookingResult:
        tier_id, _quantity = ask.tier_id, ask.quantity
        fingerprint = ask.fingerprint
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        stale_reads = contended_looks = 0
        while True:
            payment_key = uuid.uuid4()
            try:
                row = await self._hold(user_id, ask, key, fingerprint, payment_key, buckets)
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name == SEAT_HOLDER_GUARD:  # pragma: no cover - a bug's trace
                    raise
                return await self._replay(user_id, key, fingerprint)
            # The request is counted once; looking again is not another request.
            buckets = NO_BUCKETS
            refuse_if("booking", row["retry_after_s"])
            if row["id"] is not None:
                break
            if row["refusal"] == queries.SEATED_TIER:
                # A seated tier asked for by quantity: its best seats from now on.
                self.seated_tiers.add(tier_id)
                continue
            if row["refusal"] == queries.CONTENDED:
                contended_looks += 1
                if contended_looks <= MAX_CONTENDED_LOOKS:
                    continue
                return BookingResult(BookingOutcome.ALL_HELD, retry_after_s=1)
            refusal = BookingOutcome(row["refusal"])
            if refusal is not BookingOutcome.ALL_HELD:
                return BookingResult(refusal)
            if row["settled_within_s"] is None and stale_reads < MAX_STALE_READS:
                # The statement counted holds that had settled by the time it looked for
                # them (it waited on the tier's lock meanwhile): just look again.
                stale_reads += 1
                continue
            if deadline is None and await self.db.fetchrow(queries.FIND_KEY_SQL, user_id, key):
                # This key already has an answer (a retry): that answer, not a wait.
                return await self._replay(user_id, key, fingerprint)
            # Tickets are only held by payments in flight. Wait for those payments (they
            # are over by their deadline), holding no lock and no connection, and try again.
            # Negative once the payments are past their deadline.
            settled_within_s = row["settled_within_s"] or 0.0
            if deadline is None:
                deadline = loop.time() + max(0.0, settled_within_s + SETTLE_GRACE_S)
            remaining = deadline - loop.time()
            if remaining <= 0:
                # Held past the payments' deadline (their process may have died): the
                # reaper gives them back when they expire; say when to look again.
                retry = settled_within_s if settled_within_s > 0 else row["first_expiry_s"]
                return BookingResult(
                    BookingOutcome.ALL_HELD,
                    retry_after_s=max(1, math.ceil(retry or 1)),
                    taken_seats=tuple(row["taken_seats"] or ()),
                )
            HELD_WAITS.inc()
            await self.releases.wait(tier_id, min(remaining, RECHECK_HELD_S))

        HOLDS_CREATED.inc()
        if row["total_cents"] == 0:
            # Free tickets: nothing to charge, so the provider is not asked.
            charge = ChargeResult(ChargeOutcome.SUCCEEDED)
            PAYMENTS.labels("free").inc()
        else:
            # The hold is committed: no lock or transaction is open while the provider works.
            charge = await self._charge(payment_key, row["total_cents"], row["currency"])
        return await self._settle(row, payment_key, charge, user_id, key, fingerprint)

    async def _hold(
        self,
        user_id: uuid.UUID,
        ask: HoldRequest,
        key: uuid.UUID,
        fingerprint: str,
        payment_key: uuid.UUID,
        buckets: Buckets,
    ) -> asyncpg.Record:
        arguments = (
            ask.tier_id,
            ask.quantity,
            user_id,
            key,
            fingerprint,
            self.hold_seconds,
            payment_key,
            self.max_tickets_per_concert,
            self.payment_timeout_s,
        )
        try:
            if ask.seats:
                row: asyncpg.Record | None = await self.db.fetchrow(
                    seat_queries.NAMED_HOLD_SQL, *arguments, *buckets.arguments(), list(ask.seats)
                )
                assert row is not None
                return row
            if ask.section is not None or ask.tier_id in self.seated_tiers:
                # The engine looks again when every fitting block was locked (CONTENDED).
                row = await self.db.fetchrow(
                    seat_queries.BEST_HOLD_SQL, *arguments, *buckets.arguments(), ask.section
                )
                assert row is not None
                return row
            row = await self.db.fetchrow(queries.HOLD_SQL, *arguments, *buckets.arguments())
            assert row is not None
            if row["contended"]:
                # A split tier whose every slot with enough was locked: lock them all, in
                # order, and take across them (queries.py says why it is a second statement).
                # The first statement counted the request already.
                row = await self.db.fetchrow(
                    queries.LOCKED_HOLD_SQL, *arguments, *NO_BUCKETS.arguments()
                )
        except asyncpg.ForeignKeyViolationError:
            # A validly signed token for a user that no longer exists (e.g. after a reset).
            raise Unauthenticated("Your session is no longer valid; sign in again") from None
        assert row is not None
        return row

    async def _charge(self, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        result = await self._call_gateway(key, amount_cents, currency)
        PAYMENTS.labels(result.outcome.value.lower()).inc()
        return result

    async def _call_gateway(self, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        try:
            async with asyncio.timeout(self.payment_timeout_s):
                return await self.gateway.charge(
                    key=key, amount_cents=amount_cents, currency=currency
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
        charge: ChargeResult,
        user_id: uuid.UUID,
        key: uuid.UUID,
        fingerprint: str,
    ) -> BookingResult:
        booking = booking_wire(row)
        # A guest's sign-in moving this booking into an account at this very moment can
        # deadlock with the confirming statement's ticket trigger (docs/tickets.md, "Known
        # limits"); PostgreSQL then aborts the settle, which changed nothing, and run again
        # after the sign-in it settles the booking, now the account's.
        settled_row = await retry_deadlocked(
            lambda: self.db.fetchrow(
                queries.SETTLE_SQL,
                row["id"],
                row["payment_id"],
                charge.paid,
                charge.outcome.value,
                charge.provider_reference,
                charge.failure_reason,
                booking,
                acquire_timeout_s=self.settle_acquire_timeout_s,
            )
        )
        assert settled_row is not None  # the statement always answers one row
        if settled_row["status"] is not None:
            # Tickets came back, or (confirmed) stopped being merely held: either way the
            # requests waiting for them may now have their answer. Before the refund call
            # below, which takes a provider round trip they need not wait for.
            self.releases.released(row["tier_id"], row["quantity"])
        if settled_row["refund_id"] is not None:
            # Money may have been taken for a booking that is not confirmed: the settle owed
            # it back; ask for it now (the refunder asks again if this fails).
            await self.refunds.attempt(settled_row["refund_id"])
        if settled_row["status"] is None:
            # The reaper expired this hold first; it also answered the idempotency key.
            return await self._replay(user_id, key, fingerprint)
        outcome = OUTCOME_OF_STATUS[BookingStatus(settled_row["status"])]
        if outcome is BookingOutcome.EXPIRED:
            HOLDS_EXPIRED.labels("settle").inc()
        return BookingResult(
            outcome,
            Booking.model_validate(
                {**booking, "status": settled_row["status"], "updatedAt": settled_row["updated_at"]}
            ),
            charge.failure_reason if outcome is BookingOutcome.DECLINED else None,
        )

    async def stored_result(
        self,
        *,
        user_id: uuid.UUID,
        tier_id: uuid.UUID,
        quantity: int,
        key: uuid.UUID,
        seats: tuple[str, ...] = (),
        section: str | None = None,
    ) -> BookingResult:
        """What a booking's key answers now, read-only: for waiting on a request in flight
        without taking the tier's lock again."""
        ask = HoldRequest(tier_id, quantity, seats, section)
        return await self._replay(user_id, key, ask.fingerprint)

    async def _replay(self, user_id: uuid.UUID, key: uuid.UUID, fingerprint: str) -> BookingResult:
        stored = await self.db.fetchrow(queries.FIND_KEY_SQL, user_id, key)
        if stored is None:  # pragma: no cover - the key row is never deleted while in use
            return BookingResult(BookingOutcome.IN_PROGRESS)
        if stored["fingerprint"] != fingerprint:
            return BookingResult(BookingOutcome.KEY_REUSED)
        if stored["outcome"] is None:
            return BookingResult(BookingOutcome.IN_PROGRESS)
        snapshot = stored["booking_snapshot"]
        return BookingResult(
            BookingOutcome(stored["outcome"]),
            Booking.model_validate(snapshot) if snapshot is not None else None,
            stored["failure_reason"],
        )

    async def list_for_user_wire(self, user_id: uuid.UUID) -> list[dict[str, Any]]:
        """The user's bookings, newest first, with their concert and tier, in the API's JSON
        shape (built without models: a fan may have hundreds)."""
        rows = await self.db.fetch(queries.LIST_FOR_USER_SQL, user_id, MAX_LISTED_BOOKINGS)
        return [booking_details_wire(r) for r in rows]

    async def list_for_user(self, user_id: uuid.UUID) -> list[BookingWithDetails]:
        wire = await self.list_for_user_wire(user_id)
        return [BookingWithDetails.model_validate(b) for b in wire]

    async def cancel(self, *, user_id: uuid.UUID, booking_id: uuid.UUID) -> Booking:
        released = await self.db.fetchrow(queries.CANCEL_SQL, booking_id, user_id)
        booking = await self.db.fetchrow(queries.GET_BOOKING_SQL, booking_id)
        if booking is None:
            raise NotFound("Booking not found")
        if booking["user_id"] != user_id:
            raise Forbidden("This booking belongs to someone else")
        if released is not None:
            self.releases.released(booking["tier_id"], booking["quantity"])
            if released["refund_id"] is not None:
                # Owed in the cancel's own statement; the refunder asks again if this fails.
                await self.refunds.attempt(released["refund_id"])
        elif booking["status"] == BookingStatus.CANCELLED:
            pass  # cancelled already: the same answer again
        elif booking["status"] == BookingStatus.CONFIRMED and booking["concert_started"]:
            raise ConcertStarted(
                "This concert has already started, so its bookings can no longer be "
                "cancelled or refunded"
            )
        else:
            raise Conflict(
                f"Only confirmed bookings can be cancelled; this one is {booking['status']}"
            )
        return render_booking(booking)
