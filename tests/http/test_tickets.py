"""Tickets over HTTP, production limits on: the API's ticket list (codes that verify, QR
codes as SVG), its PDF parsed back, the ticket page reached from My bookings (QR, code text,
the PDF link), nobody else's tickets (404), and the emailed link's page."""

from __future__ import annotations

import io
import re
import uuid

import httpx
from pypdf import PdfReader

from tests.support.accounts import register
from tests.support.api import book
from tests.support.inprocess import InProcessApp, InProcessClient
from tests.support.inventory import make_concert
from tests.support.pages import booking_form, post_form, text
from ticketbook.services import AppServices


def _services(app: InProcessApp) -> AppServices:
    services: AppServices = app.app.state.services
    return services


def _booked(client: httpx.Client, shared_db: str, quantity: int = 2) -> tuple[str, dict, dict]:
    concert = make_concert(shared_db, {"GA": 20}, timezone="Europe/London")
    _, headers = register(client)
    booked = book(client, headers, concert["tiers"]["GA"], quantity)
    assert booked.status_code == 200, booked.text
    return booked.json()["booking"]["id"], headers, concert


def test_the_api_lists_a_bookings_tickets_with_codes_that_verify(
    client: httpx.Client, shared_app: InProcessApp, shared_db: str
) -> None:
    booking_id, headers, concert = _booked(client, shared_db)
    answer = client.get(f"/api/bookings/{booking_id}/tickets", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == 2 and body["bookingStatus"] == "CONFIRMED"
    keys = _services(shared_app).ticket_keys
    for n, ticket in enumerate(body["data"], start=1):
        assert ticket["admission"] == n and ticket["status"] == "valid"
        assert ticket["tier"] == "General admission" and ticket["seat"] is None
        assert ticket["qrSvg"] is None  # only when asked for
        assert ticket["venueTime"].endswith(("GMT", "BST"))
        claim = keys.verify(ticket["code"], uuid.UUID(concert["id"]), 1)
        assert str(claim.ticket_id) == ticket["id"]
    with_qr = client.get(f"/api/bookings/{booking_id}/tickets?qr=true", headers=headers).json()
    svg = with_qr["data"][0]["qrSvg"]
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title>" in svg


def test_the_api_pdf_names_the_concert_and_carries_each_code(
    client: httpx.Client, shared_db: str
) -> None:
    booking_id, headers, _ = _booked(client, shared_db)
    tickets = client.get(f"/api/bookings/{booking_id}/tickets", headers=headers).json()["data"]
    answer = client.get(f"/api/bookings/{booking_id}/tickets.pdf", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert "no-store" in answer.headers["cache-control"]
    reader = PdfReader(io.BytesIO(answer.content))
    assert len(reader.pages) == 2
    for page, ticket in zip(reader.pages, tickets, strict=True):
        page_text = page.extract_text()
        assert ticket["concertName"] in page_text and "General admission" in page_text
        assert ticket["code"] in "".join(page_text.split())


def test_nobody_else_gets_a_bookings_tickets(client: httpx.Client, shared_db: str) -> None:
    booking_id, _, _ = _booked(client, shared_db)
    _, stranger = register(client)
    for suffix in ("", ".pdf"):
        path = f"/api/bookings/{booking_id}/tickets{suffix}"
        assert client.get(path, headers=stranger).status_code == 404
        assert client.get(path).status_code == 401
    assert client.get("/api/bookings/not-a-uuid/tickets", headers=stranger).status_code == 404


def test_the_ticket_page_from_my_bookings_shows_qr_codes_codes_and_the_pdf(
    client: InProcessClient, shared_app: InProcessApp, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, concert["tiers"]["GA"])
    assert post_form(client, form, quantity="2").status_code == 200
    listing = client.get("/bookings").text
    match = re.search(r'href="(/bookings/([0-9a-f-]{36})/tickets)"', listing)
    assert match, "no link to the tickets on My bookings"
    page = client.get(match.group(1))
    assert page.status_code == 200
    html = page.text
    assert html.count('<svg role="img" aria-label="QR code of ticket') == 2
    codes = re.findall(r'<p class="ticket-code">([A-Z2-7]+)</p>', html)
    assert len(codes) == 2
    keys = _services(shared_app).ticket_keys
    for code in codes:
        keys.verify(code, uuid.UUID(concert["id"]), 1)
    assert "Download PDF" in text(html) and "General admission" in text(html)
    # A guest can see and print them, and is told to sign in to transfer them.
    assert 'action="/tickets/' not in html and "to transfer tickets" in text(html)
    pdf = client.get(f"/bookings/{match.group(2)}/tickets.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    # Another visitor: the same 404 as a booking that doesn't exist.
    with client.visitor() as other:
        other.get("/concerts")
        assert other.get(match.group(1)).status_code == 404
        assert other.get(f"/bookings/{match.group(2)}/tickets.pdf").status_code == 404


def test_the_emailed_link_shows_one_ticket_only_with_its_key(
    client: InProcessClient, shared_app: InProcessApp, shared_db: str
) -> None:
    booking_id, headers, _ = _booked(client, shared_db, 1)
    [ticket] = client.get(f"/api/bookings/{booking_id}/tickets", headers=headers).json()["data"]
    key = _services(shared_app).tickets.link_key(uuid.UUID(ticket["id"]))
    with client.visitor() as anyone:
        page = anyone.get(f"/tickets/{ticket['id']}?key={key}")
        assert page.status_code == 200
        assert f'<p class="ticket-code">{ticket["code"]}</p>' in page.text
        pdf = anyone.get(f"/tickets/{ticket['id']}.pdf?key={key}")
        assert pdf.headers["content-type"] == "application/pdf"
        assert anyone.get(f"/tickets/{ticket['id']}").status_code == 404
        assert anyone.get(f"/tickets/{ticket['id']}?key={key[:-1]}x").status_code == 404
