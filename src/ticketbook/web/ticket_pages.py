"""The ticket pages: a booking's tickets (QR codes, codes, the PDF, the transfer form), and
the page an emailed link opens for one ticket. The rules (who sees which ticket and code,
what may be transferred) are the Tickets service's; this only shows them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ticketbook.domain.errors import DomainError, NotFound
from ticketbook.http.deps import Services, client_address, parse_id
from ticketbook.http.errors import status_for
from ticketbook.services import AppServices
from ticketbook.tickets.downloads import pdf_response, render_pdf
from ticketbook.tickets.service import TicketStatus, qr_svg
from ticketbook.web.routes import render_page, text_field
from ticketbook.web.session import CSRF_FIELD, PageSession, check_csrf, page_session

router = APIRouter(include_in_schema=False)


async def _booking_page(
    request: Request,
    services: AppServices,
    session: PageSession,
    booking_id: uuid.UUID,
    *,
    transferred: str | None = None,
    form_error: tuple[str, str] | None = None,
    form_values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    if session.is_new:
        raise NotFound("Booking not found")
    found = await services.tickets.for_booking(booking_id, session.user_id)
    given = next((t for t in found.tickets if str(t.id) == transferred and t.transferred_to), None)
    return render_page(
        request,
        services,
        session,
        "tickets.html",
        {
            "booking": found,
            "tickets": found.tickets,
            "qr_svg": qr_svg,
            "owner": found.owner_id == session.user_id,
            "just_transferred": given,
            # (ticket id, message) of a transfer form that was refused, and what was typed.
            "form_error": form_error,
            "form_values": form_values or {},
            "pdf_url": f"/bookings/{booking_id}/tickets.pdf",
            "TicketStatus": TicketStatus,
            "nav": "bookings",
        },
        status_code,
    )


@router.get("/bookings/{booking_id}/tickets")
async def booking_tickets(
    booking_id: str, request: Request, services: Services, transferred: str | None = None
) -> Response:
    session = await page_session(request, services)
    return await _booking_page(
        request, services, session, parse_id(booking_id, "Booking"), transferred=transferred
    )


@router.get("/bookings/{booking_id}/tickets.pdf")
async def booking_tickets_pdf(booking_id: str, request: Request, services: Services) -> Response:
    session = await page_session(request, services)
    if session.is_new:
        raise NotFound("Booking not found")
    found = await services.tickets.for_booking(parse_id(booking_id, "Booking"), session.user_id)
    document = await render_pdf(found.tickets, title=f"Tickets {found.reference}")
    return pdf_response(document, f"tickets-{found.reference}.pdf")


@router.post("/tickets/{ticket_id}/transfer")
async def transfer(ticket_id: str, request: Request, services: Services) -> Response:
    form = await request.form()
    session = await check_csrf(request, services, text_field(form, CSRF_FIELD))
    ticket = await services.tickets.ticket(parse_id(ticket_id, "Ticket"))
    # Someone else's ticket is one that isn't there.
    if ticket is None or ticket.holder_id != session.user_id:
        raise NotFound("Ticket not found")
    email = text_field(form, "email") or ""
    name = text_field(form, "name") or ""
    try:
        await services.tickets.transfer(
            ticket_id=ticket.id,
            sender=session.identity,
            email=email,
            name=name,
            address=client_address(request),
        )
    except NotFound:
        raise
    except DomainError as exc:
        response = await _booking_page(
            request,
            services,
            session,
            ticket.booking_id,
            form_error=(str(ticket.id), exc.message),
            form_values={"email": email, "name": name},
            status_code=status_for(exc),
        )
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response
    return RedirectResponse(
        f"/bookings/{ticket.booking_id}/tickets?transferred={ticket.id}", status_code=303
    )


# Before /tickets/{ticket_id}, which would take "<id>.pdf" for an id.
@router.get("/tickets/{ticket_id}.pdf")
async def linked_ticket_pdf(ticket_id: str, services: Services, key: str | None = None) -> Response:
    ticket = await services.tickets.by_link(parse_id(ticket_id, "Ticket"), key)
    document = await render_pdf([ticket], title=f"Ticket {ticket.reference}")
    return pdf_response(document, f"tickets-{ticket.reference}.pdf")


@router.get("/tickets/{ticket_id}")
async def linked_ticket(
    ticket_id: str, request: Request, services: Services, key: str | None = None
) -> Response:
    """The page an emailed link opens: that one ticket, for whoever has the link."""
    session = await page_session(request, services)
    ticket = await services.tickets.by_link(parse_id(ticket_id, "Ticket"), key)
    context: dict[str, Any] = {
        "ticket": ticket,
        "qr_svg": qr_svg,
        "pdf_url": f"/tickets/{ticket.id}.pdf?key={key}",
        "TicketStatus": TicketStatus,
        "nav": None,
    }
    return render_page(request, services, session, "ticket_link.html", context)
