"""A fan books in a real browser: book, see it in My bookings, cancel, see the count return;
two fans race for the last ticket; booking with the keyboard only."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.system.browser.conftest import Shop, session_user


def test_book_see_in_my_bookings_cancel_and_the_count_returns(page: Any, shop: Shop) -> None:
    concert = shop.concert({"VIP": 5, "GA": 50}, price_cents=4500)
    vip = concert["tiers"]["VIP"]
    page.goto(f"/concerts/{concert['id']}")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    card = page.locator(f"#tier-{vip}")
    expect(card.locator(".js-tier-count")).to_have_text("5")

    card.get_by_label("Tickets").select_option("3")
    expect(card.locator(".js-total")).to_have_text("$135.00")
    card.get_by_role("button", name="Book").click()

    result = card.locator(".result")
    expect(result).to_contain_text("Booking confirmed")
    expect(result).to_contain_text("3 × VIP · $135.00 paid")  # noqa: RUF001
    reference = card.locator(".js-reference").inner_text()
    expect(card.locator(".js-tier-count")).to_have_text("2")
    assert page.evaluate("window.__sameDocument") is True
    assert shop.tier_counts(vip) == {"available": 2, "total": 5, "CONFIRMED": 3}

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings").click()
    expect(page).to_have_title("My bookings · TicketBook")
    row = page.locator(".booking-card", has_text=reference)
    expect(row).to_contain_text(concert_name(shop, concert["id"]))
    expect(row).to_contain_text("VIP")
    expect(row).to_contain_text("$135.00")
    expect(row.locator(".badge")).to_have_text("Confirmed")

    page.evaluate("window.__sameDocument = true")
    row.get_by_role("button", name="Cancel booking").click()
    row = page.locator(".booking-card", has_text=reference)
    expect(row.locator(".badge")).to_have_text("Cancelled")
    expect(row).to_contain_text("is cancelled. Its tickets are back on sale.")
    expect(row.get_by_role("button", name="Cancel booking")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True

    page.goto(f"/concerts/{concert['id']}")
    expect(page.locator(f"#tier-{vip} .js-tier-count")).to_have_text("5")
    [booking] = shop.bookings_of(session_user(page.context))
    assert booking["status"] == "CANCELLED"
    assert shop.tier_counts(vip) == {"available": 5, "total": 5, "CANCELLED": 3}


def concert_name(shop: Shop, concert_id: str) -> str:
    name: str = shop.fetchval("SELECT name FROM concerts WHERE id = $1::uuid", concert_id)
    return name


def test_two_fans_race_for_the_last_ticket(new_context: Any, shop: Shop) -> None:
    concert = shop.concert({"FRONT_ROW": 1})
    tier = concert["tiers"]["FRONT_ROW"]
    fans = [new_context().new_page() for _ in range(2)]
    for fan in fans:
        fan.goto(f"/concerts/{concert['id']}")
        expect(fan.locator(f"#tier-{tier} .js-tier-count")).to_have_text("1")
    # Both press Book while both pages show 1 left. The requests are held in the browsers
    # until both are on their way, then released together: they race at the server.
    held: list[Any] = []
    for fan in fans:
        fan.route("**/book", lambda route: held.append(route))
    for fan in fans:
        fan.locator(f"#tier-{tier}").get_by_role("button", name="Book").click()
    while len(held) < 2:
        fans[0].wait_for_timeout(20)
    for route in held:
        route.continue_()

    outcomes = []
    for fan in fans:
        result = fan.locator(f"#tier-{tier} .result")
        expect(result).to_be_visible()
        outcomes.append(result.get_attribute("data-outcome"))
    assert sorted(outcomes) == ["confirmed", "sold-out"], outcomes
    loser = fans[outcomes.index("sold-out")]
    expect(loser.locator(f"#tier-{tier} .result")).to_contain_text("Not enough tickets left")
    expect(loser.locator(f"#tier-{tier} .result")).to_contain_text("just sold out")
    expect(loser.locator(f"#tier-{tier} .js-tier-count")).to_have_text("0")
    expect(loser.locator(f"#tier-{tier}").get_by_role("button", name="Sold out")).to_be_disabled()

    assert shop.tier_counts(tier) == {"available": 0, "total": 1, "CONFIRMED": 1}
    winners = [session_user(fan.context) for fan in fans]
    confirmed = [len(shop.bookings_of(user)) for user in winners]
    assert sorted(confirmed) == [0, 1]


def tab_until(page: Any, predicate_js: str, limit: int = 40) -> list[dict[str, Any]]:
    """Press Tab until the focused element matches; return what each stop looked like."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return {tag: el.tagName, id: el.id, text: el.innerText || el.value || '',
                        outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                        shadow: style.boxShadow};
            }"""
        )
        stops.append(stop)
        if page.evaluate(f"(el => {predicate_js})(document.activeElement)"):
            return stops
    raise AssertionError(f"never reached the element; focus went through {stops}")


def test_keyboard_only_booking(page: Any, shop: Shop) -> None:
    concert = shop.concert({"VIP": 8, "GA": 40})
    ga = concert["tiers"]["GA"]
    page.goto(f"/concerts/{concert['id']}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    stops = tab_until(page, f"el.id === 'tier-{ga}-qty'")
    # Every stop on the way showed a visible focus indicator.
    for stop in stops:
        assert stop["outline"] != "none" and stop["outlineWidth"] >= 2, stop
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator(f"#tier-{ga}-qty")).to_have_value("3")
    expect(page.locator(f"#tier-{ga} .js-total")).to_have_text("$30.00")

    tab_until(page, "el.classList.contains('js-book-button')")
    assert page.evaluate("document.activeElement.closest('.tier-card').id") == f"tier-{ga}"
    page.keyboard.press("Enter")
    expect(page.locator(f"#tier-{ga} .result")).to_contain_text("Booking confirmed")
    expect(page.locator(f"#tier-{ga} .js-tier-count")).to_have_text("37")
    # Focus stays on the (re-enabled) button, so the next keystroke still works.
    assert page.evaluate("document.activeElement.classList.contains('js-book-button')")
    assert shop.tier_counts(ga)["CONFIRMED"] == 3
