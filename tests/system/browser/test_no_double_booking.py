"""Double clicks, refreshes, resubmitted forms and lost answers never book twice."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.system.browser.conftest import Shop, session_user


def wait_for(page: Any, condition: Any, timeout_ms: int = 10_000) -> None:
    waited = 0
    while not condition():
        assert waited < timeout_ms, "timed out"
        page.wait_for_timeout(20)
        waited += 20


def test_a_double_click_on_book_sends_one_booking(page: Any, shop: Shop) -> None:
    concert = shop.concert({"GA": 20})
    tier = concert["tiers"]["GA"]
    page.goto(f"/concerts/{concert['id']}")
    held: list[Any] = []
    # Hold the request, to look at the page while it is on its way.
    page.route("**/book", lambda route: held.append(route))

    button = page.locator(f"#tier-{tier}").get_by_role("button", name="Book")
    button.dblclick()
    wait_for(page, lambda: held)
    expect(button).to_be_disabled()  # aria-disabled while booking
    expect(button).to_have_text("Booking…")
    page.wait_for_timeout(300)  # a second request would be here by now
    assert len(held) == 1
    held[0].continue_()

    expect(page.locator(f"#tier-{tier} .result")).to_contain_text("Booking confirmed")
    expect(button).to_be_enabled()
    expect(button).to_have_text("Book")
    assert [b["quantity"] for b in shop.bookings_of(session_user(page.context))] == [1]
    assert shop.tier_counts(tier) == {"available": 19, "total": 20, "CONFIRMED": 1}


def test_a_lost_answer_then_book_again_replays_the_same_booking(page: Any, shop: Shop) -> None:
    """The booking reaches the server but the answer never reaches the browser; the fan
    presses Book again. The form kept its key, so the server answers the first booking."""
    concert = shop.concert({"VIP": 10})
    tier = concert["tiers"]["VIP"]
    page.goto(f"/concerts/{concert['id']}")
    attempts: list[str] = []

    def lose_first_answer(route: Any) -> None:
        attempts.append(route.request.post_data or "")
        if len(attempts) == 1:
            route.fetch()  # the server books ...
            route.abort("connectionreset")  # ... and the answer is lost
        else:
            route.continue_()

    page.route("**/book", lose_first_answer)
    card = page.locator(f"#tier-{tier}")
    card.get_by_label("Tickets").select_option("2")
    card.get_by_role("button", name="Book").click()
    expect(card.locator(".result")).to_contain_text("Connection problem")
    assert shop.tier_counts(tier)["CONFIRMED"] == 2  # the first attempt did book

    card.get_by_role("button", name="Book").click()
    expect(card.locator(".result")).to_contain_text("Booking confirmed")
    assert len(attempts) == 2 and attempts[0] == attempts[1]  # same form data, same key
    [booking] = shop.bookings_of(session_user(page.context))
    assert booking["quantity"] == 2
    assert shop.tier_counts(tier) == {"available": 8, "total": 10, "CONFIRMED": 2}


def test_without_javascript_refresh_and_resubmission_book_once(
    new_context: Any, shop: Shop
) -> None:
    concert = shop.concert({"GA": 30})
    tier = concert["tiers"]["GA"]
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"/concerts/{concert['id']}")
    form = page.locator(f"#tier-{tier} form")
    key = form.locator("input[name=idempotency_key]").input_value()
    form.get_by_label("Tickets").select_option("4")
    form.get_by_role("button", name="Book").click()
    expect(page).to_have_title(
        f"Booking confirmed \u2013 {page_concert_name(shop, concert)} · TicketBook"
    )
    reference = page.locator(".js-reference").inner_text()

    page.reload()  # the browser sends the same form again
    expect(page.locator(".js-reference")).to_have_text(reference)

    page.go_back()  # the concert page again, with the same form and key
    expect(form.locator("input[name=idempotency_key]")).to_have_value(key)
    form.get_by_role("button", name="Book").click()
    expect(page.locator(".js-reference")).to_have_text(reference)

    assert len(posts) == 3
    [booking] = shop.bookings_of(session_user(context))
    assert booking["quantity"] == 4 and str(booking["idempotency_key"]) == key
    assert shop.tier_counts(tier) == {"available": 26, "total": 30, "CONFIRMED": 4}


def test_without_javascript_a_double_click_books_once(new_context: Any, shop: Shop) -> None:
    concert = shop.concert({"FRONT_ROW": 12})
    tier = concert["tiers"]["FRONT_ROW"]
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/concerts/{concert['id']}")
    page.locator(f"#tier-{tier}").get_by_role("button", name="Book").dblclick()
    expect(page.locator(".result")).to_contain_text("Booking confirmed")
    assert len(shop.bookings_of(session_user(context))) == 1
    assert shop.tier_counts(tier) == {"available": 11, "total": 12, "CONFIRMED": 1}


def page_concert_name(shop: Shop, concert: dict[str, Any]) -> str:
    name: str = shop.fetchval("SELECT name FROM concerts WHERE id = $1::uuid", concert["id"])
    return name
