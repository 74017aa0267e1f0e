"""The waiting room in Chromium: a fan opens a protected concert before its on-sale and lands in
its waiting room, with the draw's fingerprint; joins; the on-sale passes and the page turns to
admitted without a reload, moves to the shop by itself, and the fan books. The room at 375 px
passes the accessibility checks.

Screenshots go to docs/screenshots/ with TICKETBOOK_UPDATE_SCREENSHOTS=1 (`make screenshots`),
else to a temporary folder."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.system.browser.conftest import MOBILE, Shop
from tests.system.browser.test_accessibility import check_page
from tests.system.browser.test_screenshots import README_SCREENSHOTS, shoot


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("TICKETBOOK_UPDATE_SCREENSHOTS") == "1":
        return README_SCREENSHOTS
    return tmp_path_factory.mktemp("waiting-room-screenshots")


def protect(shop: Shop, concert_id: str, rate_per_minute: int = 100_000) -> str:
    """A protected on-sale an hour away (as the organizer's API sets it); its seed's hash."""
    seed = secrets.token_bytes(32)
    shop.fetch(
        "INSERT INTO onsales (concert_id, opens_at, protected, rate_per_minute, seed, seed_hash)"
        " VALUES ($1::uuid, now() + interval '1 hour', true, $2, $3, sha256($3))",
        concert_id,
        rate_per_minute,
        seed,
    )
    return hashlib.sha256(seed).hexdigest()


def test_from_the_waiting_room_through_admission_to_a_booking(
    new_context: Any, shop: Shop, screens: Path
) -> None:
    concert = shop.concert({"GA": 20}, price_cents=4500)
    fingerprint = protect(shop, concert["id"])
    page = new_context().new_page()
    page.goto(f"/concerts/{concert['id']}")
    expect(page).to_have_url(f"{shop.base_url}/concerts/{concert['id']}/queue")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Waiting room")
    expect(page.locator(".js-seed-hash")).to_have_text(fingerprint)
    page.get_by_role("button", name="Join the queue").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("You're in the queue")
    expect(page.locator("#queue")).to_have_attribute("data-live", "open")
    expect(page.locator(".js-join-id")).to_have_text(
        shop.fetchval(
            "SELECT join_id FROM queue_entries WHERE concert_id = $1::uuid", concert["id"]
        )
    )
    shoot(page, screens, "waiting-room", full_page=True)

    # The same room on a phone, for another fan.
    phone = new_context(viewport=MOBILE, device_scale_factor=1).new_page()
    phone.goto(f"/concerts/{concert['id']}")
    phone.get_by_role("button", name="Join the queue").click()
    expect(phone.get_by_role("status")).to_contain_text("You're in the queue")
    check_page(phone, "waiting room at 375 px")
    shoot(phone, screens, "waiting-room-mobile", full_page=True)
    phone.close()

    # The on-sale passes: the open page turns to admitted by itself, then opens the shop.
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    shop.fetch(
        "UPDATE onsales SET opens_at = now() - interval '1 second' WHERE concert_id = $1::uuid",
        concert["id"],
    )
    expect(page.locator("#queue")).to_have_attribute("data-state", "admitted")
    assert page.evaluate("window.__sameDocument") is True
    expect(status).to_contain_text("It's your turn")
    expect(page.get_by_role("link", name="Go to the shop")).to_be_visible()
    expect(page).to_have_url(f"{shop.base_url}/concerts/{concert['id']}")
    cookie = next(c for c in page.context.cookies() if c["name"] == "tb_admission")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert cookie["path"] == f"/concerts/{concert['id']}"

    card = page.locator(f"#tier-{concert['tiers']['GA']}")
    card.get_by_label("Tickets").select_option("2")
    card.get_by_role("button", name="Book").click()
    expect(card.locator(".result")).to_contain_text("Booking confirmed")
    assert shop.tier_counts(concert["tiers"]["GA"])["CONFIRMED"] == 2
