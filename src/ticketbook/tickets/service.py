"""Fans' tickets: what a holder sees (each ticket with its signed code), tickets given to
them, transfers, and key rotation. Both edges, the PDF and the mail outbox read through this.

Who sees what: a booking's tickets page shows, per admission, the latest ticket the viewer
holds or held. The code is shown only on a ticket that is still the viewer's: a ticket given
away shows as revoked ("transferred to ..."), so its old holder never learns the new code. A
booking's owner with no tickets (not confirmed yet) sees an empty list; anyone else gets
NotFound, as for any booking that isn't theirs. Codes are signed on demand with the concert's
current key version, so a rotated key shows up everywhere at once. The SQL is in
``tickets/queries.py``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from ticketbook.auth.emails import normalize_email
from ticketbook.auth.identity import Identity
from ticketbook.auth.tokens import TokenSigner
from ticketbook.db.pool import Database
from ticketbook.domain.enums import BookingStatus, TicketRevocation, TierType
from ticketbook.domain.errors import (
    ConcertStarted,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from ticketbook.domain.labels import reference, seat_label, tier_name, venue_time
from ticketbook.ratelimit.limiter import RateLimiter
from ticketbook.tickets import qr, queries
from ticketbook.tickets.keys import TicketKeys

log = logging.getLogger(__name__)

MAX_HOLDER_NAME = 100
# Stored as a new recipient's password hash: no argon2 hash looks like this, so no password
# ever matches it (verify_password answers False), and it satisfies the users CHECK that an
# email comes with a hash. The random tail keeps two such rows from looking alike.
UNUSABLE_PASSWORD_PREFIX = "!transfer-recipient:"


class TicketStatus(StrEnum):
    VALID = "valid"  # admits once at the door
    USED = "used"  # its admission is checked in
    REVOKED = "revoked"  # cancelled, or given to someone else


class TicketRevoked(Conflict):
    code = "TICKET_REVOKED"


class TicketUsed(Conflict):
    code = "TICKET_USED"


class AccountRequired(Forbidden):
    code = "ACCOUNT_REQUIRED"


@dataclass(frozen=True)
class TicketView:
    """One ticket as its holder sees it."""

    id: uuid.UUID
    booking_id: uuid.UUID
    concert_id: uuid.UUID
    tier_id: uuid.UUID
    admission: int
    concert_name: str
    artist: str
    venue: str
    starts_at: datetime
    timezone: str
    tier_type: TierType
    tier_name: str
    seat: str | None  # the seat's code ("SC:F:12")
    seat_label: str | None  # "Stalls Centre, row F, seat 12"
    holder_id: uuid.UUID
    holder_name: str | None
    holder_email: str | None
    owner_id: uuid.UUID
    status: TicketStatus
    revoked_reason: TicketRevocation | None
    transferred_to: str | None  # the name (else email) it was given to
    used_at: datetime | None
    used_gate: str | None
    code: str | None  # None once revoked: a revoked code admits nobody

    @property
    def holder(self) -> str:
        return self.holder_name or self.holder_email or "Guest"

    @property
    def venue_time(self) -> str:
        """'Wed 23 Dec 2026 · 19:30 EST': the doors' local time."""
        return venue_time(self.starts_at, self.timezone)

    @property
    def reference(self) -> str:
        return reference(self.booking_id)

    @property
    def place(self) -> str:
        """The seat, else the tier: what a steward reads."""
        return self.seat_label or self.tier_name


@dataclass(frozen=True)
class BookingTickets:
    booking_id: uuid.UUID
    owner_id: uuid.UUID
    booking_status: BookingStatus
    tickets: list[TicketView]

    @property
    def reference(self) -> str:
        return reference(self.booking_id)


@dataclass(frozen=True)
class Transferred:
    transfer_id: uuid.UUID
    from_ticket_id: uuid.UUID
    to_ticket_id: uuid.UUID
    to_user_id: uuid.UUID
    email: str
    name: str
    # The recipient had no account: one was made for that email (docs/tickets.md).
    account_created: bool


@dataclass(frozen=True)
class Tickets:
    db: Database
    keys: TicketKeys
    signer: TokenSigner
    # Counts transfers per account and address (None: no limits, the CLI).
    limiter: RateLimiter | None = None

    # -- reading ---------------------------------------------------------------------------

    async def for_booking(self, booking_id: uuid.UUID, viewer: uuid.UUID) -> BookingTickets:
        """The booking's tickets ``viewer`` holds or held; NotFound unless the viewer owns
        the booking or holds one of its tickets."""
        rows = await self.db.fetch(queries.TICKETS_OF_BOOKING_SQL, booking_id, viewer)
        booking = await self.db.fetchrow(queries.BOOKING_OWNER_SQL, booking_id)
        if booking is None or (not rows and booking["user_id"] != viewer):
            raise NotFound("Booking not found")
        return BookingTickets(
            booking_id,
            booking["user_id"],
            BookingStatus(booking["status"]),
            [self._view(r) for r in rows],
        )

    async def ticket(self, ticket_id: uuid.UUID) -> TicketView | None:
        row = await self.db.fetchrow(queries.TICKET_SQL, ticket_id)
        return self._view(row) if row is not None else None

    async def received(self, user_id: uuid.UUID) -> list[TicketView]:
        """Live tickets others gave this user (in bookings that aren't theirs)."""
        rows = await self.db.fetch(queries.RECEIVED_TICKETS_SQL, user_id)
        return [self._view(r) for r in rows]

    # -- the emailed link ------------------------------------------------------------------

    def link_key(self, ticket_id: uuid.UUID) -> str:
        """The key of a ticket's emailed link (/tickets/{id}?key=...): a MAC of its id, so
        the link shows that one ticket to whoever has the email, and nothing else."""
        return self.signer.mac("ticket-link", ticket_id.hex)

    async def by_link(self, ticket_id: uuid.UUID, key: str | None) -> TicketView:
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
        if key is None or not hmac.compare_digest(
            key.encode(errors="surrogatepass"), self.link_key(ticket_id).encode()
        ):
            raise NotFound("Ticket not found")
        found = await self.ticket(ticket_id)
        if found is None:
            raise NotFound("Ticket not found")
        return found

    # -- transfers -------------------------------------------------------------------------

    async def transfer(
        self,
        *,
        ticket_id: uuid.UUID,
        sender: Identity,
        email: str,
        name: str,
        address: str | None,
    ) -> Transferred:
        """Give a ticket to the account of ``email`` (made when there is none), in one
        transaction: the old ticket is revoked (its code answers REVOKED at the door from
        now on), a new one carries the admission for the new holder, the transfer is logged
        and its email queued. Only the ticket's holder, signed in to an account, may."""
        if sender.is_guest:
            raise AccountRequired(
                "Create an account or sign in to transfer tickets: a transfer is made by, "
                "and sent to, an account with an email address"
            )
        recipient_email = normalize_email(email)
        holder_name = _holder_name(name)
        if sender.email is not None and recipient_email == sender.email:
            raise InvalidInput("That is your own email: enter the new holder's")
        if self.limiter is not None:
            try:
                await self.limiter.hit("transfer", account=str(sender.user_id), address=address)
            except DomainError:
                log.warning(
                    "ticket transfer refused: rate limited",
                    extra={"ticket_id": str(ticket_id), "user_id": str(sender.user_id)},
                )
                raise
        unusable = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(24)
        async with self.db.connection() as conn, conn.transaction():
            booking = await conn.fetchrow(queries.LOCK_BOOKING_SQL, ticket_id)
            ticket = await conn.fetchrow(queries.LOCK_TICKET_SQL, ticket_id)
            # Someone else's ticket is one that isn't there, as for bookings.
            if booking is None or ticket is None or ticket["holder_id"] != sender.user_id:
                raise NotFound("Ticket not found")
            if ticket["revoked_at"] is not None:
                raise TicketRevoked("This ticket is no longer valid, so it can't be transferred")
            checked_in = await conn.fetchval(
                queries.CHECKED_IN_SQL, ticket["booking_id"], ticket["admission"]
            )
            if checked_in:
                raise TicketUsed("This ticket has been checked in; it can't be transferred")
            if ticket["concert_started"]:
                # Scanners hold the ticket list from before the doors opened (offline).
                raise ConcertStarted("This concert has started: its tickets can't be transferred")
            recipient = await _recipient(conn, recipient_email, unusable)
            if recipient["id"] == sender.user_id:
                raise InvalidInput("That is your own email: enter the new holder's")
            new_id: uuid.UUID = await conn.fetchval(
                queries.TRANSFER_SQL, ticket_id, recipient["id"], holder_name
            )
            transfer_id: uuid.UUID = await conn.fetchval(
                queries.LOG_TRANSFER_SQL,
                ticket["concert_id"],
                ticket_id,
                new_id,
                sender.user_id,
                recipient["id"],
            )
            await conn.execute(
                queries.QUEUE_TRANSFER_MAIL_SQL, recipient_email, ticket["booking_id"], new_id
            )
        log.info(
            "ticket transferred",
            extra={
                "transfer_id": str(transfer_id),
                "from_ticket_id": str(ticket_id),
                "to_ticket_id": str(new_id),
                "from_user_id": str(sender.user_id),
                "to_user_id": str(recipient["id"]),
                "account_created": recipient["created"],
            },
        )
        return Transferred(
            transfer_id,
            ticket_id,
            new_id,
            recipient["id"],
            recipient_email,
            holder_name,
            recipient["created"],
        )

    # -- how a row reads -------------------------------------------------------------------

    def _view(self, row: asyncpg.Record) -> TicketView:
        revoked = row["revoked_at"] is not None
        status = (
            TicketStatus.REVOKED
            if revoked
            else TicketStatus.USED
            if row["admitted_at"] is not None
            else TicketStatus.VALID
        )
        tier_type = TierType(row["tier_type"])
        # A ticket given away: when and where its admission went in is the new holder's.
        given_away = revoked and row["revoked_reason"] == TicketRevocation.TRANSFERRED
        code = (
            None
            if revoked
            else self.keys.code(
                concert_id=row["concert_id"],
                key_version=row["ticket_key_version"],
                ticket_id=row["id"],
                tier_id=row["tier_id"],
                seat=row["seat"],
            )
        )
        return TicketView(
            id=row["id"],
            booking_id=row["booking_id"],
            concert_id=row["concert_id"],
            tier_id=row["tier_id"],
            admission=row["admission"],
            concert_name=row["concert_name"],
            artist=row["artist"],
            venue=row["venue"],
            starts_at=row["starts_at"],
            timezone=row["timezone"],
            tier_type=tier_type,
            tier_name=tier_name(tier_type, row["zone_name"]),
            seat=row["seat"],
            seat_label=seat_label(row["seat"], row["section_name"]) if row["seat"] else None,
            holder_id=row["holder_id"],
            holder_name=row["holder_name"],
            holder_email=row["holder_email"],
            owner_id=row["owner_id"],
            status=status,
            revoked_reason=TicketRevocation(row["revoked_reason"]) if revoked else None,
            transferred_to=row["transferred_to_name"] or row["transferred_to_email"],
            used_at=None if given_away else row["admitted_at"],
            used_gate=None if given_away else row["admitted_gate"],
            code=code,
        )


def qr_svg(ticket: TicketView) -> str | None:
    """The ticket's QR code as inline SVG, named for screen readers ("QR code of ticket 2:
    Stalls, row F, seat 12"); None without a code (revoked)."""
    if ticket.code is None:
        return None
    return qr.svg(ticket.code, f"QR code of ticket {ticket.admission}: {ticket.place}")


def _holder_name(raw: str) -> str:
    name = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not 1 <= len(name) <= MAX_HOLDER_NAME:
        raise InvalidInput(f"Enter the new holder's name (1 to {MAX_HOLDER_NAME} characters)")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput("The name can't contain control characters")
    return name


async def _recipient(conn: asyncpg.Connection, email: str, unusable: str) -> asyncpg.Record:
    """The account of ``email``, made when there is none. A second try covers the account
    made by a concurrent transfer to the same new address (its row wasn't in our snapshot)."""
    for _ in range(2):
        row = await conn.fetchrow(queries.RECIPIENT_SQL, email, unusable)
        if row is not None:
            return row
    raise Conflict("That account is being created right now; try again")


async def rotate_key(db: Database, concert_id: uuid.UUID) -> int:
    """Raise the concert's ticket key version by one; the new version. Every code signed
    under an older version stops admitting; pages and emails sign with the new one."""
    version: int | None = await db.fetchval(queries.ROTATE_KEY_SQL, concert_id)
    if version is None:
        raise NotFound("Concert not found")
    return version
