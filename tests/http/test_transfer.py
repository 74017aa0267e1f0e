"""Transfers over HTTP, production limits on: the old code is revoked at once, the new holder
gets a ticket and an email (read from a real SMTP server), the old holder can't transfer it
again, someone else's or a checked-in ticket can't be transferred, guests can't transfer,
the rate limit answers 429 with Retry-After, and the ticket page's form does the same."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import httpx
from pypdf import PdfReader

from tests.http.conftest import AppFactory
from tests.support.accounts import PASSWORD, register, unique_email
from tests.support.api import book, new_guest
from tests.support.inprocess import InProcessApp, InProcessClient
from tests.support.inventory import execute, fetchval, make_concert
from tests.support.pages import forms, text
from tests.support.smtp import SmtpSink
from ticketbook.services import AppServices
from ticketbook.tickets import codes


def _tickets(client: httpx.Client, booking_id: str, headers: dict[str, str]) -> list[Any]:
    answer = client.get(f"/api/bookings/{booking_id}/tickets", headers=headers)
    assert answer.status_code == 200, answer.text
    tickets: list[Any] = answer.json()["data"]
    return tickets


def _booking(client: httpx.Client, db: str, quantity: int = 2) -> tuple[str, dict[str, str]]:
    concert = make_concert(db, {"GA": 20})
    _, headers = register(client)
    booked = book(client, headers, concert["tiers"]["GA"], quantity)
    assert booked.status_code == 200, booked.text
    return booked.json()["booking"]["id"], headers


def _transfer(
    client: httpx.Client, ticket_id: str, headers: dict[str, str], **body: str
) -> httpx.Response:
    payload = {"email": unique_email("friend"), "name": "Sam Friend", **body}
    return client.post(f"/api/tickets/{ticket_id}/transfer", json=payload, headers=headers)


def test_a_transfer_revokes_the_old_code_and_emails_the_new_holder_their_ticket(
    start_app: AppFactory, db_url: str
) -> None:
    with SmtpSink() as smtp:
        app = start_app(db_url, **smtp.env)
        services: AppServices = app.app.state.services
        with app.client() as client:
            booking_id, owner = _booking(client, db_url)
            smtp.wait_for(1)  # the booking's confirmation
            first, second = _tickets(client, booking_id, owner)
            friend = unique_email("friend")
            answer = _transfer(client, first["id"], owner, email=friend, name="Sam Friend")
            assert answer.status_code == 200, answer.text
            done = answer.json()
            assert done["fromTicketId"] == first["id"] and done["email"] == friend

            # At once: the old ticket is revoked (the door answers REVOKED for its code) and
            # its old holder sees it as transferred, without a code.
            assert (
                fetchval(
                    db_url,
                    "SELECT revoked_reason FROM tickets WHERE id = $1",
                    uuid.UUID(first["id"]),
                )
                == "transferred"
            )
            mine = _tickets(client, booking_id, owner)
            assert [(t["status"], t["code"]) for t in mine] == [
                ("revoked", None),
                ("valid", second["code"]),
            ]
            assert mine[0]["transferredTo"] == "Sam Friend"
            # The old holder can't give it again.
            again = _transfer(client, first["id"], owner)
            assert again.status_code == 409 and again.json()["error"] == "TICKET_REVOKED"

            [message] = [m for m in smtp.wait_for(2) if m["To"] == friend]
            assert "is yours" in message["Subject"]
            body = message.get_body(("plain",))
            assert body is not None
            link = re.search(r"http://tickets\.test(/tickets/\S+)", body.get_content())
            assert link, body.get_content()
            attachment = next(iter(message.iter_attachments()))
            pdf = PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
            assert first["concertName"] in pdf and "Sam Friend" in pdf
            # The link opens the new ticket with its new code, for whoever has the email.
            with client.visitor() as recipient:
                page = recipient.get(link.group(1))
                assert page.status_code == 200
                [new_code] = re.findall(r'<p class="ticket-code">([A-Z2-7]+)</p>', page.text)
        concert_id = uuid.UUID(first["concertId"])
        claim = services.ticket_keys.verify(new_code, concert_id, 1)
        assert str(claim.ticket_id) == done["toTicketId"]
        assert new_code != first["code"]
        old_claim = codes.verify(
            first["code"], services.ticket_keys.signing_key(concert_id, 1).public_key()
        )
        # The old code still carries a valid signature: what refuses it is its revocation.
        assert fetchval(
            db_url, "SELECT revoked_at IS NOT NULL FROM tickets WHERE id = $1", old_claim.ticket_id
        )


def test_someone_elses_ticket_is_not_found(client: httpx.Client, shared_db: str) -> None:
    booking_id, owner = _booking(client, shared_db)
    [ticket, _] = _tickets(client, booking_id, owner)
    _, stranger = register(client)
    answer = _transfer(client, ticket["id"], stranger)
    assert answer.status_code == 404
    assert _transfer(client, ticket["id"], {}).status_code == 401
    assert _tickets(client, booking_id, owner)[0]["status"] == "valid"


def test_an_emailed_link_with_a_wrong_or_non_ascii_key_is_not_found(
    client: httpx.Client, shared_db: str
) -> None:
    """Not a 500: the key is compared as bytes (compare_digest refuses non-ASCII str)."""
    booking_id, owner = _booking(client, shared_db, 1)
    [ticket] = _tickets(client, booking_id, owner)
    for key in ("%C3%A9", "wrong", "%00", "%F0%9F%8E%AB" * 20):
        for path in (f"/tickets/{ticket['id']}", f"/tickets/{ticket['id']}.pdf"):
            answer = client.get(f"{path}?key={key}")
            assert answer.status_code == 404, (path, key, answer.status_code)


def test_a_checked_in_ticket_cant_be_transferred(client: httpx.Client, shared_db: str) -> None:
    booking_id, owner = _booking(client, shared_db, 1)
    [ticket] = _tickets(client, booking_id, owner)
    execute(
        shared_db,
        "INSERT INTO checkins (booking_id, admission, ticket_id, concert_id, gate, scan_id)"
        " SELECT booking_id, admission, id, concert_id, 'North', gen_random_uuid()"
        " FROM tickets WHERE id = $1",
        uuid.UUID(ticket["id"]),
    )
    answer = _transfer(client, ticket["id"], owner)
    assert answer.status_code == 409 and answer.json()["error"] == "TICKET_USED"
    assert _tickets(client, booking_id, owner)[0]["status"] == "used"


def test_guests_cant_transfer_and_bad_input_is_refused(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    guest = new_guest(client)
    booked = book(client, guest, concert["tiers"]["GA"], 1)
    booking_id = booked.json()["booking"]["id"]
    [ticket] = _tickets(client, booking_id, guest)
    answer = _transfer(client, ticket["id"], guest)
    assert answer.status_code == 403 and answer.json()["error"] == "ACCOUNT_REQUIRED"

    booking_id, owner = _booking(client, shared_db, 1)
    [ticket] = _tickets(client, booking_id, owner)
    me = client.get("/api/auth/me", headers=owner).json()["email"]
    for body, status in (
        ({"email": me}, 400),
        ({"email": "nope"}, 400),
        ({"name": ""}, 400),
        ({"name": "x" * 101}, 400),
    ):
        assert _transfer(client, ticket["id"], owner, **body).status_code == status, body
    extra = client.post(
        f"/api/tickets/{ticket['id']}/transfer",
        json={"email": "a@example.com", "name": "A", "admin": True},
        headers=owner,
    )
    assert extra.status_code == 400
    assert _tickets(client, booking_id, owner)[0]["status"] == "valid"


def test_transfers_are_rate_limited_per_account(client: httpx.Client, shared_db: str) -> None:
    """The production rule: 10 an hour per account, every attempt counted."""
    _, fan = register(client)
    for _ in range(10):
        assert _transfer(client, str(uuid.uuid4()), fan).status_code == 404
    limited = _transfer(client, str(uuid.uuid4()), fan)
    assert limited.status_code == 429 and limited.json()["error"] == "RATE_LIMITED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600


def _signed_in_visitor(client: InProcessClient, email: str) -> InProcessClient:
    visitor = client.visitor()
    page = visitor.get("/login")
    token = next(f.fields["csrf_token"] for f in forms(page.text) if "csrf_token" in f.fields)
    signed_in = visitor.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 303, signed_in.text
    return visitor


def test_the_ticket_pages_transfer_form(client: InProcessClient, shared_db: str) -> None:
    email = unique_email()
    concert = make_concert(shared_db, {"GA": 20})
    _, headers = register(client, email)
    booked = book(client, headers, concert["tiers"]["GA"], 2)
    booking_id = booked.json()["booking"]["id"]
    with _signed_in_visitor(client, email) as visitor:
        page = visitor.get(f"/bookings/{booking_id}/tickets").text
        transfer_forms = [f for f in forms(page) if f.action.endswith("/transfer")]
        assert len(transfer_forms) == 2
        first = transfer_forms[0]
        # Refused: the page again, the error announced next to the form, what was typed kept.
        refused = visitor.post(first.action, data=first.filled(email=email, name="Me"))
        assert refused.status_code == 400
        assert 'role="alert"' in refused.text and "your own email" in text(refused.text)
        done = visitor.post(
            first.action,
            data=first.filled(email=unique_email("friend"), name="Robin"),
            follow_redirects=False,
        )
        assert done.status_code == 303
        after = visitor.get(done.headers["location"]).text
        assert "Ticket 1 is now Robin's" in text(after)
        assert len(re.findall(r'<p class="ticket-code">', after)) == 1
        assert len([f for f in forms(after) if f.action.endswith("/transfer")]) == 1


def test_the_recipient_sees_the_ticket_on_my_bookings(
    client: InProcessClient, shared_app: InProcessApp, shared_db: str
) -> None:
    booking_id, owner = _booking(client, shared_db, 1)
    [ticket] = _tickets(client, booking_id, owner)
    friend = unique_email("friend")
    _, friend_headers = register(client, friend)
    assert _transfer(client, ticket["id"], owner, email=friend).status_code == 200
    theirs = _tickets(client, booking_id, friend_headers)
    assert [t["status"] for t in theirs] == ["valid"] and theirs[0]["holder"] == "Sam Friend"
    with _signed_in_visitor(client, friend) as visitor:
        listing = visitor.get("/bookings").text
        assert "Tickets transferred to you" in text(listing)
        assert f"/bookings/{booking_id}/tickets#ticket-" in listing
        page = visitor.get(f"/bookings/{booking_id}/tickets")
        assert page.status_code == 200 and theirs[0]["code"] in page.text
