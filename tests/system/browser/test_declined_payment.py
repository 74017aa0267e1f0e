"""A declined payment shows the retry path; the retry is a new booking attempt (new key)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.databases import DatabaseFactory
from tests.system.browser.conftest import Shop, require_chromium, session_user, start_shop


@pytest.fixture(scope="module")
def shop(databases: DatabaseFactory, data_dir: Path) -> Iterator[Shop]:
    """Every payment is declined (no timeouts, no provider errors)."""
    require_chromium()
    shop = start_shop(
        databases,
        data_dir,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="0",
        TICKETBOOK_PAYMENT_TIMEOUT_SHARE="0",
        TICKETBOOK_PAYMENT_ERROR_SHARE="0",
    )
    try:
        yield shop
    finally:
        shop.server.stop()


def test_a_declined_payment_offers_try_again_with_a_new_key(page: Any, shop: Shop) -> None:
    concert = shop.concert({"VIP": 6}, price_cents=10000)
    tier = concert["tiers"]["VIP"]
    page.goto(f"/concerts/{concert['id']}")
    card = page.locator(f"#tier-{tier}")
    first_key = card.locator("input[name=idempotency_key]").input_value()
    card.get_by_label("Tickets").select_option("2")
    card.get_by_role("button", name="Book").click()

    result = card.locator(".result")
    expect(result).to_have_attribute("data-outcome", "declined")
    expect(result).to_contain_text("Payment declined")
    expect(result).to_contain_text("went back on sale")
    expect(card.locator(".js-tier-count")).to_have_text("6")  # nothing is held
    retry = result.get_by_role("button", name="Try again")
    retry_key = result.locator("input[name=idempotency_key]").input_value()
    assert retry_key != first_key
    assert result.locator("input[name=quantity]").input_value() == "2"

    retry.click()
    expect(card.locator(".result")).to_have_attribute("data-outcome", "declined")
    # The form itself has a fresh key too, for a deliberate new attempt.
    assert card.locator("form.book-form input[name=idempotency_key]").input_value() not in (
        first_key,
        retry_key,
    )
    attempts = shop.bookings_of(session_user(page.context))
    assert [b["status"] for b in attempts] == ["FAILED", "FAILED"]
    assert [str(b["idempotency_key"]) for b in attempts] == [first_key, retry_key]
    assert shop.tier_counts(tier) == {"available": 6, "total": 6, "FAILED": 4}

    page.goto("/bookings")
    expect(page.locator(".booking-card .badge").first).to_have_text("Payment failed")
    expect(page.get_by_role("button", name="Cancel booking")).to_have_count(0)


def test_without_javascript_the_retry_is_a_form_too(new_context: Any, shop: Shop) -> None:
    concert = shop.concert({"GA": 5})
    tier = concert["tiers"]["GA"]
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/concerts/{concert['id']}")
    page.locator(f"#tier-{tier}").get_by_role("button", name="Book").click()
    expect(page).to_have_title(re.compile(r"^Payment declined"))
    page.get_by_role("button", name="Try again").click()
    expect(page.locator(".result")).to_contain_text("Payment declined")
    keys = {str(b["idempotency_key"]) for b in shop.bookings_of(session_user(context))}
    assert len(keys) == 2
