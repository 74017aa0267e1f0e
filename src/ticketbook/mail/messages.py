"""The messages: a booking's confirmation and a transferred ticket, each as plain text and
HTML with the tickets' PDF attached. Every value is escaped in the HTML part."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from html import escape

from ticketbook.tickets.pdf import tickets_pdf
from ticketbook.tickets.service import BookingTickets, TicketStatus, TicketView


@dataclass(frozen=True)
class Envelope:
    """What every message carries besides its body."""

    outbox_id: uuid.UUID
    to: str
    sender: str  # the From header

    def headers(self, message: EmailMessage, subject: str) -> None:
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = self.to
        message["Date"] = formatdate(localtime=False)
        # The same id on every attempt, so a receiver can drop a copy a retry sent twice.
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "ticketbook.invalid"
        message["Message-ID"] = f"<outbox-{self.outbox_id}@{domain}>"


def _ticket_text(ticket: TicketView) -> str:
    lines = [f"- {ticket.place} ({ticket.tier_name}), holder {ticket.holder}"]
    if ticket.code is not None and ticket.status is TicketStatus.VALID:
        lines.append(f"  Code: {ticket.code}")
    else:
        lines.append(f"  {ticket.status.value}")
    return "\n".join(lines)


def _ticket_html(ticket: TicketView) -> str:
    code = (
        f'<br><code style="word-break:break-all">{escape(ticket.code)}</code>'
        if ticket.code is not None and ticket.status is TicketStatus.VALID
        else f"<br>{escape(ticket.status.value)}"
    )
    return (
        f"<li><strong>{escape(ticket.place)}</strong> ({escape(ticket.tier_name)}), "
        f"holder {escape(ticket.holder)}{code}</li>"
    )


def _attach(message: EmailMessage, tickets: Sequence[TicketView], name: str, title: str) -> None:
    message.add_attachment(
        tickets_pdf(tickets, title=title), maintype="application", subtype="pdf", filename=name
    )


def booking_confirmed(envelope: Envelope, booking: BookingTickets, link: str) -> EmailMessage:
    tickets = booking.tickets
    first = tickets[0] if tickets else None
    concert = first.concert_name if first else "your concert"
    message = EmailMessage()
    envelope.headers(message, f"Your tickets for {concert}")
    when = f"{first.venue}, {first.venue_time}" if first else ""
    text = "\n".join(
        [
            f"Your booking {booking.reference} for {concert} is confirmed.",
            when,
            "",
            *(_ticket_text(t) for t in tickets),
            "",
            f"Your tickets, with their QR codes: {link}",
            "The PDF attached has one ticket per page. Each code admits once.",
        ]
    )
    message.set_content(text)
    html = (
        f"<p>Your booking <strong>{escape(booking.reference)}</strong> for "
        f"<strong>{escape(concert)}</strong> is confirmed.</p>"
        f"<p>{escape(when)}</p><ul>{''.join(_ticket_html(t) for t in tickets)}</ul>"
        f'<p><a href="{escape(link)}">Open your tickets</a> to show their QR codes at the '
        "door. The PDF attached has one ticket per page. Each code admits once.</p>"
    )
    message.add_alternative(html, subtype="html")
    _attach(message, tickets, f"tickets-{booking.reference}.pdf", f"Tickets for {concert}")
    return message


def ticket_transferred(
    envelope: Envelope, ticket: TicketView, link: str, given_by: str | None
) -> EmailMessage:
    message = EmailMessage()
    envelope.headers(message, f"A ticket for {ticket.concert_name} is yours")
    who = given_by or "Another fan"
    text = "\n".join(
        [
            f"{who} transferred a ticket for {ticket.concert_name} to you, {ticket.holder}.",
            f"{ticket.venue}, {ticket.venue_time}",
            "",
            _ticket_text(ticket),
            "",
            f"Your ticket, with its QR code: {link}",
            "Keep this email: the link shows your ticket, and whoever has the code can use it.",
        ]
    )
    message.set_content(text)
    html = (
        f"<p>{escape(who)} transferred a ticket for <strong>{escape(ticket.concert_name)}"
        f"</strong> to you, {escape(ticket.holder)}.</p>"
        f"<p>{escape(ticket.venue)}, {escape(ticket.venue_time)}</p>"
        f"<ul>{_ticket_html(ticket)}</ul>"
        f'<p><a href="{escape(link)}">Open your ticket</a> to show its QR code at the door. '
        "Keep this email: the link shows your ticket, and whoever has the code can use it.</p>"
    )
    message.add_alternative(html, subtype="html")
    title = f"Ticket for {ticket.concert_name}"
    _attach(message, [ticket], f"ticket-{ticket.reference}.pdf", title)
    return message
