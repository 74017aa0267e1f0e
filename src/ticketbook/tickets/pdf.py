"""A booking's tickets as a PDF (fpdf2): one ticket per A4 page, its QR code drawn as vector
rectangles from segno's module matrix (sharp at any zoom or print size, so it scans).

The text is set in the PDF core fonts (Helvetica, Courier): nothing to embed, and the text is
extractable (the tests read it back with pypdf). Core fonts cover Latin-1 only, so other
characters are transliterated where they can be and replaced with "?" where they can't.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ticketbook.tickets import qr
from ticketbook.tickets.service import TicketStatus, TicketView

if TYPE_CHECKING:
    from fpdf import FPDF

# Typographic characters the core fonts lack, as their plain counterparts.
_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)
QR_SIZE_MM = 70.0


def latin1(text: str) -> str:
    """``text`` as the core fonts can set it."""
    text = unicodedata.normalize("NFKC", text).translate(_PLAIN)
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
            continue
        # "é" written as e + accent folds into Latin-1; a letter with no Latin-1 form loses
        # its accent ("ő" -> "o"); anything else is a "?".
        folded = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in folded if ord(c) < 128 and not unicodedata.combining(c))
        out.append(base or "?")
    return "".join(out)


def tickets_pdf(tickets: Sequence[TicketView], *, title: str = "Tickets") -> bytes:
    """The PDF of these tickets, one a page (an empty booking gets one page saying so)."""
    # Imported here: fpdf and its fontTools take a second to import, which every server
    # process and command would otherwise pay at start for a page few open.
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(latin1(title))
    pdf.set_creator("TicketBook")
    pdf.set_auto_page_break(auto=False)
    if not tickets:
        pdf.add_page()
        pdf.set_font("Helvetica", "", 14)
        pdf.cell(0, 10, "This booking has no tickets.", new_x="LMARGIN", new_y="NEXT")
    for ticket in tickets:
        _page(pdf, ticket)
    return bytes(pdf.output())


def _page(pdf: FPDF, ticket: TicketView) -> None:
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float, style: str = "", height: float | None = None) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, height or size * 0.5, latin1(text), new_x="LMARGIN", new_y="NEXT")

    pdf.set_text_color(90, 90, 90)
    # Not "of N": the PDF of one transferred ticket holds one page of a larger booking.
    line(f"TicketBook e-ticket  -  admission {ticket.admission}", 10)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    line(ticket.concert_name, 22, "B", 10)
    line(ticket.artist, 13)
    pdf.ln(3)
    facts = [
        ("Venue", ticket.venue),
        ("When", ticket.venue_time),
        ("Seat" if ticket.seat_label else "Tier", ticket.place),
        ("Holder", ticket.holder),
        ("Booking", f"{ticket.reference} ({ticket.booking_id})"),
    ]
    if ticket.seat_label:
        facts.insert(3, ("Tier", ticket.tier_name))
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(24, 7, latin1(label))
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(width - 24, 7, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    if ticket.code is None or ticket.status is TicketStatus.REVOKED:
        pdf.set_text_color(160, 0, 0)
        line("NOT VALID: this ticket was " + _revoked_words(ticket), 16, "B", 9)
        return
    _qr(pdf, ticket.code, x=(pdf.w - QR_SIZE_MM) / 2, y=pdf.get_y())
    pdf.set_y(pdf.get_y() + QR_SIZE_MM + 4)
    if ticket.status is TicketStatus.USED:
        line("Checked in", 12, "B")
    pdf.set_font("Courier", "", 9)
    pdf.multi_cell(width, 4.5, ticket.code, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(90, 90, 90)
    line(
        "Show this code at the door, on a screen or printed. It admits once. "
        "Don't share it: whoever shows it first gets in.",
        9,
    )


def _revoked_words(ticket: TicketView) -> str:
    if ticket.transferred_to:
        return f"transferred to {ticket.transferred_to}."
    return "cancelled." if ticket.revoked_reason == "cancelled" else "revoked."


def _qr(pdf: FPDF, code: str, *, x: float, y: float) -> None:
    size, runs = qr.dark_runs(code)
    module = QR_SIZE_MM / size
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, QR_SIZE_MM, QR_SIZE_MM, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row, column, length in runs:
        pdf.rect(x + column * module, y + row * module, length * module, module, style="F")
