"""Accounts on the pages, through the app in-process over a real database, the way a
browser without JavaScript uses them: register (a guest's bookings move in), sign in, sign
out, the session cookie, CSRF on every form (login CSRF included), safe redirects, 429."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.http.conftest import AppFactory
from tests.support.inprocess import InProcessApp
from tests.support.inventory import execute, fetch, fetchval, make_concert, snapshot
from tests.support.pages import Form, booking_form, forms, post_form, reference, text, title

PASSWORD = "correct horse battery staple"
# The default TICKETBOOK_SESSION_TTL_S: 30 days.
SESSION_TTL_S = 30 * 24 * 3600


def new_email() -> str:
    return f"fan-{uuid.uuid4().hex[:10]}@example.com"


def form_for(html: str, action: str) -> Form:
    found = [f for f in forms(html) if f.action == action]
    assert found, f"no form posting to {action}"
    return found[0]


def csrf_of(html: str) -> str:
    tokens = {f.fields["csrf_token"] for f in forms(html) if "csrf_token" in f.fields}
    assert len(tokens) == 1, tokens
    return tokens.pop()


def register(
    client: httpx.Client, email: str, password: str = PASSWORD, confirm: str | None = None
) -> httpx.Response:
    form = form_for(client.get("/register").text, "/register")
    return client.post(
        form.action,
        data=form.filled(
            email=email,
            password=password,
            confirm_password=password if confirm is None else confirm,
        ),
    )


def sign_in(
    client: httpx.Client, email: str, password: str = PASSWORD, next_path: str | None = None
) -> httpx.Response:
    form = form_for(client.get("/login").text, "/login")
    values = {"email": email, "password": password}
    if next_path is not None:
        values["next"] = next_path
    return client.post(form.action, data=form.filled(**values))


def sign_out(client: httpx.Client) -> httpx.Response:
    form = form_for(client.get("/bookings").text, "/logout")
    return client.post(form.action, data=form.fields)


def account_id(db: str, email: str) -> uuid.UUID | None:
    user_id: uuid.UUID | None = fetchval(db, "SELECT id FROM users WHERE email = $1", email)
    return user_id


def guest_id(client: httpx.Client) -> uuid.UUID:
    token = client.cookies["tb_session"]
    return uuid.UUID(hex=token.partition(".")[0])


def session_cookie(response: httpx.Response) -> str:
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("tb_session=")]
    return cookie


@pytest.fixture(scope="module")
def account(shared_app: InProcessApp) -> str:
    """An account's email (its password is PASSWORD), registered once for the module."""
    email = new_email()
    with shared_app.client() as c:
        assert register(c, email).status_code == 303
    return email


@pytest.fixture
def visitor(shared_app: InProcessApp) -> Iterator[httpx.Client]:
    """A second browser."""
    with shared_app.client() as c:
        yield c


# -- the navigation ------------------------------------------------------------------------


def test_guests_see_sign_in_and_create_account(client: httpx.Client) -> None:
    html = client.get("/concerts").text
    assert '<nav class="site-account" aria-label="Account">' in html
    assert 'href="/login?next=%2Fconcerts"' in html and 'href="/register"' in html
    assert not any(f.action == "/logout" for f in forms(html))
    for path, heading in (("/login", "Sign in"), ("/register", "Create an account")):
        page = client.get(path)
        assert page.status_code == 200
        assert title(page.text) == f"{heading} · TicketBook"
        assert 'aria-current="page"' in page.text
        assert re.search(r'autocomplete="email"', page.text)
    register_page = client.get("/register").text
    assert 'autocomplete="new-password"' in register_page and "At least 12 characters" in (
        register_page
    )
    assert 'aria-describedby="register-password-hint"' in register_page
    assert 'autocomplete="current-password"' in client.get("/login").text


# -- register ------------------------------------------------------------------------------


def test_register_moves_the_guests_bookings_into_the_account(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"VIP": 5, "GA": 20})
    page = client.get(f"/concerts/{concert['id']}").text
    first = post_form(client, booking_form(page, concert["tiers"]["VIP"]), quantity="2")
    second = post_form(client, booking_form(page, concert["tiers"]["GA"]), quantity="1")
    refs = {reference(first.text), reference(second.text)}
    guest = guest_id(client)

    email = new_email()
    response = register(client, email)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"].startswith("/bookings?welcome=")
    assert client.cookies["tb_session"].startswith("tb_")

    account = account_id(shared_db, email)
    assert account is not None and account != guest
    owners = fetch(
        shared_db,
        "SELECT DISTINCT user_id FROM bookings WHERE user_id = ANY($1)",
        [
            guest,
            account,
        ],
    )
    assert [r["user_id"] for r in owners] == [account]
    assert fetchval(shared_db, "SELECT count(*) FROM users WHERE id = $1", guest) == 0

    welcome = client.get(response.headers["location"])
    shown = text(welcome.text)
    assert "2 bookings from this browser are now in your account" in shown
    assert all(ref in welcome.text for ref in refs)
    assert email in shown and any(f.action == "/logout" for f in forms(welcome.text))
    # The notice belongs to this account: another visitor replaying the link sees nothing.
    with client.visitor() as other:
        assert "now in your account" not in text(other.get(response.headers["location"]).text)

    # The account books from the pages like a guest, and sees it under My bookings.
    page = client.get(f"/concerts/{concert['id']}").text
    third = post_form(client, booking_form(page, concert["tiers"]["GA"]), quantity="3")
    assert third.status_code == 200
    listing = client.get("/bookings").text
    assert reference(third.text) in listing and all(ref in listing for ref in refs)
    assert "now in your account" not in text(listing)
    assert fetchval(shared_db, "SELECT count(*) FROM bookings WHERE user_id = $1", account) == 3


@pytest.mark.parametrize("token", [None, "forged", "another-session"])
def test_register_without_the_right_csrf_token_is_refused(
    client: httpx.Client, visitor: httpx.Client, shared_db: str, token: str | None
) -> None:
    form = form_for(client.get("/register").text, "/register")
    email = new_email()
    data = form.filled(email=email, password=PASSWORD, confirm_password=PASSWORD)
    if token is None:
        del data["csrf_token"]
    elif token == "another-session":
        data["csrf_token"] = form_for(visitor.get("/register").text, "/register").fields[
            "csrf_token"
        ]
    else:
        data["csrf_token"] = token
    before = snapshot(shared_db)
    response = client.post("/register", data=data)
    assert response.status_code == 403
    assert "expired" in text(response.text)
    assert account_id(shared_db, email) is None
    assert snapshot(shared_db) == before
    assert not client.cookies["tb_session"].startswith("tb_")


def test_register_form_problems_come_back_on_the_form(client: httpx.Client, shared_db: str) -> None:
    email = new_email()
    mismatch = register(client, email, confirm=PASSWORD + "!")
    assert mismatch.status_code == 400
    assert "The two passwords don't match" in text(mismatch.text)
    assert f'value="{email}"' in mismatch.text and PASSWORD not in mismatch.text
    assert 'aria-describedby="register-confirm-error" aria-invalid="true" autofocus' in (
        mismatch.text
    )

    short = register(client, email, password="too short")
    assert short.status_code == 400
    assert "at least 12 characters" in text(short.text)
    assert (
        'aria-describedby="register-password-hint register-password-error" aria-invalid="true"'
        in short.text
    )

    bad_email = register(client, "not an email")
    assert bad_email.status_code == 400
    assert "Enter a valid email address" in text(bad_email.text)
    assert 'aria-describedby="register-email-error"' in bad_email.text
    assert account_id(shared_db, email) is None

    with client.visitor() as first:
        assert register(first, email).status_code == 303
    taken = register(client, email.upper())
    assert taken.status_code == 409
    assert "already exists" in text(taken.text) and 'href="/login"' in taken.text
    assert not client.cookies["tb_session"].startswith("tb_")  # still the guest


# -- sign in -------------------------------------------------------------------------------


def test_wrong_password_and_unknown_email_get_the_same_page(
    client: httpx.Client, account: str
) -> None:
    email = account
    unknown = new_email()
    wrong_password = sign_in(client, email, password="not the password at all")
    no_account = sign_in(client, unknown)
    assert wrong_password.status_code == no_account.status_code == 401
    assert "Email or password is wrong" in text(wrong_password.text)
    # Identical apart from the email typed in (which the form keeps).
    assert f'value="{email}"' in wrong_password.text and f'value="{unknown}"' in no_account.text
    assert wrong_password.text.replace(email, "EMAIL") == no_account.text.replace(unknown, "EMAIL")
    assert "not the password at all" not in wrong_password.text
    assert PASSWORD not in no_account.text
    assert 'aria-describedby="login-error"' in wrong_password.text
    assert not client.cookies["tb_session"].startswith("tb_")


def test_sign_in_sets_an_httponly_samesite_session_cookie(
    client: httpx.Client, visitor: httpx.Client, shared_app: InProcessApp
) -> None:
    email = new_email()
    assert register(visitor, email).status_code == 303
    response = sign_in(client, email)
    assert response.status_code == 303 and response.headers["location"] == "/bookings"
    cookie = session_cookie(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0].startswith("tb_session=tb_")
    assert {"httponly", "samesite=lax", "path=/", f"max-age={SESSION_TTL_S}"} <= set(attributes)
    assert "secure" not in attributes  # plain HTTP
    assert client.cookies["tb_session"].startswith("tb_")
    page = client.get("/bookings")
    assert email in text(page.text) and "set-cookie" not in page.headers

    # Over HTTPS (as behind a TLS-terminating proxy) the cookie is also Secure.
    with shared_app.client(headers={"X-Forwarded-Proto": "https"}) as secure:
        page = secure.get("/login")
        # httpx keeps a Secure cookie for https:// only; send it back by hand.
        guest_cookie = session_cookie(page).split(";")[0]
        form = form_for(page.text, "/login")
        response = secure.post(
            "/login",
            data=form.filled(email=email, password=PASSWORD),
            headers={"Cookie": guest_cookie},
        )
        assert response.status_code == 303
        attributes = [part.strip().lower() for part in session_cookie(response).split(";")]
        assert "secure" in attributes and "httponly" in attributes


def test_the_csrf_token_changes_at_every_sign_in(
    client: httpx.Client, visitor: httpx.Client, shared_db: str
) -> None:
    email = new_email()
    assert register(visitor, email).status_code == 303
    guest_token = csrf_of(client.get("/login").text)
    assert sign_in(client, email).status_code == 303
    account_token = csrf_of(client.get("/bookings").text)
    assert account_token != guest_token
    # The guest's token is no good for the account's session.
    before = snapshot(shared_db)
    assert client.post("/logout", data={"csrf_token": guest_token}).status_code == 403
    assert snapshot(shared_db) == before
    # Another sign-in to the same account (another browser) has its own token.
    with client.visitor() as other:
        assert sign_in(other, email).status_code == 303
        assert csrf_of(other.get("/bookings").text) not in (guest_token, account_token)


def test_login_csrf_is_refused(shared_app: InProcessApp, account: str, shared_db: str) -> None:
    email = account
    before = snapshot(shared_db)
    with shared_app.client() as victim:
        victim.get("/")  # the victim has a guest session
        # An attacker's page posts the attacker's credentials: the cross-site POST carries no
        # (SameSite=Lax) cookie, and a token from the attacker's own session doesn't match.
        cookieless = shared_app.client().post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": "x"},
        )
        assert cookieless.status_code == 403
        attacker_token = csrf_of(shared_app.client().get("/login").text)
        forged = victim.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": attacker_token}
        )
        assert forged.status_code == 403
        assert not victim.cookies["tb_session"].startswith("tb_")
    assert snapshot(shared_db) == before  # no session opened


# -- sign out ------------------------------------------------------------------------------


def test_after_sign_out_the_old_cookie_is_a_stranger(
    client: httpx.Client, shared_app: InProcessApp, shared_db: str
) -> None:
    email = new_email()
    assert register(client, email).status_code == 303
    old_cookie = client.cookies["tb_session"]
    signed_in = client.get("/bookings").text
    assert email in text(signed_in)
    account_csrf = csrf_of(signed_in)

    response = sign_out(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    deleted = session_cookie(response).lower()
    assert 'tb_session=""' in deleted or "max-age=0" in deleted
    assert "tb_session" not in client.cookies
    live = fetchval(
        shared_db,
        "SELECT count(*) FROM auth_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE u.email = $1 AND s.revoked_at IS NULL",
        email,
    )
    assert live == 0
    home = client.get("/")
    assert "Sign in" in text(home.text) and email not in home.text

    # Replaying the old cookie: a fresh guest, nothing of the account.
    page = shared_app.client().get("/bookings", headers={"Cookie": f"tb_session={old_cookie}"})
    assert page.status_code == 200
    assert email not in page.text and "No bookings yet" in page.text
    assert not any(f.action == "/logout" for f in forms(page.text))
    fresh = session_cookie(page).split(";")[0].removeprefix("tb_session=")
    assert fresh != old_cookie and not fresh.startswith("tb_")
    # The old cookie can't sign out (or do anything else) any more.
    stale = shared_app.client().post(
        "/logout",
        data={"csrf_token": account_csrf},
        headers={"Cookie": f"tb_session={old_cookie}"},
    )
    assert stale.status_code == 403


def test_an_expired_session_is_a_fresh_guest(client: httpx.Client, shared_db: str) -> None:
    email = new_email()
    assert register(client, email).status_code == 303
    execute(
        shared_db,
        "UPDATE auth_sessions SET expires_at = now() - interval '1 second'"
        " WHERE user_id = (SELECT id FROM users WHERE email = $1)",
        email,
    )
    page = client.get("/bookings")
    assert email not in page.text and "Sign in" in text(page.text)
    assert not client.cookies["tb_session"].startswith("tb_")


# -- where a sign-in goes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_path", "location"),
    [
        ("//evil.example", "/bookings"),
        ("https://evil.example", "/bookings"),
        ("/\\evil.example", "/bookings"),
        ("/concerts?sort=date", "/concerts?sort=date"),
    ],
    ids=["protocol-relative", "absolute", "backslash", "same-site"],
)
def test_sign_in_only_returns_to_this_site(
    client: httpx.Client, account: str, next_path: str, location: str
) -> None:
    response = sign_in(client, account, next_path=next_path)
    assert response.status_code == 303
    assert response.headers["location"] == location


def test_signed_in_visitors_skip_the_forms_and_never_leave_the_site(
    client: httpx.Client,
) -> None:
    assert register(client, new_email()).status_code == 303
    for path in ("/login", "/register"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/bookings"
    for next_path in (
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        " /evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/logout",
    ):
        redirected = client.get("/login", params={"next": next_path})
        assert redirected.headers["location"] == "/bookings", next_path
    assert client.get("/login", params={"next": "/concerts"}).headers["location"] == "/concerts"


# -- rate limits ---------------------------------------------------------------------------


def test_too_many_sign_ins_get_a_friendly_429(start_app: AppFactory, db_url: str) -> None:
    app = start_app(db_url, TICKETBOOK_RATE_LOGIN_PER_ADDRESS="2/60")
    with app.client() as client:
        answers = [sign_in(client, new_email()) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    limited = answers[-1]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["content-type"].startswith("text/html")
    assert title(limited.text) == "Slow down a little · TicketBook"
    assert "Too many sign-in attempts" in text(limited.text)
    assert 'href="/login"' in limited.text and "Back to sign in" in text(limited.text)
