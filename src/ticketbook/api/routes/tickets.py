"""Fans' tickets over the API: a booking's tickets (with their codes, optionally their QR
codes), their PDF, and transfers (docs/tickets.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ticketbook.api.deps import CurrentIdentity, CurrentUser, require_json
from ticketbook.domain.schemas import (
    BookingTickets,
    ErrorBody,
    TicketInfo,
    TransferRequest,
    TransferResult,
)
from ticketbook.http.deps import Services, client_address, parse_id
from ticketbook.tickets.downloads import pdf_response, render_pdf
from ticketbook.tickets.service import TicketView, qr_svg

router = APIRouter(tags=["tickets"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    404: {"model": ErrorBody, "description": "No such booking, or not yours"},
}


def ticket_info(ticket: TicketView, *, with_qr: bool = False) -> TicketInfo:
    return TicketInfo(
        id=ticket.id,
        booking_id=ticket.booking_id,
        concert_id=ticket.concert_id,
        concert_name=ticket.concert_name,
        artist=ticket.artist,
        venue=ticket.venue,
        starts_at=ticket.starts_at,
        timezone=ticket.timezone,
        venue_time=ticket.venue_time,
        admission=ticket.admission,
        tier_type=ticket.tier_type,
        tier=ticket.tier_name,
        seat=ticket.seat,
        seat_label=ticket.seat_label,
        holder=ticket.holder,
        status=ticket.status.value,
        revoked_reason=ticket.revoked_reason.value if ticket.revoked_reason else None,
        transferred_to=ticket.transferred_to,
        used_at=ticket.used_at,
        code=ticket.code,
        qr_svg=qr_svg(ticket) if with_qr else None,
    )


@router.get("/bookings/{booking_id}/tickets", response_model=BookingTickets, responses=_ERRORS)
async def booking_tickets(
    booking_id: str, caller: CurrentUser, services: Services, qr: bool = False
) -> BookingTickets:
    """The tickets of a booking you own or hold tickets of, each with its signed code (and
    with ``qr=true`` its QR code as SVG). A ticket you gave away shows as revoked, without
    a code. Anyone else's booking is a 404."""
    found = await services.tickets.for_booking(parse_id(booking_id, "Booking"), caller)
    tickets = [ticket_info(t, with_qr=qr) for t in found.tickets]
    return BookingTickets(
        booking_id=found.booking_id,
        booking_status=found.booking_status,
        data=tickets,
        count=len(tickets),
    )


@router.get(
    "/bookings/{booking_id}/tickets.pdf",
    response_class=Response,
    responses={
        **_ERRORS,
        200: {"content": {"application/pdf": {}}, "description": "One ticket per page"},
    },
)
async def booking_tickets_pdf(booking_id: str, caller: CurrentUser, services: Services) -> Response:
    """The same tickets as a PDF, one per page, each with its QR code and code text."""
    found = await services.tickets.for_booking(parse_id(booking_id, "Booking"), caller)
    document = await render_pdf(found.tickets, title=f"Tickets {found.reference}")
    return pdf_response(document, f"tickets-{found.reference}.pdf")


@router.post(
    "/tickets/{ticket_id}/transfer",
    response_model=TransferResult,
    dependencies=[Depends(require_json)],
    responses={
        400: {"model": ErrorBody},
        401: {"model": ErrorBody},
        403: {"model": ErrorBody, "description": "Guests can't transfer: sign in first"},
        404: {"model": ErrorBody, "description": "No such ticket, or not yours"},
        409: {
            "model": ErrorBody,
            "description": "Revoked, checked in, or the concert has started",
        },
        415: {"model": ErrorBody},
        429: {"model": ErrorBody, "description": "Too many transfers; see Retry-After"},
    },
)
async def transfer_ticket(
    ticket_id: str,
    body: TransferRequest,
    request: Request,
    caller: CurrentIdentity,
    services: Services,
) -> TransferResult:
    """Give your ticket to someone by email (their account, made if there is none). The
    old code is revoked at once; the new holder gets a new ticket and an email with it."""
    done = await services.tickets.transfer(
        ticket_id=parse_id(ticket_id, "Ticket"),
        sender=caller,
        email=body.email,
        name=body.name,
        address=client_address(request),
    )
    return TransferResult(
        transfer_id=done.transfer_id,
        from_ticket_id=done.from_ticket_id,
        to_ticket_id=done.to_ticket_id,
        email=done.email,
        name=done.name,
        message=f"Ticket transferred to {done.name}; an email with it is on its way",
    )
