"""The schema's single source of truth. Alembic migrations are checked against it by a test.

Runtime queries use asyncpg with hand-written SQL (see the services); these models define tables,
constraints and indexes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ticketbook.booking.outcomes import STORED_OUTCOMES
from ticketbook.booking.stock import MAX_STOCK_SLOTS
from ticketbook.domain.enums import (
    LIVE_BOOKING_STATUSES,
    MAX_TICKETS_PER_BOOKING,
    BookingStatus,
    EmailKind,
    PaymentStatus,
    RefundStatus,
    Role,
    ScanOutcome,
    SessionKind,
    TicketRevocation,
    TierType,
    sql_list,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: Iterable[StrEnum]) -> str:
    return f"{column} IN ({sql_list(values)})"


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=text("now()"))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", Role), name="role_valid"),
        # A guest has no credentials; an account (fan, organizer) has both.
        CheckConstraint(
            f"(role = '{Role.GUEST}') = (email IS NULL) "
            "AND (email IS NULL) = (password_hash IS NULL)",
            name="account_has_credentials",
        ),
        # Stored normalized (see auth/emails.py), so uniqueness is case-insensitive.
        CheckConstraint(
            "email = lower(email) AND length(email) BETWEEN 3 AND 254", name="email_normalized"
        ),
        UniqueConstraint("email"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    role: Mapped[str] = mapped_column(Text, nullable=False, server_default=text(f"'{Role.GUEST}'"))
    email: Mapped[str | None] = mapped_column(Text)
    # argon2id, in the PHC string format (parameters and salt included).
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class AuthSession(Base):
    """A signed-in session: an API bearer token or a page cookie. Only its SHA-256 is kept, so
    a leaked table grants nothing; logging out sets revoked_at."""

    __tablename__ = "auth_sessions"
    __table_args__ = (
        CheckConstraint(_in("kind", SessionKind), name="kind_valid"),
        CheckConstraint("length(token_hash) = 32", name="token_hash_sha256"),
        UniqueConstraint("token_hash"),
        Index("ix_auth_sessions_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateLimitBucket(Base):
    """Windowed request counters shared by every worker and host. UNLOGGED: counters are
    worth no WAL, and losing them in a crash only resets the windows."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = (
        CheckConstraint("hits >= 0", name="hits_not_negative"),
        {"prefixes": ["UNLOGGED"]},
    )

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)
    # A window opens at a bucket's first request and lasts the rule's length.
    window_ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    hits: Mapped[int] = mapped_column(Integer, nullable=False)


class Concert(Base):
    __tablename__ = "concerts"
    __table_args__ = (
        CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint("length(timezone) BETWEEN 1 AND 64", name="timezone_length"),
        Index("ix_concerts_starts_at", "starts_at"),
        Index("ix_concerts_organizer_id", "organizer_id"),
        CheckConstraint("ticket_key_version > 0", name="ticket_key_version_positive"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    artist: Mapped[str] = mapped_column(Text, nullable=False)
    venue: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The venue's IANA time zone ("America/New_York"): pages show the concert's time in it.
    timezone: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'UTC'"))
    # The organizer who created it and alone sees its sales (NULL for the demo concerts).
    organizer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id")
    )
    # Its seating layout, when it sells reserved seats (`concert_seats` holds them).
    layout_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("venue_layouts.id")
    )
    # Which of its derived Ed25519 keys signs its tickets (tickets/keys.py); rotating the key
    # raises it, and every code signed under an older one stops admitting.
    ticket_key_version: Mapped[int] = mapped_column(
        SmallInteger, nullable=False, server_default=text("1")
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class VenueLayout(Base):
    """A venue's seating layout: sections, rows and seats (docs/seating.md's format)."""

    __tablename__ = "venue_layouts"
    __table_args__ = (
        CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint("seat_count > 0", name="has_seats"),
        CheckConstraint("version > 0", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    # The organizer who made it (NULL for the demo's).
    organizer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id")
    )
    # The layout with every seat explicit (`seating.layout.layout_document`).
    document: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    seat_count: Mapped[int] = mapped_column(Integer, nullable=False)
    # Goes up by one on every replacement: the layout's ETag.
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class TicketTier(Base):
    __tablename__ = "ticket_tiers"
    __table_args__ = (
        CheckConstraint(_in("tier_type", TierType), name="tier_type_valid"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint("total_quantity >= 0", name="total_not_negative"),
        CheckConstraint(f"stock_slots BETWEEN 1 AND {MAX_STOCK_SLOTS}", name="stock_slots_range"),
        # A seated tier is one price zone of the concert's layout; its free tickets are
        # free seats, taken from one stock row (migration 0006).
        CheckConstraint(
            f"(tier_type = '{TierType.SEATED}') = (zone IS NOT NULL AND zone_name IS NOT NULL)",
            name="seated_has_zone",
        ),
        CheckConstraint(
            f"tier_type <> '{TierType.SEATED}' OR stock_slots = 1", name="seated_one_slot"
        ),
        # One tier per type for general admission, one per zone for seats.
        Index(
            "uq_ticket_tiers_concert_id_tier_type",
            "concert_id",
            "tier_type",
            unique=True,
            postgresql_where=text("zone IS NULL"),
        ),
        Index(
            "uq_ticket_tiers_concert_id_zone",
            "concert_id",
            "zone",
            unique=True,
            postgresql_where=text("zone IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id", ondelete="CASCADE"), nullable=False
    )
    tier_type: Mapped[str] = mapped_column(Text, nullable=False)
    price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total_quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    # How many `tier_stock` rows its free tickets are spread over (migration 0005). What is
    # free is `available_quantity(ticket_tiers)`, a SQL function: `t.available_quantity`.
    stock_slots: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("1"))
    # SEATED tiers: the layout's price zone (key and name) whose seats this tier sells.
    zone: Mapped[str | None] = mapped_column(Text)
    zone_name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class TierStock(Base):
    """A tier's free tickets, spread over slots so holds on one tier need not queue on one
    row's lock. Rows are made by a trigger when the tier is, and never deleted."""

    __tablename__ = "tier_stock"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("slot >= 0", name="slot_not_negative"),
    )

    tier_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("ticket_tiers.id", ondelete="CASCADE"),
        primary_key=True,
    )
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    available: Mapped[int] = mapped_column(Integer, nullable=False)


class ConcertSeat(Base):
    """One seat of one concert, and who holds it. A seat is one row and its holder one
    column, so a seat can't be claimed twice at once; a trigger refuses to move a claim from
    one booking to another, and another refuses to let a booking stop being live while it
    still holds seats (migration 0006). Seats are claimed and released in the booking
    statements, in the same statement as the tier's stock."""

    __tablename__ = "concert_seats"
    __table_args__ = (
        UniqueConstraint("concert_id", "code"),
        CheckConstraint("ordinal >= 0", name="ordinal_not_negative"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        # Best available: free seats of a tier, row by row, in seat order.
        Index(
            "ix_concert_seats_free",
            "tier_id",
            "row_no",
            "position",
            postgresql_where=text("booking_id IS NULL"),
        ),
        # A booking's seats, when it is released.
        Index(
            "ix_concert_seats_booking_id",
            "booking_id",
            postgresql_where=text("booking_id IS NOT NULL"),
        ),
    )

    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id", ondelete="CASCADE"), primary_key=True
    )
    # The seat's index in its layout (the order of the seat-state encoding).
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Text, nullable=False)  # "section:row:seat"
    tier_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ticket_tiers.id", ondelete="CASCADE"), nullable=False
    )
    section: Mapped[str] = mapped_column(Text, nullable=False)
    # The row's index in the layout (rows of different sections never share one), and the
    # seat's index in it: seats whose positions differ by one sit side by side.
    row_no: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    # From the seat to the stage's centre, in map units: what "best" means.
    distance: Mapped[float] = mapped_column(Float, nullable=False)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id")
    )


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(f"quantity BETWEEN 1 AND {MAX_TICKETS_PER_BOOKING}", name="quantity_range"),
        CheckConstraint("unit_price_cents >= 0", name="unit_price_not_negative"),
        CheckConstraint("total_cents = unit_price_cents * quantity", name="total_matches"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint(_in("status", BookingStatus), name="status_valid"),
        CheckConstraint("seats IS NULL OR cardinality(seats) = quantity", name="seats_match"),
        # "My bookings": newest first for one user.
        Index("ix_bookings_user_id_created_at", "user_id", text("created_at DESC")),
        # The reaper scans only live holds, oldest expiry first.
        Index(
            "ix_bookings_pending_hold_expires_at",
            "hold_expires_at",
            postgresql_where=text(f"status = '{BookingStatus.PENDING}'"),
        ),
        # Doctor and sales reports sum live bookings per tier.
        Index("ix_bookings_tier_id_status", "tier_id", "status"),
        # The per-fan cap: tickets a user holds or owns for one concert, read inside the hold.
        Index(
            "ix_bookings_live_user_id_concert_id",
            "user_id",
            "concert_id",
            postgresql_include=["quantity"],
            postgresql_where=text(f"status IN ({sql_list(LIVE_BOOKING_STATUSES)})"),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id"), nullable=False
    )
    # Every table a booking touches carries concert_id, so the data can be sharded by concert.
    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id"), nullable=False
    )
    tier_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ticket_tiers.id"), nullable=False
    )
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    total_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    hold_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The idempotency key the client sent with the request that made it.
    idempotency_key: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # A seated booking's seat codes, as it was made (`concert_seats` says who holds a seat
    # now; this keeps what a cancelled or failed booking was for).
    seats: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint(_in("status", PaymentStatus), name="status_valid"),
        UniqueConstraint("provider_key"),
        Index("ix_payments_booking_id", "booking_id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    booking_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id"), nullable=False
    )
    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id"), nullable=False
    )
    amount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Our own key for the provider: fresh per attempt, never the client's idempotency key.
    provider_key: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    provider_reference: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class Refund(Base):
    """Money owed back: written in the same statement that makes it owed (a cancel, a payment
    that landed after the hold ran out, a hold the reaper expired), and retried by the
    refunder until the provider answers, so a crash or a failing provider loses nothing."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(_in("status", RefundStatus), name="status_valid"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        UniqueConstraint("payment_id"),
        # The refunder's scan: owed refunds, soonest due first.
        Index(
            "ix_refunds_pending_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text(f"status = '{RefundStatus.PENDING}'"),
        ),
        Index("ix_refunds_booking_id", "booking_id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    payment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payments.id"), nullable=False
    )
    booking_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id"), nullable=False
    )
    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id"), nullable=False
    )
    amount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = _created_at()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        CheckConstraint(_in("outcome", STORED_OUTCOMES), name="outcome_valid"),
        Index("ix_idempotency_keys_booking_id", "booking_id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id"), nullable=False
    )
    key: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    # Hash of what was asked; the same key with another payload is refused.
    fingerprint: Mapped[str] = mapped_column(Text, nullable=False)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id")
    )
    # What the first request came to (booking/outcomes.py); NULL while it is still running.
    outcome: Mapped[str | None] = mapped_column(Text)
    # The booking as it settled (its wire shape), for a replay to show exactly that again.
    booking_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Ticket(Base):
    """One admission of a confirmed booking (one per seat when seated), issued by a trigger in
    the statement that confirms the booking (migration 0007). Its code is signed on demand
    (tickets/codes.py), so nothing secret is stored. Cancelling the booking revokes its
    tickets in the same statement; a transfer revokes the ticket and issues a new one, for
    the new holder, carrying the same admission."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(
            f"admission BETWEEN 1 AND {MAX_TICKETS_PER_BOOKING}", name="admission_range"
        ),
        CheckConstraint(
            "holder_name IS NULL OR length(holder_name) BETWEEN 1 AND 100",
            name="holder_name_length",
        ),
        CheckConstraint(
            f"(revoked_at IS NULL) = (revoked_reason IS NULL) AND (revoked_reason IS NULL OR "
            f"{_in('revoked_reason', TicketRevocation)})",
            name="revocation_valid",
        ),
        # At most one live ticket per admission: the database's half of "one ticket, one entry".
        Index(
            "uq_tickets_live_admission",
            "booking_id",
            "admission",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
        # The scanner's list, and the revocation list, per concert.
        Index("ix_tickets_concert_id", "concert_id"),
        # "My tickets", transfers included.
        Index("ix_tickets_holder_id", "holder_id"),
        Index("ix_tickets_booking_id", "booking_id"),
        # The ticket a ticket was given as (every ticket view joins it): at most one.
        Index("uq_tickets_transferred_from", "transferred_from", unique=True),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    booking_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id"), nullable=False
    )
    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id"), nullable=False
    )
    tier_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ticket_tiers.id"), nullable=False
    )
    # Which of the booking's tickets (1..quantity); a seated booking's admission n is its
    # n-th seat, `seat`.
    admission: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    seat: Mapped[str | None] = mapped_column(Text)
    holder_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id"), nullable=False
    )
    # The name door staff see (set by a transfer; else the holder's account is shown).
    holder_name: Mapped[str | None] = mapped_column(Text)
    transferred_from: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id")
    )
    created_at: Mapped[datetime] = _created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class Checkin(Base):
    """An admission let in at the door. Keyed by the admission, not the ticket, so a ticket
    transferred after entry (or its old code) can't let a second person in."""

    __tablename__ = "checkins"
    # A concert's entries, and each gate's running count (an index-only count per scan).
    __table_args__ = (Index("ix_checkins_concert_id_gate", "concert_id", "gate"),)

    booking_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id"), primary_key=True
    )
    admission: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id"), nullable=False
    )
    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id"), nullable=False
    )
    gate: Mapped[str] = mapped_column(Text, nullable=False)
    # The scan that let it in (checkin_scans.scan_id).
    scan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    # When the gate scanned it (a device's clock for a scan synced after the network was back).
    admitted_at: Mapped[datetime] = _created_at()


class CheckinScan(Base):
    """Every scan a gate made, online or synced from offline, with what it was answered:
    its id makes a retried or re-synced scan count once."""

    __tablename__ = "checkin_scans"
    __table_args__ = (
        CheckConstraint(_in("outcome", ScanOutcome), name="outcome_valid"),
        CheckConstraint("length(gate) BETWEEN 1 AND 64", name="gate_length"),
        Index("ix_checkin_scans_concert_id_gate", "concert_id", "gate"),
        Index("ix_checkin_scans_ticket_id", "ticket_id"),
    )

    scan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id"), nullable=False
    )
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id")
    )
    gate: Mapped[str] = mapped_column(Text, nullable=False)
    device: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    # What the device itself answered, for a scan made offline (NULL online).
    offline_outcome: Mapped[str | None] = mapped_column(Text)
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = _created_at()


class CheckinStaff(Base):
    """Door staff: an account an organizer let scan tickets for one concert."""

    __tablename__ = "checkin_staff"
    __table_args__ = (Index("ix_checkin_staff_user_id", "user_id"),)

    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    granted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    created_at: Mapped[datetime] = _created_at()


class TicketTransfer(Base):
    """The log of transfers: who gave which ticket to whom, and when."""

    __tablename__ = "ticket_transfers"
    __table_args__ = (
        Index("ix_ticket_transfers_from_user_id", "from_user_id"),
        Index("ix_ticket_transfers_concert_id", "concert_id"),
        # Who gave a ticket (the new holder's email): one transfer makes one ticket.
        Index("uq_ticket_transfers_to_ticket_id", "to_ticket_id", unique=True),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id"), nullable=False
    )
    from_ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id"), nullable=False
    )
    to_ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id"), nullable=False
    )
    from_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id"), nullable=False
    )
    to_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id"), nullable=False
    )
    created_at: Mapped[datetime] = _created_at()


class EmailOutbox(Base):
    """Mail to send: written in the statement that makes it due (a confirmation, a transfer),
    sent and retried by the mailer, so a booking never waits on SMTP and a mail server that
    is down loses nothing."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        CheckConstraint(_in("kind", EmailKind), name="kind_valid"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The mailer's scan: unsent mail, soonest due first.
        Index(
            "ix_email_outbox_unsent_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("sent_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    to_address: Mapped[str] = mapped_column(Text, nullable=False)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id")
    )
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id")
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = _created_at()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OnSaleRow(Base):
    """A concert's on-sale: when it opens, whether a waiting room protects it, the rate the
    queue is let in at, and the draw's secret seed (docs/queue.md)."""

    __tablename__ = "onsales"
    __table_args__ = (
        CheckConstraint("rate_per_minute > 0", name="rate_positive"),
        CheckConstraint("admission_window_s BETWEEN 60 AND 86400", name="window_range"),
        CheckConstraint("octet_length(seed) = 32", name="seed_length"),
        CheckConstraint("seed_hash = sha256(seed)", name="seed_hash_matches"),
        # Drawn once, all of it: the time, the count of early joiners and the frontier's base.
        CheckConstraint(
            "(drawn_at IS NULL) = (early_count IS NULL) AND (drawn_at IS NULL) = "
            "(rate_base_at IS NULL)",
            name="draw_complete",
        ),
        CheckConstraint("early_count IS NULL OR early_count >= 0", name="early_not_negative"),
        # The public record's snapshot, taken at the draw: the early joiners' ids by position.
        CheckConstraint(
            "(drawn_at IS NULL) = (draw_order IS NULL) AND "
            "(draw_order IS NULL OR cardinality(draw_order) = early_count)",
            name="order_recorded",
        ),
        CheckConstraint("next_position >= 1", name="next_position_positive"),
        CheckConstraint(
            "rate_base_count >= 0 AND rate_base_count <= next_position", name="base_in_range"
        ),
    )

    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concerts.id", ondelete="CASCADE"), primary_key=True
    )
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    protected: Mapped[bool] = mapped_column(Boolean, nullable=False)
    rate_per_minute: Mapped[int] = mapped_column(Integer, nullable=False)
    admission_window_s: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default=text("600")
    )
    # Drawn once when the on-sale is set, never changed; secret until the draw, its SHA-256
    # public from the start.
    seed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    seed_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    drawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    early_count: Mapped[int | None] = mapped_column(Integer)
    draw_order: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    # The position the next late arrival gets (early_count + 1 right after the draw).
    next_position: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    # The admission frontier: rate_base_count + (now - rate_base_at) * rate_per_minute / 60.
    rate_base_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rate_base_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class QueueEntry(Base):
    """A place in a concert's waiting room: one per identity (the primary key)."""

    __tablename__ = "queue_entries"
    __table_args__ = (
        CheckConstraint("join_id ~ '^[0-9a-f]{16}$'", name="join_id_format"),
        CheckConstraint("position IS NULL OR position >= 1", name="position_positive"),
        # Later arrivals get their position when they join; early ones at the draw.
        CheckConstraint("early OR position IS NOT NULL", name="late_has_position"),
        CheckConstraint("admitted_at IS NULL OR position IS NOT NULL", name="admitted_in_order"),
        UniqueConstraint("concert_id", "join_id"),
        UniqueConstraint("concert_id", "position"),
        Index("ix_queue_entries_user_id", "user_id"),
    )

    concert_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("onsales.concert_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    join_id: Mapped[str] = mapped_column(Text, nullable=False)
    joined_at: Mapped[datetime] = _created_at()
    early: Mapped[bool] = mapped_column(Boolean, nullable=False)
    position: Mapped[int | None] = mapped_column(Integer)
    admitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
