"""Every booking outcome, through both edges: the API's status and body (and a replay of the
same key giving exactly that answer again), and the page's result panel.

The shared app runs the production defaults (per-fan cap 10, rate limits on); the tests that
need declines, expiry or a payment in flight start an app of their own.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.conftest import AppFactory
from tests.support.api import book, new_guest
from tests.support.inprocess import InProcessApp
from tests.support.inventory import (
    execute,
    fetch,
    fetchval,
    make_concert,
    set_available,
    tier_counts,
)
from tests.support.pages import Form, booking_form, forms, post_form, text, title
from tests.support.seating import seated_concert
from ticketbook.booking.idempotency import booking_fingerprint
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.payments.gateway import ChargeOutcome, ChargeResult, RefundResult
from ticketbook.seating.demo_layouts import section_block

DECLINING = {
    "TICKETBOOK_PAYMENT_SUCCESS_RATE": "0",
    "TICKETBOOK_PAYMENT_TIMEOUT_SHARE": "0",
    "TICKETBOOK_PAYMENT_ERROR_SHARE": "0",
}
# The hold runs out while the (slow) payment is still out: the payment lands too late.
EXPIRING = {"TICKETBOOK_HOLD_SECONDS": "0.05", "TICKETBOOK_PAYMENT_LATENCY_MS": "300"}


def error_of(response: httpx.Response) -> str | None:
    body: dict[str, Any] = response.json()
    return body.get("error")


def replayed(client: httpx.Client, first: httpx.Response) -> httpx.Response:
    """The same request again, same key and headers."""
    request = first.request
    return client.post(str(request.url), content=request.content, headers=dict(request.headers))


def assert_replays_exactly(client: httpx.Client, first: httpx.Response) -> None:
    again = replayed(client, first)
    assert (again.status_code, again.json()) == (first.status_code, first.json())


def outcome_panel(response: httpx.Response) -> str:
    """The data-outcome of the page's result panel."""
    marker = 'data-outcome="'
    start = response.text.index(marker) + len(marker)
    return response.text[start : response.text.index('"', start)]


def book_on_page(client: httpx.Client, concert_id: str, tier_id: str, quantity: int) -> Any:
    form = booking_form(client.get(f"/concerts/{concert_id}").text, tier_id)
    return form, post_form(client, form, quantity=str(quantity))


def test_the_shared_app_runs_the_production_cap(shared_app: InProcessApp) -> None:
    assert shared_app.settings.limits.max_tickets_per_concert == 10
    assert shared_app.settings.limits.booking_per_account.enabled


# --- the API ---------------------------------------------------------------------------------


def test_api_confirmed(client: httpx.Client, shared_db: str) -> None:
    tier = make_concert(shared_db, {"GA": 5})["tiers"]["GA"]
    first = book(client, new_guest(client), tier, 2)
    assert first.status_code == 200
    assert first.json()["booking"]["status"] == "CONFIRMED"
    assert first.json()["message"] == "Booking confirmed"
    assert_replays_exactly(client, first)
    assert tier_counts(shared_db, tier)["available"] == 3


def test_api_declined(start_app: AppFactory, db_url: str) -> None:
    app = start_app(db_url, **DECLINING)
    tier = make_concert(db_url, {"GA": 5})["tiers"]["GA"]
    with app.client() as client:
        first = book(client, new_guest(client), tier, 2)
        assert first.status_code == 402
        assert first.json()["booking"]["status"] == "FAILED"
        assert first.json()["message"].startswith("Payment failed (card declined)")
        assert_replays_exactly(client, first)
    assert tier_counts(db_url, tier)["available"] == 5


def test_api_expired(start_app: AppFactory, db_url: str) -> None:
    app = start_app(db_url, **EXPIRING)
    tier = make_concert(db_url, {"GA": 5})["tiers"]["GA"]
    with app.client() as client:
        first = book(client, new_guest(client), tier, 1)
        assert first.status_code == 402
        assert first.json()["booking"]["status"] == "EXPIRED"
        assert "hold expired" in first.json()["message"]
        assert_replays_exactly(client, first)
    assert tier_counts(db_url, tier)["available"] == 5


def test_api_sold_out(client: httpx.Client, shared_db: str) -> None:
    tier = make_concert(shared_db, {"GA": 1})["tiers"]["GA"]
    first = book(client, new_guest(client), tier, 2)
    assert (first.status_code, error_of(first)) == (409, "SOLD_OUT")
    assert_replays_exactly(client, first)


def stuck_hold(url: str, tier_id: str) -> None:
    """The tier's only ticket, held by a payment whose process died an hour ago: past the
    payments' deadline, not yet expired (the reaper returns it in five minutes)."""
    execute(
        url,
        "WITH guest AS (INSERT INTO users DEFAULT VALUES RETURNING id)"
        " INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents,"
        " total_cents, currency, status, hold_expires_at, created_at)"
        " SELECT guest.id, t.concert_id, t.id, 1, t.price_cents, t.price_cents, t.currency,"
        " 'PENDING', now() + interval '5 minutes', now() - interval '1 hour'"
        " FROM ticket_tiers t, guest WHERE t.id = $1",
        uuid.UUID(tier_id),
    )
    set_available(url, tier_id, 0)


def test_api_all_held(client: httpx.Client, shared_db: str) -> None:
    tier = make_concert(shared_db, {"GA": 1})["tiers"]["GA"]
    stuck_hold(shared_db, tier)
    first = book(client, new_guest(client), tier, 1)
    assert (first.status_code, error_of(first)) == (409, "ALL_HELD")
    assert 250 <= int(first.headers["Retry-After"]) <= 300  # when the reaper frees it
    # Not final, so not remembered: the same key asks again (and would book once freed).
    again = replayed(client, first)
    assert (again.status_code, error_of(again)) == (409, "ALL_HELD")


def test_api_concert_over(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    execute(
        shared_db,
        "UPDATE concerts SET starts_at = now() - interval '1 hour' WHERE id = $1",
        uuid.UUID(concert["id"]),
    )
    first = book(client, new_guest(client), concert["tiers"]["GA"], 1)
    assert (first.status_code, error_of(first)) == (409, "CONCERT_STARTED")
    assert_replays_exactly(client, first)


def test_api_ticket_cap_at_the_default(client: httpx.Client, shared_db: str) -> None:
    tier = make_concert(shared_db, {"GA": 50})["tiers"]["GA"]
    fan = new_guest(client)
    assert [book(client, fan, tier, n).status_code for n in (6, 4)] == [200, 200]
    first = book(client, fan, tier, 1)
    assert (first.status_code, error_of(first)) == (409, "TICKET_LIMIT_REACHED")
    assert first.json()["message"] == "You can hold at most 10 tickets for one concert"
    assert_replays_exactly(client, first)
    assert tier_counts(shared_db, tier)["available"] == 40


def test_api_unknown_tier(client: httpx.Client) -> None:
    first = book(client, new_guest(client), str(uuid.uuid4()), 1)
    assert (first.status_code, error_of(first)) == (404, "TIER_NOT_FOUND")
    assert_replays_exactly(client, first)


def test_api_key_reused(client: httpx.Client, shared_db: str) -> None:
    tier = make_concert(shared_db, {"GA": 5})["tiers"]["GA"]
    fan, key = new_guest(client), str(uuid.uuid4())
    assert book(client, fan, tier, 1, key=key).status_code == 200
    other = book(client, fan, tier, 2, key=key)
    assert (other.status_code, error_of(other)) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert tier_counts(shared_db, tier)["available"] == 4


class HeldGateway:
    """Approves every charge, but only once the test lets it: a payment in flight."""

    def __init__(self) -> None:
        self.charging = asyncio.Event()
        self.release = asyncio.Event()

    async def charge(self, *, key: uuid.UUID, amount_cents: int, currency: str) -> ChargeResult:
        self.charging.set()
        await self.release.wait()
        return ChargeResult(ChargeOutcome.SUCCEEDED, provider_reference=f"held-{key}")

    async def refund(self, *, key: uuid.UUID) -> RefundResult:
        return RefundResult(refunded=True, provider_reference=f"refund-{key}")


def test_api_in_progress_then_the_first_answer(start_app: AppFactory, db_url: str) -> None:
    gateway = HeldGateway()
    app = start_app(db_url, gateway=gateway)
    tier = make_concert(db_url, {"GA": 5})["tiers"]["GA"]
    with app.client() as client:
        fan = new_guest(client)
    key = str(uuid.uuid4())
    request = {
        "json": {"ticketTierId": tier, "quantity": 2},
        "headers": {**fan, "Idempotency-Key": key},
    }

    async def scene() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with app.async_client() as api:
            first = asyncio.create_task(api.post("/api/bookings", **request))
            await asyncio.wait_for(gateway.charging.wait(), 10)
            during = await api.post("/api/bookings", **request)
            gateway.release.set()
            answer = await first
            after = await api.post("/api/bookings", **request)
        return during, answer, after

    during, answer, after = app.run(scene)
    assert (during.status_code, error_of(during)) == (409, "REQUEST_IN_PROGRESS")
    assert answer.status_code == 200
    assert (after.status_code, after.json()) == (200, answer.json())
    assert tier_counts(db_url, tier)["available"] == 3


# --- reserved seats through the API ---------------------------------------------------------


def _seats(shared_db: str, tmp_path: Path, rows: int = 2, seats: int = 6) -> dict[str, Any]:
    return seated_concert(shared_db, tmp_path, section_block(rows, seats))


def test_api_seat_taken_names_the_seat_and_offers_the_nearest(
    client: httpx.Client, shared_db: str, tmp_path: Path
) -> None:
    tier = str(_seats(shared_db, tmp_path)["zones"]["standard"])
    assert book(client, new_guest(client), tier, seats=["S:A:3", "S:A:4"]).status_code == 200
    first = book(client, new_guest(client), tier, seats=["S:A:4", "S:A:5"])
    assert (first.status_code, error_of(first)) == (409, "SEAT_TAKEN")
    details = first.json()["details"]
    assert details["seats"] == ["S:A:4"]
    assert "S:A:4" in first.json()["message"]
    assert details["alternatives"] and all(len(a) == 2 for a in details["alternatives"])
    assert not any("S:A:3" in a or "S:A:4" in a for a in details["alternatives"])
    assert_replays_exactly(client, first)


def test_api_not_together(client: httpx.Client, shared_db: str, tmp_path: Path) -> None:
    tier = str(_seats(shared_db, tmp_path, rows=1, seats=5)["zones"]["standard"])
    # S:A:3 sold: 4 seats are free, but only 2 side by side.
    assert book(client, new_guest(client), tier, seats=["S:A:3"]).status_code == 200
    first = book(client, new_guest(client), tier, 3)
    assert (first.status_code, error_of(first)) == (409, "NOT_TOGETHER")
    assert_replays_exactly(client, first)
    assert book(client, new_guest(client), tier, 2).status_code == 200


def test_api_unknown_seat(client: httpx.Client, shared_db: str, tmp_path: Path) -> None:
    tier = str(_seats(shared_db, tmp_path)["zones"]["standard"])
    first = book(client, new_guest(client), tier, seats=["S:Z:99"])
    assert (first.status_code, error_of(first)) == (404, "SEAT_NOT_FOUND")
    assert_replays_exactly(client, first)


def test_api_not_seated(client: httpx.Client, shared_db: str) -> None:
    tier = make_concert(shared_db, {"GA": 5})["tiers"]["GA"]
    first = book(client, new_guest(client), tier, seats=["S:A:1"])
    assert (first.status_code, error_of(first)) == (409, "NOT_SEATED")
    assert_replays_exactly(client, first)
    assert tier_counts(shared_db, tier)["available"] == 5


def test_api_best_available_by_quantity_as_the_brief_books(
    client: httpx.Client, shared_db: str, tmp_path: Path
) -> None:
    # The brief's body ({ticketTierId, quantity}) on a seated tier: the best seats together.
    tier = str(_seats(shared_db, tmp_path)["zones"]["standard"])
    answer = book(client, new_guest(client), tier, 3)
    assert answer.status_code == 200
    assert len(answer.json()["booking"]["seats"]) == 3
    in_section = book(client, new_guest(client), tier, 2, section="S")
    assert in_section.status_code == 200
    assert not set(in_section.json()["booking"]["seats"]) & set(answer.json()["booking"]["seats"])


# --- the pages -------------------------------------------------------------------------------


def test_page_confirmed(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    _, result = book_on_page(client, concert["id"], concert["tiers"]["GA"], 2)
    assert (result.status_code, outcome_panel(result)) == (200, "confirmed")
    assert title(result.text).startswith("Booking confirmed")


def test_page_declined(start_app: AppFactory, db_url: str) -> None:
    app = start_app(db_url, **DECLINING)
    concert = make_concert(db_url, {"GA": 5})
    with app.client() as client:
        _, result = book_on_page(client, concert["id"], concert["tiers"]["GA"], 2)
    assert (result.status_code, outcome_panel(result)) == (402, "declined")
    assert title(result.text).startswith("Payment declined")


def test_page_expired(start_app: AppFactory, db_url: str) -> None:
    app = start_app(db_url, **EXPIRING)
    concert = make_concert(db_url, {"GA": 5})
    with app.client() as client:
        _, result = book_on_page(client, concert["id"], concert["tiers"]["GA"], 1)
    assert (result.status_code, outcome_panel(result)) == (402, "expired")
    assert title(result.text).startswith("Payment too slow")
    assert "Your hold ran out" in text(result.text)


def test_page_sold_out(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 1})
    _, result = book_on_page(client, concert["id"], concert["tiers"]["GA"], 2)
    assert (result.status_code, outcome_panel(result)) == (409, "sold-out")
    assert title(result.text).startswith("Not enough tickets")


def test_page_all_held(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 1})
    stuck_hold(shared_db, concert["tiers"]["GA"])
    _, result = book_on_page(client, concert["id"], concert["tiers"]["GA"], 1)
    assert (result.status_code, outcome_panel(result)) == (409, "all-held")
    assert title(result.text).startswith("Tickets held right now")
    assert "held by fans whose payments are going through" in text(result.text)
    assert int(result.headers["Retry-After"]) >= 250


def test_page_concert_over(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, concert["tiers"]["GA"])
    # It starts while the fan has the page open.
    execute(
        shared_db,
        "UPDATE concerts SET starts_at = now() - interval '1 minute' WHERE id = $1",
        uuid.UUID(concert["id"]),
    )
    result = post_form(client, form, quantity="1")
    assert (result.status_code, outcome_panel(result)) == (409, "concert-over")
    assert title(result.text).startswith("Tickets off sale")


def test_page_ticket_cap_at_the_default(client: httpx.Client, shared_db: str) -> None:
    """The bug this issue names: over the cap, the page said "Tier not found" (404)."""
    concert = make_concert(shared_db, {"GA": 50})
    tier = concert["tiers"]["GA"]
    _, result = book_on_page(client, concert["id"], tier, 10)
    assert outcome_panel(result) == "confirmed"
    _, result = book_on_page(client, concert["id"], tier, 1)
    assert (result.status_code, outcome_panel(result)) == (409, "ticket-cap")
    assert title(result.text).startswith("Ticket limit reached")
    assert "at most 10 tickets for one concert" in text(result.text)
    assert tier_counts(shared_db, tier)["available"] == 40


def test_page_unknown_tier(client: httpx.Client, shared_db: str) -> None:
    """A tier that vanished while the page was open: a clear 404, nothing booked. (The
    engine's own unknown-tier panel is rendered in tests/unit/test_booking_panels.py.)"""
    concert = make_concert(shared_db, {"GA": 5, "VIP": 5})
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, concert["tiers"]["VIP"])
    execute(shared_db, "DELETE FROM ticket_tiers WHERE id = $1", uuid.UUID(concert["tiers"]["VIP"]))
    result = post_form(client, form, quantity="1")
    assert result.status_code == 404
    assert "That ticket tier isn't part of this concert." in text(result.text)


def test_page_key_reused(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    form, first = book_on_page(client, concert["id"], concert["tiers"]["GA"], 1)
    assert outcome_panel(first) == "confirmed"
    again = post_form(client, form, quantity="2")  # the same form's key, another request
    assert (again.status_code, outcome_panel(again)) == (409, "key-reused")
    assert title(again.text).startswith("Form already sent")


def test_page_in_progress(start_app: AppFactory, db_url: str) -> None:
    """A resubmitted form whose first request is still unanswered (its process died while
    paying; the reaper will answer it): after waiting out the payment timeout, the page says
    so instead of booking again."""
    app = start_app(db_url, TICKETBOOK_PAYMENT_TIMEOUT_MS="100")
    concert = make_concert(db_url, {"GA": 5})
    tier = concert["tiers"]["GA"]
    with app.client() as client:
        form = booking_form(client.get(f"/concerts/{concert['id']}").text, tier)
        user_id = uuid.UUID(client.cookies["tb_session"].split(".")[0])
        execute(db_url, "INSERT INTO users (id) VALUES ($1)", user_id)
        execute(
            db_url,
            "INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES ($1, $2, $3)",
            user_id,
            uuid.UUID(form.fields["idempotency_key"]),
            booking_fingerprint(uuid.UUID(tier), 1),
        )
        result = post_form(client, form, quantity="1")
    assert (result.status_code, outcome_panel(result)) == (409, "in-progress")
    assert title(result.text).startswith("Still processing")
    assert tier_counts(db_url, tier)["available"] == 5


# --- the pages, reserved seats ------------------------------------------------------------


def seat_form(client: httpx.Client, concert: dict[str, Any]) -> Form:
    """The seat map's selection form (the map's script fills in its tier and seats)."""
    html = client.get(f"/concerts/{concert['id']}").text
    [form] = [f for f in forms(html) if "primary" in f.data and not f.options]
    return form


def best_available_form(client: httpx.Client, concert: dict[str, Any]) -> Form:
    html = client.get(f"/concerts/{concert['id']}").text
    [form] = [f for f in forms(html) if "section" in f.options]
    return form


def book_seats_on_page(
    client: httpx.Client, concert: dict[str, Any], tier_id: str, codes: list[str]
) -> httpx.Response:
    form = seat_form(client, concert)
    return client.post(form.action, data={**form.filled(tier_id=str(tier_id)), "seat": codes})


def booked_seats(url: str, concert: dict[str, Any]) -> set[str]:
    rows = fetch(
        url,
        "SELECT code FROM concert_seats WHERE concert_id = $1 AND booking_id IS NOT NULL",
        uuid.UUID(concert["id"]),
    )
    return {r["code"] for r in rows}


def test_page_seat_taken(
    client: httpx.Client, shared_app: InProcessApp, shared_db: str, tmp_path: Path
) -> None:
    concert = seated_concert(shared_db, tmp_path, section_block(2, 6))
    tier = concert["zones"]["standard"]
    assert outcome_panel(book_seats_on_page(client, concert, tier, ["S:A:3"])) == "confirmed"
    with shared_app.client() as other:
        result = book_seats_on_page(other, concert, tier, ["S:A:3", "S:A:4"])
    assert (result.status_code, outcome_panel(result)) == (409, "seat-taken")
    assert title(result.text).startswith("Seats just taken")
    page = text(result.text)
    assert "Section S, row A, seat 3 was just booked by another fan." in page
    # The nearest block of two free seats first, as a one-click form.
    assert "Book Section S, row A, seats 4 and 5 · $100.00" in page
    assert booked_seats(shared_db, concert) == {"S:A:3"}


def test_page_not_together(
    client: httpx.Client, shared_app: InProcessApp, shared_db: str, tmp_path: Path
) -> None:
    concert = seated_concert(shared_db, tmp_path, section_block(1, 5))
    tier = concert["zones"]["standard"]
    assert outcome_panel(book_seats_on_page(client, concert, tier, ["S:A:2", "S:A:4"])) == (
        "confirmed"
    )
    with shared_app.client() as other:
        result = post_form(other, best_available_form(other, concert), quantity="2")
    assert (result.status_code, outcome_panel(result)) == (409, "not-together")
    assert title(result.text).startswith("Not enough seats together")
    assert (
        "There aren't 2 Standard seats side by side free right now, though 3 are free apart."
        in (text(result.text))
    )


def test_page_unknown_seat(client: httpx.Client, shared_db: str, tmp_path: Path) -> None:
    concert = seated_concert(shared_db, tmp_path, section_block(1, 5))
    result = book_seats_on_page(client, concert, concert["zones"]["standard"], ["S:A:9"])
    assert (result.status_code, outcome_panel(result)) == (404, "unknown-seat")
    assert title(result.text).startswith("Seat not found")
    assert "That seat is not a Standard seat of this concert" in text(result.text)
    assert booked_seats(shared_db, concert) == set()


def test_page_not_seated(client: httpx.Client, shared_db: str, tmp_path: Path) -> None:
    concert = seated_concert(shared_db, tmp_path, section_block(1, 5))
    result = book_seats_on_page(client, concert, concert["tiers"]["GA"], ["S:A:1"])
    assert (result.status_code, outcome_panel(result)) == (409, "not-seated")
    assert title(result.text).startswith("No seats in this tier")
    # The standing tickets themselves can still be booked, without seats.
    [offer] = [f for f in forms(result.text) if f.fields.get("tier_id") == concert["tiers"]["GA"]]
    assert offer.fields["quantity"] == "1" and "seat" not in offer.fields
    assert outcome_panel(post_form(client, offer)) == "confirmed"


def stuck_seat_hold(url: str, tier_id: str, code: str) -> None:
    """One seat held by a payment whose process died an hour ago (as `stuck_hold`)."""
    tier = uuid.UUID(str(tier_id))
    booking = fetchval(
        url,
        "WITH guest AS (INSERT INTO users DEFAULT VALUES RETURNING id)"
        " INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents,"
        " total_cents, currency, status, hold_expires_at, created_at)"
        " SELECT guest.id, t.concert_id, t.id, 1, t.price_cents, t.price_cents, t.currency,"
        " 'PENDING', now() + interval '5 minutes', now() - interval '1 hour'"
        " FROM ticket_tiers t, guest WHERE t.id = $1 RETURNING id",
        tier,
    )
    execute(
        url,
        "UPDATE concert_seats SET booking_id = $3 WHERE tier_id = $1 AND code = $2",
        tier,
        code,
        booking,
    )
    execute(url, "UPDATE tier_stock SET available = available - 1 WHERE tier_id = $1", tier)


def test_page_all_held_seats_may_come_back(
    client: httpx.Client, shared_db: str, tmp_path: Path
) -> None:
    concert = seated_concert(shared_db, tmp_path, section_block(1, 6))
    tier = concert["zones"]["standard"]
    stuck_seat_hold(shared_db, tier, "S:A:2")
    result = book_seats_on_page(client, concert, tier, ["S:A:2", "S:A:3"])
    assert (result.status_code, outcome_panel(result)) == (409, "all-held")
    assert title(result.text).startswith("Tickets held right now")
    page = text(result.text)
    assert "Section S, row A, seat 2 is held for fans whose payments are going through" in page
    assert "its seats come back on sale shortly" in page
    assert int(result.headers["Retry-After"]) >= 250
    # The same seats again (a new key), or free seats nearby.
    assert "Try these seats again" in page and re.search(
        r'name="seat" value="S:A:2">\s*<input type="hidden" name="seat" value="S:A:3">', result.text
    )
    assert "Book Section S, row A, seats 3 and 4 · $100.00" in page
    assert booked_seats(shared_db, concert) == {"S:A:2"}


@pytest.mark.parametrize("outcome", list(BookingOutcome))
def test_every_outcome_has_both_tests(outcome: BookingOutcome) -> None:
    """Adding an outcome without its API and page tests fails here."""
    name = outcome.value.replace("_", " ")
    tests = {n for n in globals() if n.startswith(("test_api_", "test_page_"))}
    slug = outcome.value
    assert any(t.startswith(f"test_api_{slug}") for t in tests), f"no API test for {name}"
    assert any(t.startswith(f"test_page_{slug}") for t in tests), f"no page test for {name}"
