"""Accounts in a real browser: a guest books, creates an account with the form (the booking
comes along), sees it under My bookings, signs out, and is a guest again."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.system.browser.conftest import MOBILE, Shop
from tests.system.browser.test_accessibility import check_focus_is_visible, check_page


def test_a_guest_books_registers_sees_the_booking_and_signs_out(
    new_context: Any, shop: Shop
) -> None:
    concert = shop.concert({"GA": 20})
    tier = concert["tiers"]["GA"]
    # At 375 px: the header holds the account links and a signed-in email without overflowing.
    page = new_context(viewport=MOBILE).new_page()
    page.goto(f"/concerts/{concert['id']}")
    card = page.locator(f"#tier-{tier}")
    card.get_by_role("button", name="Book").click()
    expect(card.locator(".result")).to_contain_text("Booking confirmed")
    reference = card.locator(".js-reference").inner_text()

    account = page.get_by_role("navigation", name="Account")
    account.get_by_role("link", name="Create account").click()
    expect(page).to_have_title("Create an account · TicketBook")
    check_page(page, "/register")
    check_focus_is_visible(page, "/register")
    email = f"fan-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("correct horse battery staple")
    page.get_by_label("Confirm password").fill("correct horse battery staple")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_title("My bookings · TicketBook")
    expect(page.locator(".notice")).to_contain_text(
        "1 booking from this browser is now in your account"
    )
    expect(page.locator(".booking-card", has_text=reference)).to_be_visible()
    expect(account).to_contain_text(email)
    check_page(page, "/bookings signed in")

    account.get_by_role("button", name="Sign out").click()
    expect(page).to_have_title("Concert tickets · TicketBook")
    expect(account.get_by_role("link", name="Sign in")).to_be_visible()
    expect(account).not_to_contain_text(email)
    cookie = next(c for c in page.context.cookies() if c["name"] == "tb_session")
    assert not cookie["value"].startswith("tb_")  # a fresh guest
