"""The fan's pages: thin handlers over the same services and rules as the JSON API.

Every form works without JavaScript (a POST answered with a full page). With JavaScript the
same forms are sent with ``fetch`` and ``Accept: application/json``; the answer then carries
the same server-rendered HTML fragment, which the script puts in place.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.catalog import service as catalog
from ticketbook.domain.enums import MAX_TICKETS_PER_BOOKING, BookingStatus
from ticketbook.domain.errors import InvalidInput, NotFound
from ticketbook.domain.schemas import Concert, TicketTier
from ticketbook.http.deps import Services, client_address, parse_id
from ticketbook.http.responses import json_response
from ticketbook.seating import service as seating
from ticketbook.services import AppServices
from ticketbook.web import queue_pages, rendering, seat_pages, views
from ticketbook.web.booking_panels import BookingPanel, booking_panel
from ticketbook.web.session import (
    CSRF_FIELD,
    PageSession,
    check_csrf,
    page_session,
    remember,
    welcome_notice,
)

router = APIRouter(include_in_schema=False)

# A resubmitted form whose first submission is still paying waits for that answer (and then
# shows it) rather than saying "try later"; this long at most, beyond the payment timeout.
IN_PROGRESS_GRACE_S = 3.0


def wants_json(request: Request) -> bool:
    """The page's script sends forms with fetch and asks for JSON; browsers without it don't."""
    return "application/json" in request.headers.get("accept", "")


def render_page(
    request: Request,
    services: AppServices,
    session: PageSession,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    response = rendering.page(
        template,
        {"session": session, "csrf_field": CSRF_FIELD, "path": request.url.path, **context},
        status_code,
    )
    remember(response, request, services.signer, session)
    return response


async def _concert(services: AppServices, raw_id: str, *, primary: bool = False) -> Concert:
    # Pages read the catalog from the replica when there is one; a booking reads the primary.
    db = services.db if primary else services.catalog_db
    concert = await catalog.get_concert(db, parse_id(raw_id, "Concert"))
    if concert is None:
        raise NotFound("We couldn't find that concert. It may have been removed.")
    return concert


def _on_sale(concert: Concert) -> bool:
    return concert.date > datetime.now(UTC)


@router.get("/")
async def home(request: Request, services: Services) -> Response:
    return await _concert_list(request, services, home=True)


@router.get("/concerts")
async def concerts(request: Request, services: Services) -> Response:
    return await _concert_list(request, services, home=False)


async def _concert_list(request: Request, services: AppServices, *, home: bool) -> Response:
    session = await page_session(request, services)
    upcoming = await catalog.list_upcoming(services.catalog_db)
    return render_page(
        request,
        services,
        session,
        "concerts.html",
        {"concerts": upcoming, "home": home, "nav": "concerts"},
    )


@router.get("/concerts/{concert_id}")
async def concert_page(
    concert_id: str, request: Request, services: Services, section: str | None = None
) -> Response:
    session = await page_session(request, services)
    concert = await _concert(services, concert_id)
    # A protected on-sale: the waiting room until the visitor is admitted (web/queue_pages.py).
    to_queue, queue_status = await queue_pages.shop_gate(request, services, session, concert.id)
    if to_queue is not None:
        return to_queue
    seats = await seat_pages.seating_view(services.catalog_db, concert, section)
    response = render_page(
        request,
        services,
        session,
        "concert.html",
        {"concert": concert, "on_sale": _on_sale(concert), "nav": "concerts", "seating": seats},
    )
    queue_pages.keep_admission(response, request, concert.id, queue_status)
    return response


@router.get("/concerts/{concert_id}/seat-states")
async def seat_states(concert_id: str, request: Request, services: Services) -> Response:
    """Every seat's state, 2 bits a seat (seating/states.py), for the map's script. It asks
    often: an unchanged answer is a 304 on its ETag."""
    states = await seating.seat_states(services.catalog_db, parse_id(concert_id, "Concert"))
    digest = hashlib.blake2b(states.encoded, digest_size=12).hexdigest()
    etag = f'"{states.layout_version}-{digest}"'
    headers = {
        "Cache-Control": "no-cache",
        "ETag": etag,
        "X-Seat-Count": str(states.count),
        "X-Layout-Version": str(states.layout_version),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(states.encoded, media_type="application/octet-stream", headers=headers)


@dataclass(frozen=True)
class BookingAsk:
    """What a booking form asks for: a quantity of a tier, or (a seated tier) named seats, or
    the best seats in one section."""

    tier: TicketTier
    quantity: int
    key: uuid.UUID
    seats: tuple[str, ...] = ()
    section: str | None = None


def _booking_input(form: FormData, concert: Concert) -> BookingAsk:
    tier = next((t for t in concert.ticket_tiers if str(t.id) == form.get("tier_id")), None)
    if tier is None:
        raise NotFound("That ticket tier isn't part of this concert.")
    seats = tuple(s for s in form.getlist("seat") if isinstance(s, str) and s)
    if seats:
        quantity = len(seats)
        if len(set(seats)) != quantity:
            raise InvalidInput("The same seat is in this booking twice. Choose your seats again.")
        if quantity > MAX_TICKETS_PER_BOOKING:
            raise InvalidInput(f"Choose at most {MAX_TICKETS_PER_BOOKING} seats per booking.")
    else:
        raw_quantity = form.get("quantity")
        try:
            quantity = int(raw_quantity) if isinstance(raw_quantity, str) else 0
        except ValueError:
            quantity = 0
        if not 1 <= quantity <= MAX_TICKETS_PER_BOOKING:
            raise InvalidInput(f"Choose between 1 and {MAX_TICKETS_PER_BOOKING} tickets.")
    raw_key = form.get("idempotency_key")
    try:
        key = uuid.UUID(raw_key) if isinstance(raw_key, str) else None
    except ValueError:
        key = None
    if key is None:
        raise InvalidInput("This booking form is incomplete. Reload the page and try again.")
    # "Any section" is the empty choice.
    return BookingAsk(tier, quantity, key, seats, text_field(form, "section") or None)


async def _book(
    request: Request,
    services: AppServices,
    session: PageSession,
    ask: BookingAsk,
    venue: seat_pages.VenueLayout | None,
) -> BookingPanel:
    """Book through the engine (its idempotency makes a resubmitted form replay the first
    answer). A resubmission that arrives while the first one is still paying waits for its
    answer instead of saying "try later"."""
    user_id = session.user_id
    if session.is_guest:
        # A guest's row is made at its first booking (browsing writes nothing), counted as a
        # new guest from this address (429 past the limit). One primary-key lookup for a
        # guest that has its row, and no failed hold on the tier's row lock for a new one.
        await services.accounts.ensure_guest(user_id, client_address(request))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + services.settings.payment.timeout_ms / 1000 + IN_PROGRESS_GRACE_S
    delay = 0.05
    result = await services.engine.book(
        user_id=user_id,
        tier_id=ask.tier.id,
        quantity=ask.quantity,
        key=ask.key,
        address=client_address(request),
        seats=ask.seats,
        section=ask.section,
    )
    while result.outcome is BookingOutcome.IN_PROGRESS and loop.time() < deadline:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)
        result = await services.engine.stored_result(
            user_id=user_id,
            tier_id=ask.tier.id,
            quantity=ask.quantity,
            key=ask.key,
            seats=ask.seats,
            section=ask.section,
        )
    return booking_panel(result, venue.name) if venue is not None else booking_panel(result)


@router.post("/concerts/{concert_id}/book")
async def book(concert_id: str, request: Request, services: Services) -> Response:
    form = await request.form()
    session = await check_csrf(request, services, text_field(form, CSRF_FIELD))
    concert = await _concert(services, concert_id, primary=True)
    ask = _booking_input(form, concert)
    # A protected on-sale books only with the waiting room's admission (its cookie).
    refused = await queue_pages.admission_refused(request, services, session, concert, ask.tier)
    if refused is not None:
        return refused
    venue = None
    # The layout names the seats on the result and checks a seated request.
    if concert.layout_id is not None and (ask.tier.zone or ask.seats or ask.section):
        venue = await seat_pages.venue_layout(services.db, concert.layout_id)
        seat_pages.check_seated_request(venue, ask.tier, ask.seats, ask.section)
    result = await _book(request, services, session, ask, venue)
    # Read the concert again: the result shows the counts as they are now.
    concert = await catalog.get_concert(services.db, concert.id) or concert
    tier = next((t for t in concert.ticket_tiers if t.id == ask.tier.id), ask.tier)
    section_name = venue.section_names.get(ask.section) if venue and ask.section else None
    context = {
        "concert": concert,
        "tier": tier,
        "quantity": ask.quantity,
        "result": result,
        # The seats or the section asked for, for the panel's "try again" forms.
        "asked_seats": ask.seats,
        "asked_section": ask.section,
        "section_name": section_name,
        "ticket_cap": services.settings.limits.max_tickets_per_concert,
        "on_sale": _on_sale(concert),
        "nav": "concerts",
    }
    if wants_json(request):
        html = rendering.render(
            "_result.html",
            {"session": session, "csrf_field": CSRF_FIELD, **context},
        )
        return json_response(
            result.status_code,
            {
                "ok": result.ok,
                "outcome": result.slug,
                "html": html,
                "tier": {
                    "id": str(tier.id),
                    "availableQuantity": tier.available_quantity,
                    "totalQuantity": tier.total_quantity,
                },
                "nextKey": str(uuid.uuid4()),
            },
            {**rendering.PAGE_HEADERS, **retry_after(result)},
        )
    response = render_page(
        request, services, session, "booking_result.html", context, status_code=result.status_code
    )
    response.headers.update(retry_after(result))
    return response


def retry_after(result: BookingPanel) -> dict[str, str]:
    return {"Retry-After": str(result.retry_after_s)} if result.retry_after_s else {}


@router.get("/bookings")
async def bookings(
    request: Request,
    services: Services,
    cancelled: str | None = None,
    welcome: str | None = None,
) -> Response:
    session = await page_session(request, services)
    # The list is by user id: a guest's, or the signed-in account's.
    mine = [] if session.is_new else await services.engine.list_for_user(session.user_id)
    just_cancelled = next(
        (b for b in mine if str(b.id) == cancelled and b.status is BookingStatus.CANCELLED), None
    )
    return render_page(
        request,
        services,
        session,
        "bookings.html",
        {
            "bookings": mine,
            "seat_names": await seat_pages.seat_names(services.catalog_db, mine),
            "just_cancelled": just_cancelled,
            # Tickets others transferred to this account (in bookings that aren't its own).
            "received": [] if session.is_new else await services.tickets.received(session.user_id),
            # Right after registering or signing in: what moved from the guest, what stayed.
            "welcome": welcome_notice(services.signer, session, welcome),
            "ticket_cap": services.settings.limits.max_tickets_per_concert,
            "nav": "bookings",
        },
    )


@router.post("/bookings/{booking_id}/cancel")
async def cancel(booking_id: str, request: Request, services: Services) -> Response:
    form = await request.form()
    session = await check_csrf(request, services, text_field(form, CSRF_FIELD))
    booking = await services.engine.cancel(
        user_id=session.user_id, booking_id=parse_id(booking_id, "Booking")
    )
    if wants_json(request):
        html = rendering.render(
            "_booking.html",
            {
                "booking": booking,
                "seat_names": await seat_pages.seat_names(services.catalog_db, [booking]),
                "session": session,
                "csrf_field": CSRF_FIELD,
            },
        )
        reference = views.reference(booking.id)
        message = f"Booking {reference} is cancelled. Its tickets are back on sale."
        return json_response(
            200, {"ok": True, "html": html, "message": message}, rendering.PAGE_HEADERS
        )
    return RedirectResponse(f"/bookings?cancelled={booking.id}", status_code=303)


def text_field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None
