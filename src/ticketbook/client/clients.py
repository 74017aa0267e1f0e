"""The sync and the async client: each sends the calls of `calls.py` over httpx.

Both take a base URL (the server's root, e.g. ``http://127.0.0.1:8000``) or an httpx client
of your own (``http=``): an in-process ASGI app's, one with a proxy or TLS settings, or a
test's. A client made from a base URL is closed with the TicketBook client; one passed in is
yours to close. The bearer token is the TicketBook client's own (``token``, set by `guest`,
`register` and `login`, forgotten by `logout`) and sent per request, so several TicketBook
clients can share one httpx client as different users.

Transport failures raise httpx's own errors (`httpx.TransportError`); unexpected answers,
5xx included, raise `ApiError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

import httpx

from ticketbook.client import calls
from ticketbook.client.calls import BookingAnswer, Call
from ticketbook.domain.schemas import (
    AccountSession,
    Booking,
    BookingTickets,
    BookingWithDetails,
    CheckinBundle,
    Concert,
    ConcertAvailability,
    ConcertSales,
    Done,
    GateCounts,
    GuestSession,
    Health,
    Me,
    NewConcert,
    OfflineScanBody,
    Readiness,
    ScanAnswer,
    SeatingInfo,
    StaffMember,
    SyncAnswer,
    TransferResult,
)
from ticketbook.seating.states import SeatState

T = TypeVar("T")
Id = uuid.UUID | str

DEFAULT_TIMEOUT_S = 10.0


class _Identity:
    """Who the client speaks as, and what each call adds to or takes from that."""

    def __init__(self, token: str | None, user_id: Id | None) -> None:
        self.token = token
        self.user_id: uuid.UUID | None = uuid.UUID(str(user_id)) if user_id else None

    def headers(self, call: Call[Any], extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(call.headers)
        if call.auth and self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return {**headers, **(extra or {})}

    def after(self, call: Call[T], result: T) -> T:
        if call.signs_in and isinstance(result, GuestSession | AccountSession):
            self.token, self.user_id = result.token, result.user_id
        if call.signs_out:
            self.token = self.user_id = None
        return result


def _check(base_url: str | None, http: object) -> None:
    if (base_url is None) == (http is None):
        raise TypeError("give either base_url or http (an httpx client), not both")


class TicketBookClient(_Identity):
    """The TicketBook API over a blocking `httpx.Client`."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        http: httpx.Client | None = None,
        token: str | None = None,
        user_id: Id | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        _check(base_url, http)
        super().__init__(token, user_id)
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=str(base_url), timeout=timeout)

    def response(self, call: Call[Any], headers: dict[str, str] | None = None) -> httpx.Response:
        """Send ``call`` and return the answer unread (its status, headers and body)."""
        return self.http.request(
            call.method, call.path, json=call.json, headers=self.headers(call, headers)
        )

    def send(self, call: Call[T]) -> T:
        """Send ``call`` and read its answer."""
        return self.after(call, call.parse(self.response(call)))

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> TicketBookClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> Health:
        return self.send(calls.health())

    def ready(self) -> Readiness:
        return self.send(calls.ready())

    def guest(self) -> GuestSession:
        return self.send(calls.guest())

    def register(self, email: str, password: str) -> AccountSession:
        return self.send(calls.register(email, password))

    def login(self, email: str, password: str) -> AccountSession:
        return self.send(calls.login(email, password))

    def logout(self) -> Done:
        return self.send(calls.logout())

    def me(self) -> Me:
        return self.send(calls.me())

    def concerts(self) -> list[Concert]:
        return self.send(calls.concerts())

    def concert(self, concert_id: Id) -> Concert:
        return self.send(calls.concert(concert_id))

    def availability(self, concert_id: Id) -> ConcertAvailability:
        return self.send(calls.availability(concert_id))

    def book(
        self,
        tier_id: Id,
        quantity: int = 1,
        key: Id | None = None,
        *,
        section: str | None = None,
    ) -> BookingAnswer:
        """Book ``quantity`` tickets of a tier (of a SEATED tier: the best seats together)."""
        return self.send(calls.book(tier_id, quantity, key, section=section))

    def book_seats(self, tier_id: Id, seats: Sequence[str], key: Id | None = None) -> BookingAnswer:
        """Book these seats (codes, all of the SEATED tier's zone)."""
        return self.send(calls.book(tier_id, len(seats), key, seats=seats))

    def seating(self, concert_id: Id) -> SeatingInfo:
        return self.send(calls.seating(concert_id))

    def seat_states(self, concert_id: Id) -> list[SeatState]:
        info = self.seating(concert_id)
        return self.send(calls.seat_states(concert_id, info.seat_count))

    def my_bookings(self) -> list[BookingWithDetails]:
        return self.send(calls.my_bookings(self.user_id or self.me().user_id))

    def cancel(self, booking_id: Id) -> Booking:
        return self.send(calls.cancel(booking_id))

    def create_concert(self, concert: NewConcert) -> Concert:
        return self.send(calls.create_concert(concert))

    def organizer_concerts(self) -> list[ConcertSales]:
        return self.send(calls.organizer_concerts())

    def sales(self, concert_id: Id) -> ConcertSales:
        return self.send(calls.sales(concert_id))

    def sales_csv(self, concert_id: Id) -> str:
        return self.send(calls.sales_csv(concert_id))

    def tickets(self, booking_id: Id, *, qr: bool = False) -> BookingTickets:
        return self.send(calls.tickets(booking_id, qr=qr))

    def tickets_pdf(self, booking_id: Id) -> bytes:
        return self.send(calls.tickets_pdf(booking_id))

    def transfer(self, ticket_id: Id, email: str, name: str) -> TransferResult:
        """Give a ticket to ``email`` (an account's; a guest's is a 403), named ``name``."""
        return self.send(calls.transfer(ticket_id, email, name))

    def scan(
        self,
        concert_id: Id,
        code: str,
        gate: str,
        scan_id: Id | None = None,
        *,
        device: str | None = None,
    ) -> ScanAnswer:
        """Check a code in at ``gate``; ``scan_id`` again gets the first answer, no new entry."""
        return self.send(calls.scan(concert_id, code, gate, scan_id, device=device))

    def bundle(self, concert_id: Id) -> CheckinBundle:
        return self.send(calls.bundle(concert_id))

    def sync_scans(
        self, concert_id: Id, device: str, scans: Sequence[OfflineScanBody]
    ) -> SyncAnswer:
        return self.send(calls.sync_scans(concert_id, device, scans))

    def gates(self, concert_id: Id) -> GateCounts:
        return self.send(calls.gates(concert_id))

    def grant_staff(self, concert_id: Id, email: str) -> StaffMember:
        return self.send(calls.grant_staff(concert_id, email))

    def staff(self, concert_id: Id) -> list[StaffMember]:
        return self.send(calls.staff(concert_id))

    def revoke_staff(self, concert_id: Id, user_id: Id) -> Done:
        return self.send(calls.revoke_staff(concert_id, user_id))


class AsyncTicketBookClient(_Identity):
    """The TicketBook API over an `httpx.AsyncClient`: the same calls, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        token: str | None = None,
        user_id: Id | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        _check(base_url, http)
        super().__init__(token, user_id)
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(base_url=str(base_url), timeout=timeout)

    async def response(
        self, call: Call[Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """Send ``call`` and return the answer unread (its status, headers and body)."""
        return await self.http.request(
            call.method, call.path, json=call.json, headers=self.headers(call, headers)
        )

    async def send(self, call: Call[T]) -> T:
        """Send ``call`` and read its answer."""
        return self.after(call, call.parse(await self.response(call)))

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> AsyncTicketBookClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def health(self) -> Health:
        return await self.send(calls.health())

    async def ready(self) -> Readiness:
        return await self.send(calls.ready())

    async def guest(self) -> GuestSession:
        return await self.send(calls.guest())

    async def register(self, email: str, password: str) -> AccountSession:
        return await self.send(calls.register(email, password))

    async def login(self, email: str, password: str) -> AccountSession:
        return await self.send(calls.login(email, password))

    async def logout(self) -> Done:
        return await self.send(calls.logout())

    async def me(self) -> Me:
        return await self.send(calls.me())

    async def concerts(self) -> list[Concert]:
        return await self.send(calls.concerts())

    async def concert(self, concert_id: Id) -> Concert:
        return await self.send(calls.concert(concert_id))

    async def availability(self, concert_id: Id) -> ConcertAvailability:
        return await self.send(calls.availability(concert_id))

    async def book(
        self,
        tier_id: Id,
        quantity: int = 1,
        key: Id | None = None,
        *,
        section: str | None = None,
    ) -> BookingAnswer:
        """Book ``quantity`` tickets of a tier (of a SEATED tier: the best seats together)."""
        return await self.send(calls.book(tier_id, quantity, key, section=section))

    async def book_seats(
        self, tier_id: Id, seats: Sequence[str], key: Id | None = None
    ) -> BookingAnswer:
        """Book these seats (codes, all of the SEATED tier's zone)."""
        return await self.send(calls.book(tier_id, len(seats), key, seats=seats))

    async def seating(self, concert_id: Id) -> SeatingInfo:
        return await self.send(calls.seating(concert_id))

    async def seat_states(self, concert_id: Id) -> list[SeatState]:
        info = await self.seating(concert_id)
        return await self.send(calls.seat_states(concert_id, info.seat_count))

    async def my_bookings(self) -> list[BookingWithDetails]:
        user_id = self.user_id or (await self.me()).user_id
        return await self.send(calls.my_bookings(user_id))

    async def cancel(self, booking_id: Id) -> Booking:
        return await self.send(calls.cancel(booking_id))

    async def create_concert(self, concert: NewConcert) -> Concert:
        return await self.send(calls.create_concert(concert))

    async def organizer_concerts(self) -> list[ConcertSales]:
        return await self.send(calls.organizer_concerts())

    async def sales(self, concert_id: Id) -> ConcertSales:
        return await self.send(calls.sales(concert_id))

    async def sales_csv(self, concert_id: Id) -> str:
        return await self.send(calls.sales_csv(concert_id))

    async def tickets(self, booking_id: Id, *, qr: bool = False) -> BookingTickets:
        return await self.send(calls.tickets(booking_id, qr=qr))

    async def tickets_pdf(self, booking_id: Id) -> bytes:
        return await self.send(calls.tickets_pdf(booking_id))

    async def transfer(self, ticket_id: Id, email: str, name: str) -> TransferResult:
        """Give a ticket to ``email`` (an account's; a guest's is a 403), named ``name``."""
        return await self.send(calls.transfer(ticket_id, email, name))

    async def scan(
        self,
        concert_id: Id,
        code: str,
        gate: str,
        scan_id: Id | None = None,
        *,
        device: str | None = None,
    ) -> ScanAnswer:
        """Check a code in at ``gate``; ``scan_id`` again gets the first answer, no new entry."""
        return await self.send(calls.scan(concert_id, code, gate, scan_id, device=device))

    async def bundle(self, concert_id: Id) -> CheckinBundle:
        return await self.send(calls.bundle(concert_id))

    async def sync_scans(
        self, concert_id: Id, device: str, scans: Sequence[OfflineScanBody]
    ) -> SyncAnswer:
        return await self.send(calls.sync_scans(concert_id, device, scans))

    async def gates(self, concert_id: Id) -> GateCounts:
        return await self.send(calls.gates(concert_id))

    async def grant_staff(self, concert_id: Id, email: str) -> StaffMember:
        return await self.send(calls.grant_staff(concert_id, email))

    async def staff(self, concert_id: Id) -> list[StaffMember]:
        return await self.send(calls.staff(concert_id))

    async def revoke_staff(self, concert_id: Id, user_id: Id) -> Done:
        return await self.send(calls.revoke_staff(concert_id, user_id))
