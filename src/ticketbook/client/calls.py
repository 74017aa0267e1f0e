"""Every API request the client makes, described once, with no I/O.

A `Call` says what to send (method, path, JSON body, headers, whether it carries the bearer
token) and how to read the answer into the shared pydantic models of
`ticketbook.domain.schemas`, the ones the API is built with. `TicketBookClient` and
`AsyncTicketBookClient` only send calls; neither knows a route.

Reading an answer: the statuses a call expects give its model; any other status raises
`ApiError` (status, code, message from the API's error body, and Retry-After when sent).
Booking is the exception: every outcome of the booking itself is a `BookingAnswer`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ticketbook.domain.schemas import (
    AccountSession,
    Booking,
    BookingEnvelope,
    BookingTickets,
    BookingWithDetails,
    CheckinBundle,
    Concert,
    ConcertAvailability,
    ConcertSales,
    Credentials,
    Done,
    ErrorBody,
    GateCounts,
    GuestSession,
    Health,
    ItemEnvelope,
    ListEnvelope,
    Me,
    NewConcert,
    OfflineScanBody,
    Readiness,
    ScanAnswer,
    SeatingInfo,
    StaffMember,
    SyncAnswer,
    TransferRequest,
    TransferResult,
)
from ticketbook.seating.states import SeatState, decode_states

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# What POST /api/bookings answers about the booking itself: confirmed (200), payment failed
# or hold expired (402), unknown tier (404), not enough tickets, all held, concert started,
# the per-fan cap or the key still running (409), the key reused for another request (422).
# The rest (400 bad input, 401, 403, 415, 429, 5xx) never reached a booking: `ApiError`.
BOOKING_ANSWER_STATUSES = frozenset({200, 402, 404, 409, 422})


class ApiError(Exception):
    """An answer the call doesn't expect: a 4xx refusal or a 5xx, with the API's error code
    (``UNAUTHENTICATED``, ``FORBIDDEN``, ``NOT_FOUND``, ``RATE_LIMITED``...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        retry_after = retry_after_of(response)
        try:
            body = ErrorBody.model_validate_json(response.content)
        except ValidationError:
            # Not the API's error body (a proxy's page, a wrong base URL...): say what came.
            text = response.text.strip()[:200] or response.reason_phrase
            return cls(
                response.status_code, f"HTTP_{response.status_code}", text, retry_after=retry_after
            )
        return cls(
            response.status_code,
            body.error,
            body.message,
            details=body.details,
            retry_after=retry_after,
        )


def retry_after_of(response: httpx.Response) -> int | None:
    """The Retry-After header in seconds (the API only sends whole seconds)."""
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class BookingAnswer:
    """What POST /api/bookings said. ``booking`` is set when a booking was made (200
    CONFIRMED; 402 FAILED or EXPIRED, its tickets released); otherwise ``error`` is the
    refusal's code (``SOLD_OUT``, ``ALL_HELD``, ``TICKET_LIMIT_REACHED``,
    ``REQUEST_IN_PROGRESS``, ``IDEMPOTENCY_KEY_REUSED``, ``TIER_NOT_FOUND``...).
    ``key`` is the idempotency key sent: send it again to retry this same attempt."""

    status: int
    key: str
    message: str
    booking: Booking | None = None
    error: str | None = None
    retry_after: int | None = None
    # SEAT_TAKEN (and ALL_HELD for named seats): which seats, and the nearest free blocks.
    seats: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, ...], ...] = ()

    @property
    def confirmed(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to read its answer into a ``T``."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: bool = False  # carries the client's bearer token, when it has one
    signs_in: bool = False  # the answer's token becomes the client's
    signs_out: bool = False  # the client forgets its token


def read(response: httpx.Response, model: type[M], ok: Collection[int] = (200,)) -> M:
    """The answer as ``model`` when its status is one of ``ok``; otherwise `ApiError`."""
    if response.status_code not in ok:
        raise ApiError.from_response(response)
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise ApiError(
            response.status_code, "UNEXPECTED_BODY", f"not a {model.__name__}: {exc}"
        ) from exc


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise ApiError.from_response(response)
    return response


def read_booking(response: httpx.Response, key: str) -> BookingAnswer:
    """200 and 402 carry the booking that was made; the other booking answers its refusal."""
    status = response.status_code
    if status not in BOOKING_ANSWER_STATUSES:
        raise ApiError.from_response(response)
    retry_after = retry_after_of(response)
    if status in (200, 402):
        envelope = read(response, BookingEnvelope, ok=(status,))
        return BookingAnswer(
            status, key, envelope.message, booking=envelope.booking, retry_after=retry_after
        )
    error = read(response, ErrorBody, ok=(status,))
    details = error.details if isinstance(error.details, dict) else {}
    return BookingAnswer(
        status,
        key,
        error.message,
        error=error.error,
        retry_after=retry_after,
        seats=tuple(details.get("seats", ())),
        alternatives=tuple(tuple(a) for a in details.get("alternatives", ())),
    )


def _id(value: uuid.UUID | str) -> str:
    return str(value)


# -- health ------------------------------------------------------------------------------


def health() -> Call[Health]:
    """GET /api/health-check. A 503 is an answer too: ``Health(success=False, ...)``."""
    return Call("GET", "/api/health-check", lambda r: read(r, Health, ok=(200, 503)))


def ready() -> Call[Readiness]:
    """GET /api/ready (200 ready, 503 not ready: both answers)."""
    return Call("GET", "/api/ready", lambda r: read(r, Readiness, ok=(200, 503)))


# -- accounts ----------------------------------------------------------------------------


def guest() -> Call[GuestSession]:
    return Call("POST", "/api/auth/guest", lambda r: read(r, GuestSession), signs_in=True)


def _credentials(path: str, email: str, password: str, ok: int) -> Call[AccountSession]:
    # Not validated here: the API says what is wrong with a credential (400, with a hint).
    body = Credentials.model_construct(email=email, password=password).model_dump(mode="json")
    return Call(
        "POST",
        path,
        lambda r: read(r, AccountSession, ok=(ok,)),
        json=body,
        auth=True,  # a guest's token moves its bookings into the account
        signs_in=True,
    )


def register(email: str, password: str) -> Call[AccountSession]:
    return _credentials("/api/auth/register", email, password, ok=201)


def login(email: str, password: str) -> Call[AccountSession]:
    return _credentials("/api/auth/login", email, password, ok=200)


def logout() -> Call[Done]:
    return Call("POST", "/api/auth/logout", lambda r: read(r, Done), auth=True, signs_out=True)


def me() -> Call[Me]:
    return Call("GET", "/api/auth/me", lambda r: read(r, Me), auth=True)


# -- concerts ----------------------------------------------------------------------------


def concerts() -> Call[list[Concert]]:
    return Call("GET", "/api/concerts", lambda r: read(r, ListEnvelope[Concert]).data)


def concert(concert_id: uuid.UUID | str) -> Call[Concert]:
    return Call(
        "GET", f"/api/concerts/{_id(concert_id)}", lambda r: read(r, ItemEnvelope[Concert]).data
    )


def availability(concert_id: uuid.UUID | str) -> Call[ConcertAvailability]:
    return Call(
        "GET",
        f"/api/concerts/{_id(concert_id)}/availability",
        lambda r: read(r, ItemEnvelope[ConcertAvailability]).data,
    )


# -- bookings ----------------------------------------------------------------------------


def book(
    tier_id: uuid.UUID | str,
    quantity: int,
    key: uuid.UUID | str | None = None,
    *,
    seats: Sequence[str] | None = None,
    section: str | None = None,
) -> Call[BookingAnswer]:
    """POST /api/bookings with a fresh idempotency key unless ``key`` retries an attempt.
    A SEATED tier books the named ``seats`` (codes), or the best ``quantity`` side by side,
    in ``section`` if given."""
    key = str(key or uuid.uuid4())
    body: dict[str, Any] = {"ticketTierId": _id(tier_id), "quantity": quantity}
    if seats is not None:
        body["seatIds"] = list(seats)
    if section is not None:
        body["section"] = section
    return Call(
        "POST",
        "/api/bookings",
        lambda r: read_booking(r, key),
        json=body,
        headers={"Idempotency-Key": key},
        auth=True,
    )


def seating(concert_id: uuid.UUID | str) -> Call[SeatingInfo]:
    return Call(
        "GET",
        f"/api/concerts/{_id(concert_id)}/seating",
        lambda r: read(r, ItemEnvelope[SeatingInfo]).data,
    )


def seat_states(concert_id: uuid.UUID | str, count: int) -> Call[list[SeatState]]:
    """Every seat's state, in layout order (``count``: the seating's seatCount)."""
    return Call(
        "GET",
        f"/api/concerts/{_id(concert_id)}/seats/states",
        lambda r: decode_states(_ok(r).content, count),
    )


def my_bookings(user_id: uuid.UUID | str) -> Call[list[BookingWithDetails]]:
    return Call(
        "GET",
        f"/api/bookings/{_id(user_id)}",
        lambda r: read(r, ListEnvelope[BookingWithDetails]).data,
        auth=True,
    )


def _booking_of(response: httpx.Response) -> Booking:
    booking = read(response, BookingEnvelope).booking
    if booking is None:
        raise ApiError(response.status_code, "UNEXPECTED_BODY", "no booking in the answer")
    return booking


def cancel(booking_id: uuid.UUID | str) -> Call[Booking]:
    """POST /api/bookings/{id}/cancel: the booking, CANCELLED (409 CONFLICT unless it was
    confirmed or cancelled already)."""
    return Call("POST", f"/api/bookings/{_id(booking_id)}/cancel", _booking_of, auth=True)


# -- organizers --------------------------------------------------------------------------


def create_concert(new: NewConcert) -> Call[Concert]:
    return Call(
        "POST",
        "/api/concerts",
        lambda r: read(r, ItemEnvelope[Concert], ok=(201,)).data,
        json=new.model_dump(mode="json"),
        auth=True,
    )


def organizer_concerts() -> Call[list[ConcertSales]]:
    return Call(
        "GET",
        "/api/organizer/concerts",
        lambda r: read(r, ListEnvelope[ConcertSales]).data,
        auth=True,
    )


def sales(concert_id: uuid.UUID | str) -> Call[ConcertSales]:
    return Call(
        "GET",
        f"/api/organizer/concerts/{_id(concert_id)}/sales",
        lambda r: read(r, ItemEnvelope[ConcertSales]).data,
        auth=True,
    )


def _text(response: httpx.Response) -> str:
    if response.status_code != 200:
        raise ApiError.from_response(response)
    return response.text


def sales_csv(concert_id: uuid.UUID | str) -> Call[str]:
    """GET …/sales.csv: one row per paid booking, as text."""
    return Call("GET", f"/api/organizer/concerts/{_id(concert_id)}/sales.csv", _text, auth=True)


# -- tickets -----------------------------------------------------------------------------


def tickets(booking_id: uuid.UUID | str, *, qr: bool = False) -> Call[BookingTickets]:
    """GET /api/bookings/{id}/tickets: each ticket with its signed code, and with ``qr`` its
    QR code as SVG (a ticket given away is revoked, without a code)."""
    query = "?qr=true" if qr else ""
    return Call(
        "GET",
        f"/api/bookings/{_id(booking_id)}/tickets{query}",
        lambda r: read(r, BookingTickets),
        auth=True,
    )


def tickets_pdf(booking_id: uuid.UUID | str) -> Call[bytes]:
    """GET …/tickets.pdf: the same tickets as a PDF document, one per page."""
    return Call(
        "GET", f"/api/bookings/{_id(booking_id)}/tickets.pdf", lambda r: _ok(r).content, auth=True
    )


def transfer(ticket_id: uuid.UUID | str, email: str, name: str) -> Call[TransferResult]:
    """POST /api/tickets/{id}/transfer to someone by email (their account, made if there is
    none); the old code is revoked at once. Guests can't transfer (403)."""
    # Not validated here: the API says what is wrong with the email or the name (400).
    body = TransferRequest.model_construct(email=email, name=name).model_dump(mode="json")
    return Call(
        "POST",
        f"/api/tickets/{_id(ticket_id)}/transfer",
        lambda r: read(r, TransferResult),
        json=body,
        auth=True,
    )


# -- check-in ----------------------------------------------------------------------------


def scan(
    concert_id: uuid.UUID | str,
    code: str,
    gate: str,
    scan_id: uuid.UUID | str | None = None,
    *,
    device: str | None = None,
) -> Call[ScanAnswer]:
    """POST /api/checkin with a fresh scan id unless ``scan_id`` retries a scan. Every outcome
    (ADMIT, ALREADY_USED, REVOKED, INVALID, WRONG_EVENT) is a `ScanAnswer`; 403 unless door
    staff or the concert's organizer."""
    body: dict[str, Any] = {
        "concertId": _id(concert_id),
        "code": code,
        "gate": gate,
        "scanId": str(scan_id or uuid.uuid4()),
    }
    if device is not None:
        body["device"] = device
    return Call("POST", "/api/checkin", lambda r: read(r, ScanAnswer), json=body, auth=True)


def bundle(concert_id: uuid.UUID | str) -> Call[CheckinBundle]:
    """GET /api/checkin/{id}/bundle: what a scanner keeps to check codes offline."""
    return Call(
        "GET",
        f"/api/checkin/{_id(concert_id)}/bundle",
        lambda r: read(r, CheckinBundle),
        auth=True,
    )


def sync_scans(
    concert_id: uuid.UUID | str, device: str, scans: Sequence[OfflineScanBody]
) -> Call[SyncAnswer]:
    """POST /api/checkin/{id}/sync: the scans ``device`` made offline (at most 100 a call),
    answered, with every conflict of the concert so far."""
    body = {"device": device, "scans": [s.model_dump(mode="json") for s in scans]}
    return Call(
        "POST",
        f"/api/checkin/{_id(concert_id)}/sync",
        lambda r: read(r, SyncAnswer),
        json=body,
        auth=True,
    )


def gates(concert_id: uuid.UUID | str) -> Call[GateCounts]:
    return Call(
        "GET", f"/api/checkin/{_id(concert_id)}/gates", lambda r: read(r, GateCounts), auth=True
    )


# -- door staff (organizers) -------------------------------------------------------------


def grant_staff(concert_id: uuid.UUID | str, email: str) -> Call[StaffMember]:
    """POST /api/organizer/concerts/{id}/staff: check-in rights for an account, by its email
    (granting twice keeps the first grant)."""
    return Call(
        "POST",
        f"/api/organizer/concerts/{_id(concert_id)}/staff",
        lambda r: read(r, ItemEnvelope[StaffMember], ok=(201,)).data,
        json={"email": email},
        auth=True,
    )


def staff(concert_id: uuid.UUID | str) -> Call[list[StaffMember]]:
    return Call(
        "GET",
        f"/api/organizer/concerts/{_id(concert_id)}/staff",
        lambda r: read(r, ListEnvelope[StaffMember]).data,
        auth=True,
    )


def revoke_staff(concert_id: uuid.UUID | str, user_id: uuid.UUID | str) -> Call[Done]:
    """DELETE …/staff/{userId}: the account's next scan is a 403."""
    return Call(
        "DELETE",
        f"/api/organizer/concerts/{_id(concert_id)}/staff/{_id(user_id)}",
        lambda r: read(r, Done),
        auth=True,
    )
