"""Choosing seats in a real browser: click two seats and book them while another fan's open
map turns them sold (no reload); the same with the keyboard only; "best available" by
default at 375 px; the page's accessibility checks; screenshots of the map."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.api import book, new_guest
from tests.support.seating import seated_concert
from tests.system.browser.conftest import DESKTOP, MOBILE, Shop, off_loop, session_user
from tests.system.browser.test_accessibility import check_page
from tests.system.browser.test_screenshots import README_SCREENSHOTS, shoot
from ticketbook.seating.demo_layouts import concert_hall

SOLD = re.compile(r"\bstate-sold\b")


@pytest.fixture
def hall(shop: Shop, tmp_path: Path) -> dict[str, Any]:
    """A concert of its own in the demo hall (every zone $50.00), with a standing tier."""
    concert: dict[str, Any] = off_loop(seated_concert, shop.db_url, tmp_path, concert_hall())
    return {**concert, "zones": {zone: str(tier) for zone, tier in concert["zones"].items()}}


def open_map(page: Any, concert: dict[str, Any]) -> None:
    page.goto(f"/concerts/{concert['id']}#seats")
    expect(page.locator("[data-live-url]")).to_have_attribute("data-live", "open")
    expect(page.locator(".js-seat-modes")).to_be_visible()  # the script is running
    if page.get_by_role("button", name="Pick on the map").get_attribute("aria-pressed") != "true":
        page.get_by_role("button", name="Pick on the map").click()
    expect(page.locator(".js-selection")).to_be_visible()


def seat(page: Any, code: str) -> Any:
    return page.locator(f'.seat[data-code="{code}"]')


def booked_seats(shop: Shop, concert: dict[str, Any]) -> set[str]:
    rows = shop.fetch(
        "SELECT code FROM concert_seats WHERE concert_id = $1::uuid AND booking_id IS NOT NULL",
        concert["id"],
    )
    return {r["code"] for r in rows}


def test_two_seats_clicked_and_booked_turn_sold_on_another_fans_open_map(
    new_context: Any, shop: Shop, hall: dict[str, Any]
) -> None:
    watcher = new_context().new_page()
    open_map(watcher, hall)
    watcher.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    # The other fan has one of those seats in their selection.
    seat(watcher, "SC:C:11").click()
    expect(seat(watcher, "SC:C:11")).to_have_attribute("aria-checked", "true")

    booker = new_context().new_page()
    open_map(booker, hall)
    for code in ("SC:C:10", "SC:C:11"):
        seat(booker, code).click()
        expect(seat(booker, code)).to_have_attribute("aria-checked", "true")
    panel = booker.locator(".js-selection")
    expect(panel.locator(".selection-list__item")).to_have_count(2)
    expect(panel.locator(".selection-list__item").first).to_contain_text(
        "Stalls Centre, row C, seat 10"
    )
    expect(panel.locator(".js-selection-total")).to_have_text("$100.00")
    expect(booker.locator(".js-seat-announce")).to_have_text(
        "Stalls Centre, row C, seat 11 selected. 2 seats selected, total $100.00."
    )

    started = time.monotonic()
    panel.get_by_role("button", name="Book 2 seats").click()
    result = panel.locator(".result")
    expect(result).to_contain_text("Booking confirmed")
    expect(result).to_contain_text("2 × Premium · $100.00 paid.")  # noqa: RUF001
    expect(result.locator(".js-booked-seats li")).to_have_text(
        ["Stalls Centre, row C, seat 10", "Stalls Centre, row C, seat 11"]
    )
    # The booker's map: the selection is done with, the seats are sold.
    expect(panel.locator(".selection-list__item")).to_have_count(0)
    expect(seat(booker, "SC:C:10")).to_have_class(SOLD)
    assert booked_seats(shop, hall) == {"SC:C:10", "SC:C:11"}

    # The other map, without a reload: both sold, out of reach, and the fan is told that
    # their seat went.
    for code in ("SC:C:10", "SC:C:11"):
        expect(seat(watcher, code)).to_have_class(SOLD, timeout=5_000)
        expect(seat(watcher, code)).to_have_attribute("aria-disabled", "true")
        expect(seat(watcher, code)).to_have_attribute("aria-label", re.compile(r", sold$"))
    seconds = time.monotonic() - started
    expect(seat(watcher, "SC:C:11")).to_have_attribute("aria-checked", "false")
    expect(watcher.locator(".js-selection-notice")).to_have_text(
        "Stalls Centre, row C, seat 11 was just taken by another fan, so it is no longer in"
        " your selection."
    )
    expect(watcher.locator(".selection-list__item")).to_have_count(0)
    assert watcher.evaluate("window.__sameDocument") is True
    print(f"the seats turned sold on the other map {seconds:.2f}s after pressing Book")


def test_choosing_and_booking_seats_with_the_keyboard_only(
    page: Any, shop: Shop, hall: dict[str, Any]
) -> None:
    open_map(page, hall)
    page.evaluate("document.activeElement && document.activeElement.blur()")

    def active() -> dict[str, Any]:
        result: dict[str, Any] = page.evaluate(
            """() => { const el = document.activeElement;
                const seat = el.classList.contains('seat');
                return {code: seat ? el.getAttribute('data-code') : null,
                        text: seat ? '' : el.textContent.trim(),
                        tag: el.tagName.toLowerCase()}; }"""
        )
        return result

    # Tab to the map: the whole map is one stop.
    for _ in range(60):
        page.keyboard.press("Tab")
        if active()["code"]:
            break
    first = active()["code"]
    assert first == "SL:A:1", first  # the first free seat
    page.keyboard.press("ArrowRight")
    assert active()["code"] == "SL:A:2"
    page.keyboard.press("ArrowDown")
    assert active()["code"].startswith("SL:B:")
    page.keyboard.press("ArrowUp")
    assert active()["code"] == "SL:A:2"
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(seat(page, "SL:A:2")).to_have_attribute("aria-checked", "true")
    expect(seat(page, "SL:A:3")).to_have_attribute("aria-checked", "true")
    expect(page.locator(".js-seat-announce")).to_contain_text("2 seats selected, total $100.00.")
    # The focus ring shows where the keyboard is.
    ring = seat(page, "SL:A:3").evaluate("el => parseFloat(getComputedStyle(el).strokeWidth)")
    assert ring >= 4
    # Tab leaves the map at once, then on to Book (past each seat's Remove button).
    page.keyboard.press("Tab")
    assert active() == {"code": None, "text": "\u00d7", "tag": "button"}  # Remove seat 2
    for _ in range(5):
        if active()["text"] == "Book 2 seats":
            break
        page.keyboard.press("Tab")
    assert active() == {"code": None, "text": "Book 2 seats", "tag": "button"}
    page.keyboard.press("Enter")
    result = page.locator(".js-selection .result")
    expect(result).to_contain_text("Booking confirmed")
    expect(result).to_contain_text("Stalls Left, row A, seat 2")
    assert booked_seats(shop, hall) == {"SL:A:2", "SL:A:3"}
    [booking] = shop.bookings_of(session_user(page.context))
    assert (booking["status"], booking["quantity"]) == ("CONFIRMED", 2)


def test_one_zone_per_booking_ten_seats_at_most_and_the_map_pans(
    page: Any, shop: Shop, hall: dict[str, Any]
) -> None:
    open_map(page, hall)
    panel = page.locator(".js-selection")
    seat(page, "SC:A:1").click()  # premium
    seat(page, "SC:K:1").click()  # standard
    warning = panel.locator(".js-selection-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Choose seats of one price zone per booking")
    book_button = panel.get_by_role("button", name="Book 2 seats")
    expect(book_button).to_have_attribute("aria-disabled", "true")
    book_button.click(force=True)  # aria-disabled: still pressable, and it says why
    expect(panel.locator(".js-selection-notice")).to_contain_text("one price zone per booking")
    assert booked_seats(shop, hall) == set()

    # Removing the standard seat (its Remove button) settles it; the focus stays in the list.
    panel.get_by_role("button", name="Remove Stalls Centre, row K, seat 1").click()
    expect(warning).to_be_hidden()
    expect(seat(page, "SC:K:1")).to_have_attribute("aria-checked", "false")
    expect(panel.get_by_role("button", name="Book 1 seat")).not_to_have_attribute(
        "aria-disabled", "true"
    )
    for n in range(2, 11):
        seat(page, f"SC:A:{n}").click()
    expect(panel.locator(".selection-list__item")).to_have_count(10)
    seat(page, "SC:A:11").click()
    expect(seat(page, "SC:A:11")).to_have_attribute("aria-checked", "false")
    expect(page.locator(".js-seat-announce")).to_have_text(
        "You can choose up to 10 seats per booking."
    )

    # Zoomed in, a drag moves the map and chooses nothing.
    svg = page.locator("svg.seat-map")
    whole = svg.get_attribute("viewBox")
    page.get_by_role("button", name="Zoom in").click()
    before = [float(v) for v in svg.get_attribute("viewBox").split()]
    box = svg.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 60, steps=8)
    page.mouse.up()
    after = [float(v) for v in svg.get_attribute("viewBox").split()]
    assert after[0] < before[0] and after[1] < before[1] and after[2] == before[2]
    expect(panel.locator(".selection-list__item")).to_have_count(10)
    page.get_by_role("button", name="Whole map").click()
    assert svg.get_attribute("viewBox") == whole


def test_at_375px_best_available_is_the_default_and_books(
    new_context: Any, shop: Shop, hall: dict[str, Any]
) -> None:
    page = new_context(viewport=MOBILE).new_page()
    page.goto(f"/concerts/{hall['id']}")
    best = page.locator(".js-mode-best")
    expect(best).to_be_visible()
    expect(page.locator(".js-mode-map")).to_be_hidden()
    expect(page.get_by_role("button", name="Best available", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    check_page(page, "seated concert at 375px")

    best.get_by_label("Price zone").select_option(hall["zones"]["balcony"])
    best.get_by_label("Seats").select_option("3")
    expect(best.locator(".js-best-total")).to_have_text("$150.00")
    best.get_by_role("button", name="Book best available").click()
    result = best.locator(".result")
    expect(result).to_contain_text("Booking confirmed")
    expect(result.locator(".js-booked-seats li")).to_have_count(3)
    expect(result.locator(".js-booked-seats li").first).to_contain_text("Balcony, row A, seat")
    booked = booked_seats(shop, hall)
    assert len(booked) == 3 and all(code.startswith("BAL:A:") for code in booked)

    # The map is one press away, and zooms to fit a finger.
    page.get_by_role("button", name="Pick on the map").click()
    expect(page.locator(".js-mode-map")).to_be_visible()
    whole = page.locator("svg.seat-map").get_attribute("viewBox")
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    zoomed = page.locator("svg.seat-map").get_attribute("viewBox")
    assert float(zoomed.split()[2]) < float(whole.split()[2]) / 2
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


def test_the_seated_page_passes_the_accessibility_checks_on_a_desktop(
    page: Any, hall: dict[str, Any]
) -> None:
    open_map(page, hall)
    check_page(page, "seated concert at 1280px")
    # Every seat is a named checkbox; only one of them is a Tab stop.
    stops = page.evaluate("document.querySelectorAll('.seat[tabindex=\"0\"]').length")
    assert stops == 1
    assert (
        page.get_by_role(
            "checkbox", name="Section Stalls Centre, row A, seat 1, $50.00, available"
        ).count()
        == 1
    )


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/screenshots/ on request (as test_screenshots.py: `make screenshots`)."""
    if os.environ.get("TICKETBOOK_UPDATE_SCREENSHOTS") == "1":
        return README_SCREENSHOTS
    return tmp_path_factory.mktemp("seat-map-screenshots")


def sell_some(shop: Shop, concert: dict[str, Any]) -> None:
    """A hall that has been on sale for a while: blocks of seats sold in every zone."""
    with httpx.Client(base_url=shop.base_url, timeout=30) as api:
        for zone, section, quantity in (
            ("premium", "SC", 8),
            ("premium", "SC", 6),
            ("premium", "SL", 4),
            ("standard", "SC", 10),
            ("standard", "SR", 6),
            ("standard", "SL", 8),
            ("balcony", "BAL", 10),
            ("balcony", "BAL", 7),
        ):
            tier = concert["zones"][zone]
            answer = book(api, new_guest(api), tier, quantity, section=section)
            assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("name", "viewport"),
    [("seat-map", DESKTOP), ("seat-map-mobile", MOBILE)],
    ids=["desktop", "mobile"],
)
def test_screenshots(
    new_context: Any,
    shop: Shop,
    hall: dict[str, Any],
    screenshots: Path,
    name: str,
    viewport: dict[str, int],
) -> None:
    sell_some(shop, hall)
    page = new_context(viewport=viewport, device_scale_factor=1).new_page()
    open_map(page, hall)
    mobile = viewport is MOBILE
    codes = ("SC:J:12", "SC:J:13") if mobile else ("SC:F:14", "SC:F:15", "SC:F:16")
    for code in codes:
        seat(page, code).click()
        expect(seat(page, code)).to_have_attribute("aria-checked", "true")
    if mobile:
        for _ in range(2):
            page.keyboard.press("+")  # about the focused seat: the one just chosen
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement.blur()")
    page.locator("#seats").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    shoot(page, screenshots, name)
