"""Abuse limits: sign-in, sign-up and booking, per account and per client address, shared by
every worker (the counters live in PostgreSQL, so one in-process app shows the rules); 429 with
Retry-After, and nothing changes.

The app trusts X-Forwarded-For from 127.0.0.1 (a local proxy), which is how these tests
speak from several client addresses.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.http.conftest import AppFactory
from tests.support.accounts import PASSWORD, login, register, unique_email
from tests.support.api import book, guest_identity
from tests.support.inprocess import RATE_LIMIT_VARIABLES, InProcessApp
from tests.support.inventory import make_concert, snapshot, tier_counts
from tests.support.pages import booking_form, post_form

OFF = "off"


def limited_app(start_app: AppFactory, db_url: str, **rules: str) -> InProcessApp:
    """Every rate limit off except the given ones (e.g. LOGIN_PER_ACCOUNT="3/60"), so each test
    sees one rule at work; the per-fan cap stays at its default."""
    env = {name: OFF for name in RATE_LIMIT_VARIABLES}
    env.update({f"TICKETBOOK_RATE_{name}": value for name, value in rules.items()})
    return start_app(db_url, **env)


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def assert_limited(response: httpx.Response, window_s: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "RATE_LIMITED"
    assert 1 <= int(response.headers["retry-after"]) <= window_s


def test_sign_in_attempts_per_account_and_address(db_url: str, start_app: AppFactory) -> None:
    app = limited_app(start_app, db_url, LOGIN_PER_ACCOUNT="3/60")
    with app.client() as client:
        email = unique_email()
        register(client, email)
        guesser = from_address("198.51.100.1")
        for i in range(3):
            wrong = client.post(
                "/api/auth/login",
                json={"email": email, "password": f"guess number {i}"},
                headers=guesser,
            )
            assert wrong.status_code == 401
        # Now that address waits, even with the right password: guessing gains nothing by
        # being right, and case tricks don't open a new count.
        right = {"email": email, "password": PASSWORD}
        assert_limited(client.post("/api/auth/login", json=right, headers=guesser), 60)
        upper = {"email": email.upper(), "password": PASSWORD}
        assert_limited(client.post("/api/auth/login", json=upper, headers=guesser), 60)
        # The owner, at another address, is not locked out; nor is another account.
        assert login(client, email).status_code == 200
        other = unique_email()
        register(client, other)
        assert (
            client.post(
                "/api/auth/login", json={"email": other, "password": PASSWORD}, headers=guesser
            ).status_code
            == 200
        )


def test_sign_in_attempts_per_address(db_url: str, start_app: AppFactory) -> None:
    app = limited_app(start_app, db_url, LOGIN_PER_ADDRESS="5/60")
    with app.client() as client:
        attacker = from_address("203.0.113.7")
        statuses = [
            client.post(
                "/api/auth/login",
                json={"email": unique_email(), "password": "spray"},
                headers=attacker,
            ).status_code
            for _ in range(8)
        ]
        assert statuses == [401] * 5 + [429] * 3
        email = unique_email()
        register(client, email)
        assert login(client, email).status_code == 200  # from the client's own address
        response = client.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=attacker
        )
        assert_limited(response, 60)


def test_sign_ups_per_address_and_per_email(db_url: str, start_app: AppFactory) -> None:
    app = limited_app(
        start_app, db_url, REGISTER_PER_ADDRESS="2/3600", REGISTER_PER_ACCOUNT="2/3600"
    )
    with app.client() as client:
        farm = from_address("192.0.2.50")
        for _ in range(2):
            created = client.post(
                "/api/auth/register",
                json={"email": unique_email(), "password": PASSWORD},
                headers=farm,
            )
            assert created.status_code == 201
        before = snapshot(db_url)
        refused = client.post(
            "/api/auth/register", json={"email": unique_email(), "password": PASSWORD}, headers=farm
        )
        assert_limited(refused, 3600)
        assert snapshot(db_url) == before

        # Probing one email (is it taken?) from many addresses is capped too.
        email = unique_email()
        answers = [
            client.post(
                "/api/auth/register",
                json={"email": email, "password": PASSWORD},
                headers=from_address(f"192.0.2.{100 + i}"),
            ).status_code
            for i in range(4)
        ]
        assert answers == [201, 409, 429, 429]


@pytest.mark.parametrize("rule", ["BOOKING_PER_ACCOUNT", "BOOKING_PER_ADDRESS"])
def test_bookings_per_account_and_per_address(
    db_url: str, start_app: AppFactory, rule: str
) -> None:
    concert = make_concert(db_url, {"GA": 100})
    tier = concert["tiers"]["GA"]
    app = limited_app(start_app, db_url, **{rule: "4/60"})
    with app.client() as client:
        _, fan = guest_identity(client)
        _, neighbour = guest_identity(client)
        here = from_address("198.51.100.20")
        for _ in range(4):
            assert book(client, {**fan, **here}, tier).status_code == 200
        before = snapshot(db_url)
        key = str(uuid.uuid4())
        refused = book(client, {**fan, **here}, tier, key=key)
        assert_limited(refused, 60)
        assert snapshot(db_url) == before  # no booking, no payment, no idempotency record
        if rule == "BOOKING_PER_ACCOUNT":
            # Another fan on the same address books; the limited fan stays limited elsewhere.
            assert book(client, {**neighbour, **here}, tier).status_code == 200
            assert_limited(book(client, {**fan, **from_address("198.51.100.21")}, tier), 60)
        else:
            # The same fan from another address books; a neighbour on this one does not.
            assert book(client, {**fan, **from_address("198.51.100.21")}, tier).status_code == 200
            assert_limited(book(client, {**neighbour, **here}, tier), 60)


def test_page_bookings_count_against_the_address(db_url: str, start_app: AppFactory) -> None:
    concert = make_concert(db_url, {"GA": 100})
    tier = concert["tiers"]["GA"]
    app = limited_app(start_app, db_url, BOOKING_PER_ADDRESS="2/60")
    with app.client(address="198.51.100.77") as browser:
        statuses = []
        for _ in range(3):
            page = browser.get(f"/concerts/{concert['id']}")
            statuses.append(post_form(browser, booking_form(page.text, tier)).status_code)
        assert statuses == [200, 200, 429], statuses
        page = browser.get(f"/concerts/{concert['id']}")
        refused = post_form(browser, booking_form(page.text, tier))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "text/html" in refused.headers["content-type"]
    assert tier_counts(db_url, tier)["available"] == 98


# The limiter's window on its own (opens at the first request, resets when over):
# tests/service/test_rate_limiter.py.
