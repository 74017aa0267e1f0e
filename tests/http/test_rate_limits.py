"""Abuse limits: sign-in, sign-up and booking, per account and per client address, shared by
every worker (the counters live in PostgreSQL); 429 with Retry-After, and nothing changes.

The server trusts X-Forwarded-For from 127.0.0.1 (a local proxy), which is how these tests
speak from several client addresses.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import ServerFactory
from tests.support.accounts import PASSWORD, login, register, unique_email
from tests.support.api import book, guest_identity
from tests.support.inventory import make_concert, snapshot, tier_counts
from tests.support.pages import booking_form, post_form
from tests.support.server import NO_ABUSE_LIMITS, LiveServer

OFF = "off"


def limited_server(start_server: ServerFactory, db_url: str, **rules: str) -> LiveServer:
    """Two workers; every limit off except the given ones (e.g. LOGIN_PER_ACCOUNT="3/60")."""
    env = {name: OFF for name in NO_ABUSE_LIMITS if name.startswith("TICKETBOOK_RATE_")}
    env.update({f"TICKETBOOK_RATE_{name}": value for name, value in rules.items()})
    return start_server(db_url, workers=2, TICKETBOOK_PAYMENT_SUCCESS_RATE="1", **env)


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def assert_limited(response: httpx.Response, window_s: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "RATE_LIMITED"
    assert 1 <= int(response.headers["retry-after"]) <= window_s


def test_sign_in_attempts_per_account(db_url: str, start_server: ServerFactory) -> None:
    server = limited_server(start_server, db_url, LOGIN_PER_ACCOUNT="3/60")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        email = unique_email()
        register(client, email)
        # Spread over two workers and several addresses: the count is still per account.
        for i in range(3):
            wrong = client.post(
                "/api/auth/login",
                json={"email": email, "password": f"guess number {i}"},
                headers=from_address(f"198.51.100.{i}"),
            )
            assert wrong.status_code == 401
        # Now even the right password waits: guessing gains nothing by being right.
        assert_limited(login(client, email), 60)
        assert_limited(login(client, email.upper()), 60)
        # Another account is not affected.
        other = unique_email()
        register(client, other)
        assert login(client, other).status_code == 200


def test_sign_in_attempts_per_address(db_url: str, start_server: ServerFactory) -> None:
    server = limited_server(start_server, db_url, LOGIN_PER_ADDRESS="5/60")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
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
        assert login(client, email).status_code == 200  # from 127.0.0.1
        response = client.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=attacker
        )
        assert_limited(response, 60)


def test_sign_ups_per_address_and_per_email(db_url: str, start_server: ServerFactory) -> None:
    server = limited_server(
        start_server, db_url, REGISTER_PER_ADDRESS="2/3600", REGISTER_PER_ACCOUNT="2/3600"
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
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
    db_url: str, start_server: ServerFactory, rule: str
) -> None:
    concert = make_concert(db_url, {"GA": 100})
    tier = concert["tiers"]["GA"]
    server = limited_server(start_server, db_url, **{rule: "4/60"})
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
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


def test_page_bookings_count_against_the_address(db_url: str, start_server: ServerFactory) -> None:
    concert = make_concert(db_url, {"GA": 100})
    tier = concert["tiers"]["GA"]
    server = limited_server(start_server, db_url, BOOKING_PER_ADDRESS="2/60")
    here = from_address("198.51.100.77")
    with httpx.Client(base_url=server.base_url, timeout=30, headers=here) as browser:
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


def test_a_window_opens_at_the_first_request_and_resets_when_over(db_url: str) -> None:
    """The limiter itself, on a real database: 2 per 2 s, then a fresh window."""
    import asyncio
    import time

    from ticketbook.db.pool import open_database
    from ticketbook.domain.errors import RateLimited
    from ticketbook.ratelimit.limiter import RateLimiter
    from ticketbook.settings import LimitSettings, RateRule, Settings

    async def scene() -> tuple[list[str], int]:
        db = await open_database(db_url, Settings())
        limits = LimitSettings(login_per_account=RateRule(2, 2), login_per_address=RateRule(0, 1))
        limiter = RateLimiter(db, limits)
        outcomes: list[str] = []
        retry_after = 0

        async def attempt() -> None:
            nonlocal retry_after
            try:
                await limiter.hit("login", account="fan@example.com", address="192.0.2.1")
                outcomes.append("ok")
            except RateLimited as exc:
                retry_after = exc.retry_after_s
                outcomes.append("limited")

        try:
            for _ in range(3):
                await attempt()
            started = time.monotonic()
            await asyncio.sleep(2.2)
            assert time.monotonic() - started >= 2
            await attempt()
        finally:
            await db.close()
        return outcomes, retry_after

    outcomes, retry_after = asyncio.run(scene())
    assert outcomes == ["ok", "ok", "limited", "ok"]
    assert 1 <= retry_after <= 2
