"""A booking made anywhere updates the counts on every open concert page, without a reload
and without moving anything on the page."""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.support.api import book, new_guest
from tests.system.browser.conftest import Shop

TRACK_LAYOUT_SHIFTS = """() => {
    window.__shifts = [];
    new PerformanceObserver(list => {
        for (const entry of list.getEntries()) window.__shifts.push(entry.value);
    }).observe({type: 'layout-shift'});
}"""

BOXES = """() => [...document.querySelectorAll(
    '.tier-card, .tier-card form, .tier-card button, .stock__text, .js-tier-count')]
    .map(el => { const r = el.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })"""


def open_concert(page: Any, concert_id: str) -> None:
    page.goto(f"/concerts/{concert_id}")
    expect(page.locator("[data-live-url]")).to_have_attribute("data-live", "open")


def test_a_booking_in_one_page_updates_the_other_page(new_context: Any, shop: Shop) -> None:
    concert = shop.concert({"VIP": 12, "FRONT_ROW": 40, "GA": 200})
    vip, ga = concert["tiers"]["VIP"], concert["tiers"]["GA"]
    booker = new_context().new_page()
    watcher = new_context().new_page()
    open_concert(booker, concert["id"])
    open_concert(watcher, concert["id"])
    watcher.evaluate("window.__sameDocument = true")
    watcher.evaluate(TRACK_LAYOUT_SHIFTS)
    boxes_before = watcher.evaluate(BOXES)

    card = booker.locator(f"#tier-{vip}")
    card.get_by_label("Tickets").select_option("4")
    started = time.monotonic()
    card.get_by_role("button", name="Book").click()
    expect(card.locator(".result")).to_contain_text("Booking confirmed")

    watched = watcher.locator(f"#tier-{vip}")
    expect(watched.locator(".js-tier-count")).to_have_text("8", timeout=5_000)
    seconds = time.monotonic() - started
    # 8 of 12 left is 67%: still "available"; the bar shrank to match.
    expect(watched.locator(".badge")).to_have_text("Available")
    fill = watched.locator(".js-stock-fill").evaluate("el => el.style.getPropertyValue('--left')")
    assert fill == "0.6667"
    # The quantity picker follows: at most min(10, left).
    assert watched.get_by_label("Tickets").locator("option").count() == 8

    # A booking through the API (another worker, another client) shows up too, and a tier
    # going under 10% turns "Selling fast".
    # A crowd: a fan of its own for each booking (one fan may hold at most 10 tickets).
    with httpx.Client(base_url=shop.base_url) as api:
        for _ in range(10):
            assert book(api, new_guest(api), ga, 10).status_code == 200
        assert book(api, new_guest(api), ga, 1).status_code == 200
    expect(watcher.locator(f"#tier-{ga} .js-tier-count")).to_have_text("99")
    expect(watcher.locator(f"#tier-{ga} .badge")).to_have_text("Available")
    with httpx.Client(base_url=shop.base_url) as api:
        for _ in range(8):
            assert book(api, new_guest(api), ga, 10).status_code == 200
    expect(watcher.locator(f"#tier-{ga} .js-tier-count")).to_have_text("19")
    expect(watcher.locator(f"#tier-{ga} .badge")).to_have_text("Selling fast")

    assert watcher.evaluate("window.__sameDocument") is True
    assert watcher.evaluate("window.__shifts") == []  # no layout shift at all
    assert watcher.evaluate(BOXES) == boxes_before  # nothing moved or resized
    print(f"count reached the other page {seconds:.2f}s after pressing Book")


def test_a_tier_selling_out_elsewhere_disables_its_form(new_context: Any, shop: Shop) -> None:
    concert = shop.concert({"FRONT_ROW": 3, "GA": 50})
    tier = concert["tiers"]["FRONT_ROW"]
    watcher = new_context().new_page()
    open_concert(watcher, concert["id"])
    watcher.evaluate(TRACK_LAYOUT_SHIFTS)
    boxes_before = watcher.evaluate(BOXES)
    with httpx.Client(base_url=shop.base_url) as api:
        assert book(api, new_guest(api), tier, 3).status_code == 200
    card = watcher.locator(f"#tier-{tier}")
    expect(card.locator(".js-tier-count")).to_have_text("0")
    expect(card.locator(".badge")).to_have_text("Sold out")
    expect(card.get_by_role("button", name="Sold out")).to_be_disabled()
    expect(card.get_by_label("Tickets")).to_be_disabled()
    expect(watcher.locator(".js-concert-badge .badge")).to_have_text("Available")
    assert watcher.evaluate("window.__shifts") == []
    assert watcher.evaluate(BOXES) == boxes_before
