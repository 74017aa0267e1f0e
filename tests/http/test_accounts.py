"""Accounts over the API: register, sign in, tokens and their revocation, guests who register."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.accounts import PASSWORD, login, register, unique_email
from tests.support.api import book, guest_identity
from tests.support.inventory import execute, fetch, fetchval, make_concert, snapshot
from tests.support.pages import forms


def test_register_stores_a_normalized_email_and_an_argon2id_hash(
    client: httpx.Client, shared_db: str
) -> None:
    local = uuid.uuid4().hex[:8]
    response = client.post(
        "/api/auth/register", json={"email": f"  Mixed.{local}@Example.COM ", "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == f"mixed.{local}@example.com"
    assert body["role"] == "fan"
    assert body["token"].startswith("tb_")
    (row,) = fetch(shared_db, "SELECT * FROM users WHERE id = $1", uuid.UUID(body["userId"]))
    assert row["email"] == f"mixed.{local}@example.com"
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    # Only the token's digest is stored.
    stored = fetch(shared_db, "SELECT token_hash FROM auth_sessions WHERE user_id = $1", row["id"])
    assert len(stored) == 1 and body["token"].encode() not in bytes(stored[0]["token_hash"])


def test_email_is_unique_whatever_its_case(client: httpx.Client, shared_db: str) -> None:
    email = unique_email()
    register(client, email)
    before = snapshot(shared_db)
    again = client.post(
        "/api/auth/register", json={"email": email.upper(), "password": PASSWORD + "x"}
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "EMAIL_TAKEN"
    assert snapshot(shared_db) == before


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pw 1", "at least 12"),
        ("aaaaaaaaaaaaaaaa", "too easy"),
        ("password1234", "too easy"),
        ("x" * 257, "at most 256"),
        ("twelve chars\x07bell", "control characters"),
    ],
)
def test_password_policy(client: httpx.Client, shared_db: str, password: str, reason: str) -> None:
    before = snapshot(shared_db)
    response = client.post(
        "/api/auth/register", json={"email": unique_email(), "password": password}
    )
    assert response.status_code == 400, response.text
    assert reason in response.json()["message"]
    assert snapshot(shared_db) == before


def test_password_may_not_contain_the_email(client: httpx.Client) -> None:
    response = client.post(
        "/api/auth/register",
        json={"email": "rosalind@example.com", "password": "rosalind-rocks-2027"},
    )
    assert response.status_code == 400
    assert "email" in response.json()["message"]


@pytest.mark.parametrize(
    "email", ["no-at-sign", "two@@example.com", "space in@example.com", "a@b", "@example.com"]
)
def test_invalid_emails_are_refused(client: httpx.Client, shared_db: str, email: str) -> None:
    before = snapshot(shared_db)
    response = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 400, response.text
    assert "valid email" in response.json()["message"]
    assert snapshot(shared_db) == before


def test_login_failures_do_not_reveal_whether_the_email_exists(client: httpx.Client) -> None:
    email = unique_email()
    register(client, email)
    wrong_password = login(client, email, "not the password at all")
    unknown_email = login(client, unique_email(), "not the password at all")
    not_an_email = login(client, "nobody", "not the password at all")
    for response in (wrong_password, unknown_email, not_an_email):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert wrong_password.json() == unknown_email.json() == not_an_email.json()
    assert wrong_password.json()["error"] == "INVALID_CREDENTIALS"


def test_login_is_case_insensitive_and_gives_a_new_token_each_time(client: httpx.Client) -> None:
    email = unique_email()
    user_id, _ = register(client, email)
    first = login(client, email.upper())
    second = login(client, f" {email} ")
    assert first.status_code == second.status_code == 200
    assert first.json()["userId"] == second.json()["userId"] == user_id
    assert first.json()["token"] != second.json()["token"]


def test_logout_revokes_only_that_token(client: httpx.Client) -> None:
    email = unique_email()
    _, registered = register(client, email)
    other = {"Authorization": f"Bearer {login(client, email).json()['token']}"}
    assert client.get("/api/auth/me", headers=registered).status_code == 200

    out = client.post("/api/auth/logout", headers=registered)
    assert out.status_code == 200, out.text
    refused = client.get("/api/auth/me", headers=registered)
    assert refused.status_code == 401
    assert client.post("/api/auth/logout", headers=registered).status_code == 401
    # The same account's other sign-in still works.
    assert client.get("/api/auth/me", headers=other).json()["email"] == email


def test_an_expired_session_is_refused(client: httpx.Client, shared_db: str) -> None:
    user_id, headers = register(client)
    execute(
        shared_db,
        "UPDATE auth_sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1",
        uuid.UUID(user_id),
    )
    response = client.get(f"/api/bookings/{user_id}", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "token", ["tb_", "tb_" + "A" * 43, "tb_\u00e9t\u00e9", "tb_" + "x" * 500, "Bearer"]
)
def test_forged_session_tokens_are_refused(client: httpx.Client, token: str) -> None:
    # Sent as raw bytes: a header value need not be ASCII on the wire.
    header = f"Bearer {token}".encode()
    response = client.get("/api/auth/me", headers={"Authorization": header})  # type: ignore[dict-item]
    assert response.status_code == 401, response.text


def test_a_guest_who_registers_keeps_the_bookings(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    guest_id, guest = guest_identity(client)
    booked = [book(client, guest, concert["tiers"]["GA"], q) for q in (1, 2)]
    assert [b.status_code for b in booked] == [200, 200]
    booking_ids = {b.json()["booking"]["id"] for b in booked}

    response = client.post(
        "/api/auth/register", json={"email": unique_email(), "password": PASSWORD}, headers=guest
    )
    assert response.status_code == 201, response.text
    assert response.json()["movedBookings"] == 2
    account_id = response.json()["userId"]
    account = {"Authorization": f"Bearer {response.json()['token']}"}

    mine = client.get(f"/api/bookings/{account_id}", headers=account).json()["data"]
    assert {b["id"] for b in mine} == booking_ids
    assert {b["userId"] for b in mine} == {account_id}
    # The guest token names an empty guest now: it can't reach the account's bookings.
    assert client.get(f"/api/bookings/{guest_id}", headers=guest).json()["count"] == 0
    assert client.get(f"/api/bookings/{account_id}", headers=guest).status_code == 403
    cancel = client.post(f"/api/bookings/{next(iter(booking_ids))}/cancel", headers=guest)
    assert cancel.status_code in (403, 404)
    assert fetchval(shared_db, "SELECT count(*) FROM users WHERE id = $1", uuid.UUID(guest_id)) == 0
    # The account can still cancel what the guest booked.
    cancelled = client.post(f"/api/bookings/{next(iter(booking_ids))}/cancel", headers=account)
    assert cancelled.status_code == 200, cancelled.text


def test_a_signed_in_account_cannot_register_another(client: httpx.Client) -> None:
    _, headers = register(client)
    response = client.post(
        "/api/auth/register", json={"email": unique_email(), "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 400
    assert "signed in" in response.json()["message"]


def test_an_account_books_and_lists_like_a_guest(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    user_id, headers = register(client)
    booked = book(client, headers, concert["tiers"]["GA"], 2)
    assert booked.status_code == 200, booked.text
    assert booked.json()["booking"]["userId"] == user_id
    listed = client.get(f"/api/bookings/{user_id}", headers=headers).json()
    assert [b["id"] for b in listed["data"]] == [booked.json()["booking"]["id"]]


def test_a_guest_who_signs_in_brings_the_bookings(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    email = unique_email()
    account_id, _ = register(client, email)
    guest_id, guest = guest_identity(client)
    booked = book(client, guest, concert["tiers"]["GA"], 3)
    assert booked.status_code == 200, booked.text

    signed_in = client.post(
        "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=guest
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["movedBookings"] == 1
    account = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    mine = client.get(f"/api/bookings/{account_id}", headers=account).json()["data"]
    assert [b["id"] for b in mine] == [booked.json()["booking"]["id"]]
    assert client.get(f"/api/bookings/{guest_id}", headers=guest).json()["count"] == 0


def test_a_failed_sign_in_moves_nothing(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    email = unique_email()
    register(client, email)
    guest_id, guest = guest_identity(client)
    assert book(client, guest, concert["tiers"]["GA"], 1).status_code == 200
    wrong = client.post(
        "/api/auth/login", json={"email": email, "password": "wrong password!"}, headers=guest
    )
    assert wrong.status_code == 401
    assert client.get(f"/api/bookings/{guest_id}", headers=guest).json()["count"] == 1


def test_api_tokens_and_page_sessions_are_not_interchangeable(client: httpx.Client) -> None:
    email = unique_email()
    _, api = register(client, email)
    api_token = api["Authorization"].removeprefix("Bearer ")
    # An API token in the cookie is no page session: the page shows a guest.
    with client.visitor() as browser:
        browser.cookies.set("tb_session", api_token)
        as_cookie = browser.get("/bookings")
    assert as_cookie.status_code == 200
    assert email not in as_cookie.text

    with client.visitor() as browser:
        page = browser.get("/login")
        token = next(f for f in forms(page.text) if f.fields.get("csrf_token")).fields
        signed_in = browser.post(
            "/login",
            data={"csrf_token": token["csrf_token"], "email": email, "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        page_token = browser.cookies["tb_session"]
        assert page_token.startswith("tb_")
        assert email in browser.get("/bookings").text
    # A page session sent as a bearer token is refused.
    refused = client.get("/api/auth/me", headers={"Authorization": f"Bearer {page_token}"})
    assert refused.status_code == 401
