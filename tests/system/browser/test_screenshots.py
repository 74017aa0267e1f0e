"""Screenshots of the pages for the README (docs/screenshots/), desktop and 375 px mobile,
taken on the demo catalogue plus two concerts that really sold (nearly) out."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.sync_api import expect

from tests.support.api import book, new_guest
from tests.system.browser.conftest import (
    DESKTOP,
    MOBILE,
    Shop,
    off_loop,
)
from ticketbook.catalog.demo import seed

README_SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"

EXTRA_CONCERTS = [
    # name, artist, venue, description, days ahead, tiers (type: (quantity, price cents))
    (
        "Late Night Unplugged",
        "Mara Quinn",
        "The Jazz Cafe, London",
        "Songs from the new record, stripped back to voice and guitar.",
        12,
        {"VIP": (4, 7500), "FRONT_ROW": (12, 4000), "GA": (40, 2500)},
    ),
    (
        "Rooftop Sessions",
        "The Paper Kites",
        "Skyline Terrace, Melbourne",
        "Golden-hour folk on the roof, forty guests only.",
        16,
        {"VIP": (4, 9000), "GA": (36, 3500)},
    ),
]


async def _load(db_url: str) -> dict[str, dict[str, Any]]:
    conn = await asyncpg.connect(db_url)
    try:
        await seed(conn)
        evening = datetime.now(UTC).replace(hour=20, minute=0, second=0, microsecond=0)
        created: dict[str, dict[str, Any]] = {}
        for name, artist, venue, description, days, tiers in EXTRA_CONCERTS:
            concert_id = await conn.fetchval(
                "INSERT INTO concerts (name, artist, venue, description, starts_at)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING id",
                name,
                artist,
                venue,
                description,
                evening + timedelta(days=days),
            )
            tier_ids = {}
            for tier_type, (quantity, price) in tiers.items():
                tier_ids[tier_type] = str(
                    await conn.fetchval(
                        "INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency,"
                        " total_quantity) VALUES ($1, $2, $3, 'USD', $4)"
                        " RETURNING id",
                        concert_id,
                        tier_type,
                        price,
                        quantity,
                    )
                )
            created[name] = {"id": str(concert_id), "tiers": tier_ids}
        first = await conn.fetchrow(
            "SELECT c.id, t.id AS tier FROM concerts c JOIN ticket_tiers t ON t.concert_id = c.id"
            " WHERE c.name = 'Midnight Echoes World Tour' AND t.tier_type = 'FRONT_ROW'"
        )
        created["Midnight Echoes World Tour"] = {
            "id": str(first["id"]),
            "tiers": {"FRONT_ROW": str(first["tier"])},
        }
        return created
    finally:
        await conn.close()


def _sell(base_url: str, tier_id: str, tickets: int) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as api:
        while tickets > 0:
            quantity = min(10, tickets)
            # A fan of its own for each booking: one fan may hold at most 10 tickets.
            assert book(api, new_guest(api), tier_id, quantity).status_code == 200
            tickets -= quantity


@pytest.fixture(scope="module")
def demo(shop: Shop) -> dict[str, dict[str, Any]]:
    concerts = off_loop(asyncio.run, _load(shop.db_url))
    late = concerts["Late Night Unplugged"]["tiers"]
    _sell(shop.base_url, late["VIP"], 4)  # VIP sold out
    _sell(shop.base_url, late["FRONT_ROW"], 11)
    _sell(shop.base_url, late["GA"], 37)  # 4 of 56 left: selling fast
    rooftop = concerts["Rooftop Sessions"]["tiers"]
    _sell(shop.base_url, rooftop["VIP"], 4)
    _sell(shop.base_url, rooftop["GA"], 36)  # sold out
    return concerts


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/screenshots/ on request (`make screenshots`); otherwise a temporary folder, so a
    test run never leaves the checkout changed."""
    if os.environ.get("TICKETBOOK_UPDATE_SCREENSHOTS") == "1":
        return README_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


def shoot(page: Any, folder: Path, name: str, *, full_page: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    assert path.stat().st_size > 10_000, f"{path} looks empty"
    return path


@pytest.mark.parametrize(
    ("device", "viewport"), [("desktop", DESKTOP), ("mobile", MOBILE)], ids=["desktop", "mobile"]
)
def test_screenshots(
    new_context: Any,
    demo: dict[str, dict[str, Any]],
    screenshots: Path,
    device: str,
    viewport: dict[str, int],
) -> None:
    page = new_context(viewport=viewport, device_scale_factor=1).new_page()
    page.goto("/")
    expect(page.locator(".concert-card")).to_have_count(8)
    expect(page.locator(".badge--selling-fast")).to_have_count(1)
    expect(page.locator(".concert-card .badge--sold-out")).to_have_count(1)
    shoot(page, screenshots, f"{device}-concerts", full_page=device == "desktop")

    late = demo["Late Night Unplugged"]
    page.goto(f"/concerts/{late['id']}")
    expect(page.locator("[data-live-url]")).to_have_attribute("data-live", "open")
    shoot(page, screenshots, f"{device}-concert")

    midnight = demo["Midnight Echoes World Tour"]
    page.goto(f"/concerts/{midnight['id']}")
    card = page.locator(f"#tier-{midnight['tiers']['FRONT_ROW']}")
    card.get_by_label("Tickets").select_option("2")
    card.get_by_role("button", name="Book").click()
    expect(card.locator(".result")).to_contain_text("Booking confirmed")
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    card.locator(".result").scroll_into_view_if_needed()
    if device == "mobile":
        card.evaluate("el => el.scrollIntoView({block: 'end'})")
    shoot(page, screenshots, f"{device}-booking")

    # A second booking, cancelled, so My bookings shows both states.
    ga = page.locator(".tier-card").nth(2)
    ga.get_by_label("Tickets").select_option("4")
    ga.get_by_role("button", name="Book").click()
    expect(ga.locator(".result")).to_contain_text("Booking confirmed")
    page.goto("/bookings")
    page.locator(".booking-card").first.get_by_role("button", name="Cancel booking").click()
    expect(page.locator(".booking-card .badge").first).to_have_text("Cancelled")
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement.blur()")
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    shoot(page, screenshots, f"{device}-bookings")
