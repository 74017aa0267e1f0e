"""The one set of types shared by the API, the pages and the Python client.

Field names are snake_case in Python and camelCase on the wire, as in the brief's API.
"""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from ticketbook.domain.enums import (
    MAX_TICKETS_PER_BOOKING,
    BookingPaymentStatus,
    BookingStatus,
    Role,
    ScanOutcome,
    TierType,
)


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True, frozen=True
    )


def format_money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class TicketTier(ApiModel):
    id: uuid.UUID
    concert_id: uuid.UUID
    tier_type: TierType
    price_cents: int
    price: str = Field(description="Price in major units, e.g. '100.00'")
    currency: str
    total_quantity: int
    available_quantity: int
    zone: str | None = Field(
        default=None, description="SEATED tiers: the key of the price zone whose seats it sells"
    )
    zone_name: str | None = Field(default=None, description="SEATED tiers: the zone's name")
    created_at: datetime
    updated_at: datetime


class ConcertInfo(ApiModel):
    """A concert without its tiers (the brief's Concert entity)."""

    id: uuid.UUID
    name: str
    artist: str
    venue: str
    description: str
    date: datetime
    timezone: str = Field(description="The venue's IANA time zone, e.g. 'America/New_York'")
    created_at: datetime
    updated_at: datetime


class Concert(ConcertInfo):
    """A concert with its tiers and their live availability."""

    ticket_tiers: list[TicketTier]
    has_available_tickets: bool
    lowest_price_cents: int | None
    layout_id: uuid.UUID | None = Field(
        default=None,
        description="Reserved seating: the layout its SEATED tiers' seats are in "
        "(GET /api/concerts/{id}/seating)",
    )


class TierAvailability(ApiModel):
    tier_id: uuid.UUID
    tier_type: TierType
    available_quantity: int
    total_quantity: int
    price: str = Field(description="Price in major units, e.g. '100.00'")


class ConcertAvailability(ApiModel):
    """GET /api/concerts/{id}/availability: the live counts alone."""

    concert_id: uuid.UUID
    concert_name: str
    tiers: list[TierAvailability]


class Booking(ApiModel):
    id: uuid.UUID
    user_id: uuid.UUID
    concert_id: uuid.UUID
    concert_name: str
    ticket_tier_id: uuid.UUID
    tier_type: TierType
    quantity: int
    unit_price_cents: int
    total_cents: int
    total_price: str
    currency: str
    status: BookingStatus
    idempotency_key: uuid.UUID | None = Field(
        description="The idempotency key sent with the request that made it"
    )
    hold_expires_at: datetime
    created_at: datetime
    updated_at: datetime
    seats: list[str] | None = Field(
        default=None,
        description="Reserved seats: the codes (section:row:seat) of the seats it is for",
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="The brief's payment status: PENDING while paying, SUCCESS once paid "
        "(also for a cancelled booking, whose refund follows), FAILED when not paid"
    )
    @property
    def payment_status(self) -> BookingPaymentStatus:
        return PAYMENT_STATUS_OF[self.status]


PAYMENT_STATUS_OF = {
    BookingStatus.PENDING: BookingPaymentStatus.PENDING,
    BookingStatus.CONFIRMED: BookingPaymentStatus.SUCCESS,
    BookingStatus.CANCELLED: BookingPaymentStatus.SUCCESS,
    BookingStatus.FAILED: BookingPaymentStatus.FAILED,
    BookingStatus.EXPIRED: BookingPaymentStatus.FAILED,
}


class BookingWithDetails(Booking):
    """A booking in "my bookings": with its concert and its tier (the brief's
    BookingWithDetails)."""

    concert: ConcertInfo
    ticket_tier: TicketTier


class BookingRequest(ApiModel):
    """Body of POST /api/bookings. Unknown fields are refused, quantity must be a JSON integer."""

    model_config = ConfigDict(extra="forbid")

    ticket_tier_id: Annotated[StrictStr, Field(max_length=64)]
    quantity: Annotated[
        StrictInt | None,
        Field(
            ge=1,
            le=MAX_TICKETS_PER_BOOKING,
            description="Tickets to book; with seatIds it may be left out (it is their count)",
        ),
    ] = None
    idempotency_key: Annotated[StrictStr | None, Field(max_length=64)] = None
    # The brief's clients send their userId; it must be the caller's own.
    user_id: Annotated[StrictStr | None, Field(max_length=64)] = None
    seat_ids: Annotated[
        list[Annotated[StrictStr, Field(min_length=1, max_length=50)]] | None,
        Field(
            min_length=1,
            max_length=MAX_TICKETS_PER_BOOKING,
            description="SEATED tiers: the seats to book, by code (section:row:seat), all of "
            "the tier's zone. Without them a seated tier books the best `quantity` seats side "
            "by side",
        ),
    ] = None
    section: Annotated[
        StrictStr | None,
        Field(
            min_length=1,
            max_length=16,
            description="SEATED tiers, best available: only in this section (its key)",
        ),
    ] = None

    @model_validator(mode="after")
    def _one_count(self) -> BookingRequest:
        seats = self.seat_ids
        if seats is None and self.quantity is None:
            raise ValueError("quantity is required (or seatIds, for named seats)")
        if seats is not None:
            if len(set(seats)) != len(seats):
                raise ValueError("seatIds names a seat more than once")
            if self.quantity is not None and self.quantity != len(seats):
                raise ValueError("quantity must be the number of seatIds (or left out)")
            if self.section is not None:
                raise ValueError("send seatIds or section, not both")
        return self

    @property
    def tickets(self) -> int:
        """How many tickets: the quantity, or the seats named."""
        if self.seat_ids is not None:
            return len(self.seat_ids)
        assert self.quantity is not None  # the validator's rule
        return self.quantity


T = TypeVar("T")


class ListEnvelope(ApiModel, Generic[T]):
    success: bool = True
    data: list[T]
    count: int


class ItemEnvelope(ApiModel, Generic[T]):
    success: bool = True
    data: T


class BookingEnvelope(ApiModel):
    success: bool
    booking: Booking | None = None
    message: str


class ErrorBody(ApiModel):
    success: Literal[False] = False
    error: str
    message: str
    details: Any | None = None


class GuestSession(ApiModel):
    user_id: uuid.UUID
    token: str


class Credentials(ApiModel):
    """Body of POST /api/auth/register and /api/auth/login."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[StrictStr, Field(min_length=1, max_length=320)]
    password: Annotated[StrictStr, Field(min_length=1, max_length=1024)]


class AccountSession(ApiModel):
    """A signed-in account and its bearer token (shown once; revoke it with logout)."""

    success: bool = True
    user_id: uuid.UUID
    email: str
    role: Role
    token: str
    expires_at: datetime
    moved_bookings: int = Field(
        0, description="Bookings a guest brought into the account it registered"
    )


class Me(ApiModel):
    success: bool = True
    user_id: uuid.UUID
    role: Role
    email: str | None


class Done(ApiModel):
    success: bool = True
    message: str


# The tier types an organizer lists with a new concert; SEATED tiers come from seating it
# on a layout (PUT /api/organizer/concerts/{id}/seating), one per price zone.
GeneralAdmissionType = Literal[TierType.VIP, TierType.FRONT_ROW, TierType.GA]


class NewTier(ApiModel):
    model_config = ConfigDict(extra="forbid")

    tier_type: GeneralAdmissionType
    price_cents: Annotated[StrictInt, Field(ge=0, le=100_000_000)]
    total_quantity: Annotated[StrictInt, Field(ge=1, le=1_000_000)]


class NewConcert(ApiModel):
    """Body of POST /api/concerts (organizers only)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    artist: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    venue: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    description: Annotated[StrictStr, Field(max_length=2000)] = ""
    date: datetime
    timezone: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=64,
            description="The venue's IANA time zone, e.g. 'America/New_York'; pages show "
            "the concert's date and time in it",
        ),
    ] = "UTC"
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    ticket_tiers: Annotated[list[NewTier], Field(min_length=1, max_length=3)]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zones = known_time_zones()
        if value in zones:
            return value
        close = next((z for z in zones if z.lower() == value.lower()), None)
        hint = f"did you mean '{close}'?" if close else "e.g. 'America/New_York' or 'UTC'"
        raise ValueError(f"'{value}' is not an IANA time zone name; {hint}")


@cache
def known_time_zones() -> frozenset[str]:
    """The IANA zone names this system's zone database has (read once: it scans files)."""
    return frozenset(zoneinfo.available_timezones())


class TierSales(ApiModel):
    tier_id: uuid.UUID
    tier_type: TierType
    price_cents: int
    total_quantity: int
    available_quantity: int
    held_quantity: int = Field(description="In PENDING bookings (being paid for)")
    sold_quantity: int = Field(description="In CONFIRMED bookings")
    revenue_cents: int
    currency: str


class ConcertSales(ApiModel):
    concert_id: uuid.UUID
    name: str
    date: datetime
    tiers: list[TierSales]
    sold_quantity: int
    revenue_cents: int


class Readiness(ApiModel):
    success: bool
    status: Literal["ready", "not_ready"]
    database: Literal["reachable", "unreachable"]
    schema_revision: str | None
    expected_revision: str


class Health(ApiModel):
    success: bool
    status: Literal["ok", "unavailable"]
    database: Literal["reachable", "unreachable"]


# -- reserved seating (docs/seating.md) ----------------------------------------------------


class SeatZone(ApiModel):
    """A price zone of a seated concert: the SEATED tier that sells its seats."""

    tier_id: uuid.UUID
    zone: str
    name: str
    price_cents: int
    price: str = Field(description="Price in major units, e.g. '75.00'")
    currency: str
    total_quantity: int
    available_quantity: int


class SeatingInfo(ApiModel):
    """GET /api/concerts/{id}/seating: where a seated concert's map and seat states are."""

    concert_id: uuid.UUID
    layout_id: uuid.UUID
    layout_version: int
    seat_count: int
    zones: list[SeatZone]
    layout_url: str = Field(description="The layout (docs/seating.md's format), with an ETag")
    states_url: str = Field(
        description="Every seat's state, 2 bits a seat in layout order (docs/seating.md)"
    )


class LayoutInfo(ApiModel):
    id: uuid.UUID
    name: str
    version: int
    seat_count: int
    sections: list[str] = Field(description="The sections' keys, in layout order")
    zones: list[str] = Field(description="The price zones' keys")


class SeatConcert(ApiModel):
    """Body of PUT /api/organizer/concerts/{id}/seating: the layout and a price per zone."""

    model_config = ConfigDict(extra="forbid")

    layout_id: Annotated[StrictStr, Field(max_length=64)]
    prices_cents: Annotated[
        dict[
            Annotated[StrictStr, Field(min_length=1, max_length=16)],
            Annotated[StrictInt, Field(ge=0, le=100_000_000)],
        ],
        Field(
            min_length=1,
            max_length=20,
            description="Price in cents per zone key; every zone with seats needs one",
        ),
    ]
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] = "USD"


# -- tickets (docs/tickets.md) --------------------------------------------------------------

TicketState = Literal["valid", "used", "revoked"]


class TicketInfo(ApiModel):
    """One ticket as its holder sees it, with its signed code."""

    id: uuid.UUID
    booking_id: uuid.UUID
    concert_id: uuid.UUID
    concert_name: str
    artist: str
    venue: str
    starts_at: datetime
    timezone: str = Field(description="The venue's IANA time zone")
    venue_time: str = Field(
        description="The start as the venue's clock shows it, e.g. 'Wed 23 Dec 2026 · 19:30 EST'"
    )
    admission: int = Field(description="Which of the booking's admissions it carries (1-10)")
    tier_type: TierType
    tier: str = Field(description="The tier's name: 'General admission', or a seat zone's")
    seat: str | None = Field(description="Reserved seats: the seat's code (section:row:seat)")
    seat_label: str | None = Field(description="The seat as a fan reads it")
    holder: str = Field(description="The holder: the name given at transfer, else the email")
    status: TicketState = Field(
        description="valid (admits once), used (checked in) or revoked (cancelled, or "
        "transferred: its code admits nobody)"
    )
    revoked_reason: Literal["cancelled", "transferred"] | None
    transferred_to: str | None = Field(description="Who a transferred ticket went to")
    used_at: datetime | None = Field(description="When its admission was checked in")
    code: str | None = Field(description="The signed code the QR code holds; null once revoked")
    qr_svg: str | None = Field(
        default=None, description="The QR code as an SVG document, when asked for (?qr=true)"
    )


class BookingTickets(ApiModel):
    """GET /api/bookings/{bookingId}/tickets: the tickets of the booking the caller holds."""

    success: bool = True
    booking_id: uuid.UUID
    booking_status: BookingStatus
    data: list[TicketInfo]
    count: int


class TransferRequest(ApiModel):
    """Body of POST /api/tickets/{ticketId}/transfer."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[StrictStr, Field(min_length=3, max_length=254)] = Field(
        description="The new holder's email: their account, made if there is none"
    )
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)] = Field(
        description="The new holder's name, printed on the ticket"
    )


class TransferResult(ApiModel):
    success: bool = True
    transfer_id: uuid.UUID
    from_ticket_id: uuid.UUID = Field(description="The old ticket: revoked from now on")
    to_ticket_id: uuid.UUID = Field(description="The new holder's ticket")
    email: str
    name: str
    message: str


# -- check-in at the door (docs/checkin.md) ------------------------------------------------

# A gate's name as door staff type it ("Gate 2", "North"); a device's, as the scanner sets it.
GateName = Annotated[StrictStr, Field(min_length=1, max_length=64)]
DeviceName = Annotated[StrictStr, Field(min_length=1, max_length=64)]
# Longer than any code of ours (the door answers INVALID for it), short enough to refuse 1 MB.
ScannedCode = Annotated[StrictStr, Field(min_length=1, max_length=512)]
# Inside a sync a code of any length is one scan's INVALID, not the whole batch's 400: one bad
# scan in a device's queue must not hold back the others (the 64 KiB body limit still holds).
SyncedCode = Annotated[StrictStr, Field(min_length=1)]
# Offline scans per sync: a hundred of the longest fit the server's 64 KiB body limit.
MAX_SYNC_SCANS = 100


def _printable(value: str, what: str) -> str:
    if not value.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{what} must be printable text")
    return value.strip()


class ScanRequest(ApiModel):
    """Body of POST /api/checkin: one code scanned at a gate."""

    model_config = ConfigDict(extra="forbid")

    concert_id: uuid.UUID
    code: ScannedCode
    gate: GateName
    scan_id: uuid.UUID = Field(
        description="Chosen by the scanner, one per scan: a retry with the same id gets the "
        "first answer and never a second entry"
    )
    device: DeviceName | None = None

    @field_validator("gate", "device")
    @classmethod
    def _printable_names(cls, value: str | None) -> str | None:
        return None if value is None else _printable(value, "gate and device")


class ScanTicket(ApiModel):
    """A ticket as door staff see it."""

    ticket_id: uuid.UUID
    seat: str | None = Field(description="The seat's code (section:row:seat), when seated")
    tier: str = Field(description="The tier type (VIP, FRONT_ROW, GA) or a seated zone's name")
    holder: str = Field(
        description="The holder's name, else their account's email masked (j***@example.com), "
        "else 'Guest'"
    )


class GateEntry(ApiModel):
    """Where and when an admission was let in (or scanned)."""

    gate: str
    at: datetime
    device: str | None


class ScanAnswer(ApiModel):
    """What the door answers for one scan; every outcome is a 200 (the scan happened)."""

    scan_id: uuid.UUID
    outcome: ScanOutcome
    message: str = Field(description="One short sentence for door staff")
    ticket: ScanTicket | None = Field(description="The ticket, once the code verified")
    first_admitted: GateEntry | None = Field(
        description="ALREADY_USED: the entry that let this admission in"
    )
    gate_count: int = Field(description="Admitted at this gate so far")


class OfflineScanBody(ApiModel):
    """One scan a device made and answered offline."""

    model_config = ConfigDict(extra="forbid")

    scan_id: uuid.UUID
    code: SyncedCode
    gate: GateName
    scanned_at: datetime = Field(description="The device's clock, with a UTC offset")
    offline_outcome: ScanOutcome = Field(description="What the device answered")

    @field_validator("gate")
    @classmethod
    def _printable_gate(cls, value: str) -> str:
        return _printable(value, "gate")


class SyncRequest(ApiModel):
    """Body of POST /api/checkin/{concertId}/sync."""

    model_config = ConfigDict(extra="forbid")

    device: DeviceName
    scans: Annotated[list[OfflineScanBody], Field(max_length=MAX_SYNC_SCANS)]

    @field_validator("device")
    @classmethod
    def _printable_device(cls, value: str) -> str:
        return _printable(value, "device")


class ConflictScan(GateEntry):
    """An offline scan a device answered ADMIT, and what the server recorded for it."""

    outcome: ScanOutcome = Field(description="The server's answer: ALREADY_USED, REVOKED, INVALID")


class CheckinConflict(ApiModel):
    """An admission (or a code) a device let in offline that the server refused: let in twice
    (ALREADY_USED), after a cancel or transfer it hadn't heard of (REVOKED), or INVALID."""

    ticket_id: uuid.UUID | None = Field(description="The ticket that carries the admission now")
    seat: str | None
    holder: str | None
    admitted: GateEntry | None = Field(
        description="The entry the server recorded (across devices the first synced wins, so "
        "it can be later than an alsoAdmitted scan); null when the admission is not in"
    )
    also_admitted: list[ConflictScan] = Field(
        description="Offline scans that let it in, and what the server said to each"
    )


class SyncAnswer(ApiModel):
    recorded: list[ScanAnswer] = Field(
        description="The server's answer for each scan sent, in the order they were scanned"
    )
    conflicts: list[CheckinConflict] = Field(
        description="Every conflict of the concert so far (not only this sync's)"
    )


class BundleTicket(ScanTicket):
    admission_key: str = Field(
        description="Opaque, the same for every ticket that carries one admission (a "
        "transfer's old and new codes): a device lets an admission in once, not a ticket"
    )


class BundleAdmission(ApiModel):
    ticket_id: uuid.UUID
    admission_key: str
    gate: str
    at: datetime


class CheckinBundle(ApiModel):
    """GET /api/checkin/{concertId}/bundle: what a scanner needs to decide offline."""

    concert_id: uuid.UUID
    concert_name: str
    starts_at: datetime
    timezone: str
    key_version: int
    public_key: str = Field(
        description="The concert's Ed25519 public key: its 32 raw bytes, base64url, no padding"
    )
    tickets: list[BundleTicket] = Field(description="Live tickets only")
    revoked: list[uuid.UUID] = Field(description="Revoked tickets' ids (cancelled, transferred)")
    admitted: list[BundleAdmission] = Field(description="Admissions in, by their live ticket")
    generated_at: datetime


class GateCounts(ApiModel):
    concert_id: uuid.UUID
    gates: dict[str, int] = Field(description="Admitted per gate")
    admitted: int = Field(description="Admitted at all gates")


class NewStaff(ApiModel):
    """Body of POST /api/organizer/concerts/{concertId}/staff."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[StrictStr, Field(min_length=1, max_length=320)]


class StaffMember(ApiModel):
    """An account with check-in rights for one concert."""

    user_id: uuid.UUID
    email: str
    granted_at: datetime
    granted_by: uuid.UUID | None = Field(description="NULL when granted with the CLI")


# -- the waiting room (docs/queue.md) ------------------------------------------------------

QueueState = Literal["not_protected", "not_joined", "waiting_for_draw", "waiting", "admitted"]


class OnSaleRequest(ApiModel):
    """Body of PUT /api/organizer/concerts/{concertId}/onsale."""

    model_config = ConfigDict(extra="forbid")

    opens_at: datetime = Field(description="When the draw happens and admission starts")
    protected: bool = Field(description="Whether booking needs an admission from the queue")
    rate_per_minute: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = Field(
        description="Visitors let in per minute"
    )
    admission_window_s: Annotated[StrictInt, Field(ge=60, le=86_400)] = Field(
        default=600, description="How long an admission lasts, in seconds"
    )

    @field_validator("opens_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must include a UTC offset, e.g. 2031-06-01T10:00:00Z")
        return value


class OnSale(ApiModel):
    """A concert's on-sale as its organizer set it (the seed itself stays secret)."""

    concert_id: uuid.UUID
    opens_at: datetime
    protected: bool
    rate_per_minute: int
    admission_window_s: int
    seed_hash: str = Field(description="SHA-256 of the draw's secret seed, hex")
    drawn_at: datetime | None
    early_count: int | None = Field(description="Joiners before the on-sale (after the draw)")
    queued: int = Field(description="Places handed out (positions), or joiners before the draw")


class Place(ApiModel):
    """A visitor's place in a concert's waiting room."""

    concert_id: uuid.UUID
    join_id: str = Field(description="The visitor's anonymised id in this queue's draw record")
    joined_at: datetime
    early: bool = Field(description="Joined before the on-sale: placed by the draw")
    position: int | None = Field(description="1 is first; null until the draw")


class QueueStatus(ApiModel):
    """Where a visitor stands: O(1) to compute, poll it (every few seconds)."""

    concert_id: uuid.UUID
    state: QueueState
    opens_at: datetime | None
    seed_hash: str | None = Field(description="SHA-256 of the draw's seed, hex")
    seed: str | None = Field(description="The draw's seed, hex: only after the draw")
    drawn_at: datetime | None
    join_id: str | None
    position: int | None
    ahead: int | None = Field(description="People before you not yet let in")
    admitted_through: int | None = Field(description="Positions let in so far")
    rate_per_minute: int | None
    estimated_wait_s: int | None
    admission_token: str | None = Field(
        description="Send as X-Queue-Admission when booking; null once expired"
    )
    admission_expires_at: datetime | None


class DrawRecord(ApiModel):
    """Everything needed to recompute a draw: anonymised, no account ids."""

    concert_id: uuid.UUID
    opens_at: datetime
    seed_hash: str
    drawn: bool
    seed: str | None = Field(description="Revealed at the draw")
    drawn_at: datetime | None
    early_count: int | None
    join_ids: list[str] = Field(description="The early joiners' ids, sorted (reveals no order)")
    order: list[str] = Field(description="The same ids by position, first first")
    algorithm: str = "ascending sha256(seed || join_id as ASCII), ties by join_id"
