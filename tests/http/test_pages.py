"""The fan's pages through the app in-process, the way a browser without JavaScript uses them:
forms, the guest session cookie, CSRF, idempotent resubmission, results and error pages."""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from tests.http.conftest import AppFactory
from tests.support.inprocess import InProcessApp
from tests.support.inventory import (
    execute,
    fetch,
    fetchval,
    make_concert,
    set_available,
    snapshot,
    tier_counts,
)
from tests.support.pages import booking_form, forms, post_form, reference, text, title
from ticketbook.auth.tokens import TokenSigner

STATIC = Path(__file__).resolve().parents[2] / "src" / "ticketbook" / "web" / "static"
TEMPLATES = STATIC.parent / "templates"
# An id nothing has: fixed, because it names parametrized tests, and every pytest-xdist worker
# must collect the same names.
NO_SUCH_ID = "5b0d3c1e-0000-4000-8000-000000000404"


def session_user(client: httpx.Client) -> uuid.UUID:
    token = client.cookies.get("tb_session")
    assert token, "no session cookie"
    return uuid.UUID(hex=token.partition(".")[0])


def bookings_of(db: str, user_id: uuid.UUID) -> list[dict]:
    rows = fetch(
        db,
        "SELECT id, status, quantity, tier_id FROM bookings WHERE user_id = $1 ORDER BY created_at",
        user_id,
    )
    return [dict(r) for r in rows]


# -- pages render --------------------------------------------------------------------------


def test_every_page_has_a_title_navigation_and_html(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"VIP": 5, "GA": 50})
    for path, expected_title in (
        ("/", "Concert tickets · TicketBook"),
        ("/concerts", "Upcoming concerts · TicketBook"),
        (f"/concerts/{concert['id']}", None),
        ("/bookings", "My bookings · TicketBook"),
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        assert response.headers["content-type"].startswith("text/html")
        page_title = title(response.text)
        if expected_title:
            assert page_title == expected_title
        else:
            assert page_title.startswith("Test concert") and page_title.endswith("· TicketBook")
        assert '<nav class="site-nav" aria-label="Main">' in response.text
        assert 'href="/concerts"' in response.text and 'href="/bookings"' in response.text
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in (
            response.text
        )
        assert response.headers["cache-control"] == "private, no-cache"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_concert_list_shows_date_venue_artist_price_and_badges(
    client: httpx.Client, shared_db: str
) -> None:
    plenty = make_concert(shared_db, {"VIP": 10, "GA": 100}, price_cents=2500)
    fast = make_concert(shared_db, {"GA": 100})
    gone = make_concert(shared_db, {"GA": 3})
    # Catalog states only (no bookings behind them): the badges read the counts.
    set_available(shared_db, fast["tiers"]["GA"], 9)
    set_available(shared_db, gone["tiers"]["GA"], 0)
    html = client.get("/concerts").text

    def card(concert_id: str) -> str:
        match = re.search(
            rf'<li class="concert-card">(?:(?!</li>).)*?/concerts/{concert_id}".*?</li>', html, re.S
        )
        assert match, f"no card for {concert_id}"
        return text(match.group(0))

    plenty_card = card(plenty["id"])
    assert "Available" in plenty_card and "From $25.00" in plenty_card
    assert "Test Artist" in plenty_card and "Test Venue" in plenty_card
    assert re.search(r"\w{3} \d{1,2} \w{3} \d{4} · \d\d:\d\d UTC", plenty_card)
    assert "Selling fast" in card(fast["id"])  # 9 of 100 left: under 10%
    assert "Sold out" in card(gone["id"])


def test_concert_page_offers_each_tier_up_to_ten_or_what_is_left(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"VIP": 4, "FRONT_ROW": 50, "GA": 0}, price_cents=1234)
    html = client.get(f"/concerts/{concert['id']}").text
    vip = booking_form(html, concert["tiers"]["VIP"])
    front = booking_form(html, concert["tiers"]["FRONT_ROW"])
    ga = booking_form(html, concert["tiers"]["GA"])
    assert vip.options["quantity"] == ["1", "2", "3", "4"]
    assert front.options["quantity"] == [str(n) for n in range(1, 11)]
    assert "quantity" in ga.disabled and ga.button_disabled
    assert "4 of 4 left" in text(html) and "0 of 0 left" in text(html)
    assert "$12.34" in html
    # Every booking form carries its own fresh idempotency key and the session's CSRF token.
    keys = {f.fields["idempotency_key"] for f in (vip, front, ga)}
    assert len(keys) == 3 and all(uuid.UUID(k) for k in keys)
    assert vip.fields["csrf_token"] == front.fields["csrf_token"] != ""
    # Every control has a label.
    for control_id in re.findall(r'<select id="([^"]+)"', html):
        assert f'<label for="{control_id}">' in html


# -- the guest session ---------------------------------------------------------------------


def test_first_visit_gets_a_signed_httponly_samesite_cookie(shared_app: InProcessApp) -> None:
    with shared_app.client() as client:
        first = client.get("/concerts")
        cookie = first.headers["set-cookie"]
        assert cookie.startswith("tb_session=")
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite", "path", "max-age"} <= attributes
        assert "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
        assert "secure" not in attributes  # plain HTTP
        token = client.cookies["tb_session"]
        user_id, _, signature = token.partition(".")
        assert uuid.UUID(hex=user_id) and signature
        # The session sticks: no new cookie on the next pages.
        assert "set-cookie" not in client.get("/bookings").headers
        assert "set-cookie" not in client.get("/").headers


def test_cookie_is_secure_over_https(shared_app: InProcessApp) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1, as from a TLS-terminating proxy.
    response = shared_app.client().get("/concerts", headers={"X-Forwarded-Proto": "https"})
    attributes = [p.strip().lower() for p in response.headers["set-cookie"].split(";")]
    assert "secure" in attributes and "httponly" in attributes


def test_a_forged_or_foreign_cookie_is_not_trusted(client: httpx.Client) -> None:
    forged = f"{uuid.uuid4().hex}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    client.cookies.set("tb_session", forged)
    response = client.get("/bookings")
    assert response.status_code == 200
    assert "No bookings yet" in response.text
    assert response.cookies.get("tb_session") not in (None, forged)  # replaced by a new one


def test_browsing_writes_nothing(client: httpx.Client, shared_db: str) -> None:
    users_before = fetchval(shared_db, "SELECT count(*) FROM users")
    for path in ("/", "/concerts", "/bookings"):
        assert client.get(path).status_code == 200
    assert fetchval(shared_db, "SELECT count(*) FROM users") == users_before


# -- booking without JavaScript ------------------------------------------------------------


def test_book_see_and_cancel_without_javascript(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"VIP": 5, "GA": 20}, price_cents=5000)
    tier = concert["tiers"]["VIP"]
    page = client.get(f"/concerts/{concert['id']}")
    form = booking_form(page.text, tier)
    assert form.action == f"/concerts/{concert['id']}/book" and form.method == "post"

    result = post_form(client, form, quantity="2")
    assert result.status_code == 200, result.text[:500]
    assert title(result.text).startswith("Booking confirmed")
    ref = reference(result.text)
    assert "2 \u00d7 VIP · $100.00 paid" in text(result.text)

    user = session_user(client)
    mine = bookings_of(shared_db, user)
    assert [(b["status"], b["quantity"]) for b in mine] == [("CONFIRMED", 2)]
    assert ref == "TB-" + mine[0]["id"].hex[:8].upper()
    assert tier_counts(shared_db, tier)["available"] == 3

    listing = client.get("/bookings").text
    assert ref in listing and "Confirmed" in text(listing) and "$100.00" in listing
    cancel_form = next(f for f in forms(listing) if f.action.endswith("/cancel"))
    assert cancel_form.action == f"/bookings/{mine[0]['id']}/cancel"

    cancelled = client.post(cancel_form.action, data=cancel_form.fields, follow_redirects=False)
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"/bookings?cancelled={mine[0]['id']}"
    after = client.get(cancelled.headers["location"]).text
    assert f"Booking {ref} is cancelled" in text(after)
    assert not any(f.action.endswith("/cancel") for f in forms(after))
    assert bookings_of(shared_db, user)[0]["status"] == "CANCELLED"
    assert tier_counts(shared_db, tier)["available"] == 5
    assert "5 of 5 left" in text(client.get(f"/concerts/{concert['id']}").text)


def test_a_resubmitted_form_books_once(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    tier = concert["tiers"]["GA"]
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, tier)
    first = post_form(client, form, quantity="3")
    again = post_form(client, form, quantity="3")  # refresh / Back + submit: same key
    assert first.status_code == again.status_code == 200
    assert reference(first.text) == reference(again.text)
    assert len(bookings_of(shared_db, session_user(client))) == 1
    assert tier_counts(shared_db, tier) == {"available": 7, "total": 10, "CONFIRMED": 3}
    assert (
        fetchval(
            shared_db,
            "SELECT count(*) FROM payments p JOIN bookings b ON b.id = "
            "p.booking_id WHERE b.tier_id = $1",
            uuid.UUID(tier),
        )
        == 1
    )
    # A fresh page means a fresh key: that is a second booking, on purpose.
    fresh = booking_form(client.get(f"/concerts/{concert['id']}").text, tier)
    assert fresh.fields["idempotency_key"] != form.fields["idempotency_key"]
    assert post_form(client, fresh, quantity="1").status_code == 200
    assert len(bookings_of(shared_db, session_user(client))) == 2


def test_a_double_click_without_javascript_books_once(start_app: AppFactory, db_url: str) -> None:
    """Two POSTs of the same form at once (a browser without JS sends both): the second
    waits for the first one's answer and shows the same booking."""
    app = start_app(db_url, TICKETBOOK_PAYMENT_LATENCY_MS="400")
    concert = make_concert(db_url, {"GA": 10})
    tier = concert["tiers"]["GA"]
    with app.client() as client:
        form = booking_form(client.get(f"/concerts/{concert['id']}").text, tier)
        answers: list[httpx.Response] = []
        barrier = threading.Barrier(2)

        def click() -> None:
            with app.client(address=client.address, cookies=client.cookies) as c:
                barrier.wait()
                answers.append(post_form(c, form, quantity="2"))

        threads = [threading.Thread(target=click) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
        assert reference(answers[0].text) == reference(answers[1].text)
        assert len(bookings_of(db_url, session_user(client))) == 1
        assert tier_counts(db_url, tier) == {"available": 8, "total": 10, "CONFIRMED": 2}


def test_not_enough_tickets_shows_the_current_count(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    tier = concert["tiers"]["GA"]
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, tier)
    # Someone else bought 8 in the meantime (as a smaller tier, to keep the test short).
    execute(shared_db, "UPDATE ticket_tiers SET total_quantity = 2 WHERE id = $1", uuid.UUID(tier))
    set_available(shared_db, tier, 2)
    result = post_form(client, form, quantity="5")
    assert result.status_code == 409
    assert title(result.text).startswith("Not enough tickets")
    assert "only 2 General admission tickets are left now" in text(result.text)
    # A form for what is left, with a fresh key and at most 2.
    again = booking_form(result.text, tier)
    assert again.options["quantity"] == ["1", "2"]
    assert again.fields["idempotency_key"] != form.fields["idempotency_key"]
    assert bookings_of(shared_db, session_user(client)) == []


def test_a_declined_payment_offers_a_retry_with_a_new_key(
    start_app: AppFactory, db_url: str
) -> None:
    app = start_app(
        db_url,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="0",
        TICKETBOOK_PAYMENT_TIMEOUT_SHARE="0",
        TICKETBOOK_PAYMENT_ERROR_SHARE="0",
    )
    concert = make_concert(db_url, {"VIP": 3})
    tier = concert["tiers"]["VIP"]
    with app.client() as client:
        form = booking_form(client.get(f"/concerts/{concert['id']}").text, tier)
        declined = post_form(client, form, quantity="2")
        assert declined.status_code == 402
        assert title(declined.text).startswith("Payment declined")
        assert "went back on sale" in text(declined.text)
        retry = next(f for f in forms(declined.text) if f.fields.get("tier_id") == tier)
        assert retry.fields["quantity"] == "2"
        assert retry.fields["idempotency_key"] != form.fields["idempotency_key"]
        again = post_form(client, retry)
        assert again.status_code == 402
        statuses = [b["status"] for b in bookings_of(db_url, session_user(client))]
        assert statuses == ["FAILED", "FAILED"]  # two attempts, two keys, nothing held
        assert tier_counts(db_url, tier)["available"] == 3


def test_booking_with_fetch_returns_the_fragment_and_a_next_key(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    tier = concert["tiers"]["GA"]
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, tier)
    response = post_form(client, form, accept_json=True, quantity="4")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["ok"] is True and body["outcome"] == "confirmed"
    assert "Booking confirmed" in body["html"] and reference(body["html"])
    assert body["tier"] == {"id": tier, "availableQuantity": 6, "totalQuantity": 10}
    assert uuid.UUID(body["nextKey"]) != uuid.UUID(form.fields["idempotency_key"])


# -- CSRF ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [None, "", "forged-token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ids=["missing", "empty", "forged", "wrong-signature"],
)
def test_booking_without_a_valid_csrf_token_is_refused(
    client: httpx.Client, shared_db: str, token: str | None
) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, concert["tiers"]["GA"])
    data = form.filled()
    if token is None:
        del data["csrf_token"]
    else:
        data["csrf_token"] = token
    before = snapshot(shared_db)
    response = client.post(form.action, data=data)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "expired" in text(response.text)
    assert snapshot(shared_db) == before


def test_another_sessions_token_or_no_cookie_is_refused(
    shared_app: InProcessApp, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    tier = concert["tiers"]["GA"]
    with shared_app.client() as victim, shared_app.client() as attacker:
        victim_form = booking_form(victim.get(f"/concerts/{concert['id']}").text, tier)
        attacker_form = booking_form(attacker.get(f"/concerts/{concert['id']}").text, tier)
        before = snapshot(shared_db)
        # The attacker's own token does not work with the victim's cookie ...
        forged = victim.post(
            victim_form.action,
            data=victim_form.filled(csrf_token=attacker_form.fields["csrf_token"]),
        )
        assert forged.status_code == 403
        # ... and a cross-site form post arrives without the (SameSite=Lax) cookie at all.
        cookieless = shared_app.client().post(victim_form.action, data=victim_form.filled())
        assert cookieless.status_code == 403
        assert snapshot(shared_db) == before


def test_cancel_without_a_valid_csrf_token_changes_nothing(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    tier = concert["tiers"]["GA"]
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, tier)
    assert post_form(client, form, quantity="2").status_code == 200
    cancel_form = next(f for f in forms(client.get("/bookings").text) if "/cancel" in f.action)
    before = snapshot(shared_db)
    for data in ({}, {"csrf_token": "nope"}):
        assert client.post(cancel_form.action, data=data).status_code == 403
    assert snapshot(shared_db) == before
    assert tier_counts(shared_db, tier)["CONFIRMED"] == 2


def test_nobody_cancels_someone_elses_booking(shared_app: InProcessApp, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    tier = concert["tiers"]["GA"]
    with shared_app.client() as owner, shared_app.client() as other:
        form = booking_form(owner.get(f"/concerts/{concert['id']}").text, tier)
        assert post_form(owner, form, quantity="1").status_code == 200
        booking_id = bookings_of(shared_db, session_user(owner))[0]["id"]
        other_form = booking_form(other.get(f"/concerts/{concert['id']}").text, tier)
        response = other.post(
            f"/bookings/{booking_id}/cancel",
            data={"csrf_token": other_form.fields["csrf_token"]},
        )
        assert response.status_code == 403
        assert "belongs to someone else" in text(response.text)
        assert tier_counts(shared_db, tier)["CONFIRMED"] == 1
        assert "No bookings yet" in other.get("/bookings").text


# -- bad input and error pages -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"quantity": "0"}, 400, "Choose between 1 and 10 tickets"),
        ({"quantity": "11"}, 400, "Choose between 1 and 10 tickets"),
        ({"quantity": "two"}, 400, "Choose between 1 and 10 tickets"),
        ({"idempotency_key": "not-a-uuid"}, 400, "Reload the page"),
        ({"tier_id": str(uuid.uuid4())}, 404, "isn't part of this concert"),
    ],
)
def test_bad_booking_input_gets_a_clear_page_and_changes_nothing(
    client: httpx.Client, shared_db: str, change: dict[str, str], status: int, message: str
) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, concert["tiers"]["GA"])
    before = snapshot(shared_db)
    response = post_form(client, form, **change)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert message in text(response.text)
    assert snapshot(shared_db) == before


def test_a_tier_of_another_concert_is_refused(client: httpx.Client, shared_db: str) -> None:
    here = make_concert(shared_db, {"GA": 10})
    elsewhere = make_concert(shared_db, {"GA": 10})
    form = booking_form(client.get(f"/concerts/{here['id']}").text, here["tiers"]["GA"])
    response = post_form(client, form, tier_id=elsewhere["tiers"]["GA"])
    assert response.status_code == 404
    assert tier_counts(shared_db, elsewhere["tiers"]["GA"])["available"] == 10


@pytest.mark.parametrize(
    "path", ["/nope", "/concerts/not-a-uuid", f"/concerts/{NO_SUCH_ID}", "/static/missing.css"]
)
def test_unknown_pages_get_a_friendly_html_404(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert title(response.text) == "Page not found · TicketBook"
    assert 'href="/concerts"' in response.text  # a way back


def test_wrong_method_on_a_page_gets_html(client: httpx.Client) -> None:
    response = client.get(f"/concerts/{uuid.uuid4()}/book")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path", ["/api/nope", f"/api/concerts/{NO_SUCH_ID}", "/api/concerts/x/events", "/api"]
)
def test_the_api_keeps_json_errors(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["success"] is False


def test_fetch_errors_come_back_as_json_messages(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, concert["tiers"]["GA"])
    response = post_form(client, form, accept_json=True, csrf_token="forged")
    assert response.status_code == 403
    assert response.json() == {
        "ok": False,
        "message": "This form has expired. Reload the page and try again.",
    }


# -- assets work offline -------------------------------------------------------------------


def test_assets_are_served_and_nothing_loads_from_elsewhere(client: httpx.Client) -> None:
    html = client.get("/").text
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert {a.split("?")[0] for a in assets} == {
        "/static/app.css",
        "/static/app.js",
        "/static/favicon.svg",
    }
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200
        assert "immutable" in response.headers["cache-control"]
    files = [p for p in (*STATIC.rglob("*"), *TEMPLATES.rglob("*")) if p.is_file()]
    vendored = [p for p in files if "vendor" in p.relative_to(STATIC.parent).parts]
    for library in vendored:
        # Third-party code names its home page in comments; it must not load from it.
        text = library.read_text(errors="replace")
        assert not re.search(r"""(?:import|from)\s*\(?\s*["']https?:""", text), library
    sources = [p.read_text() for p in files if p not in vendored]
    for source in sources:
        source = source.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name, not a load
        external = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", source, re.I)
        assert not external, external
        assert "@import" not in source and "@font-face" not in source


def test_signer_mac_cannot_pass_for_a_token() -> None:
    signer = TokenSigner("k" * 32)
    user = uuid.uuid4()
    assert signer.mac("csrf", user.hex) != signer.issue(user).partition(".")[2]
    with pytest.raises(ValueError):
        signer.mac("token", user.hex)


def test_a_form_resent_with_another_quantity_books_nothing_more(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    tier = concert["tiers"]["GA"]
    form = booking_form(client.get(f"/concerts/{concert['id']}").text, tier)
    assert post_form(client, form, quantity="2").status_code == 200
    # Back to the same form (same key), another quantity, Book again.
    again = post_form(client, form, quantity="3")
    assert again.status_code == 409
    assert "This form was already sent" in text(again.text)
    assert [b["quantity"] for b in bookings_of(shared_db, session_user(client))] == [2]
    fresh = next(f for f in forms(again.text) if f.fields.get("tier_id") == tier)
    assert fresh.fields["quantity"] == "3"
    assert fresh.fields["idempotency_key"] != form.fields["idempotency_key"]


def test_a_past_concert_shows_its_tiers_off_sale(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 10})
    execute(
        shared_db,
        "UPDATE concerts SET starts_at = now() - interval '1 hour' WHERE id = $1",
        uuid.UUID(concert["id"]),
    )
    html = client.get(f"/concerts/{concert['id']}").text
    assert "already started" in text(html)
    form = booking_form(html, concert["tiers"]["GA"])
    assert form.button_disabled and "quantity" in form.disabled
    assert "data-live-url" not in html
    # Posting the form anyway: the engine refuses, nothing is held.
    result = post_form(client, form)
    assert result.status_code == 409 and "Tickets are off sale" in text(result.text)
    assert tier_counts(shared_db, concert["tiers"]["GA"]) == {"available": 10, "total": 10}
    assert concert["id"] not in client.get("/concerts").text  # not listed as upcoming
