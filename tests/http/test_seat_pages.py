"""Reserved seats on the fan's pages, in-process and without JavaScript: the seat map, its
legend and "best available" on the concert page; booking the best seats and named seats
through the page's forms; a taken seat's panel and its alternatives; the seat-state bytes the
map's script reads; big venues' overview; everything escaped."""

from __future__ import annotations

import re
import time
import uuid
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.inventory import fetch, fetchval
from tests.support.pages import Form, forms, post_form, text, title
from tests.support.seating import seated_concert
from ticketbook.seating.demo_layouts import (
    concert_hall,
    section_block_document,
    stadium,
)
from ticketbook.seating.layout import parse_layout
from ticketbook.seating.service import STATES_FRESH_S
from ticketbook.seating.states import SeatState, decode_states

SVG_NS = "{http://www.w3.org/2000/svg}"
HALL_SEATS = 2072
HALL_SECTIONS = {"SL": "Stalls Left", "SC": "Stalls Centre", "SR": "Stalls Right", "BAL": "Balcony"}


@pytest.fixture(scope="module")
def hall_layout() -> Any:
    return concert_hall()


@pytest.fixture
def hall(shared_db: str, tmp_path: Path, hall_layout: Any) -> dict[str, Any]:
    """A concert seated in the demo hall (every zone $50.00) with a GA tier beside it."""
    return seated_concert(shared_db, tmp_path, hall_layout)


def page(client: httpx.Client, concert: dict[str, Any], query: str = "") -> str:
    response = client.get(f"/concerts/{concert['id']}{query}")
    assert response.status_code == 200, response.text[:500]
    return response.text


def the_map(html: str) -> ET.Element:
    match = re.search(
        r'<svg xmlns="http://www.w3.org/2000/svg" class="seat-map".*?</svg>', html, re.S
    )
    assert match, "no seat map on the page"
    return ET.fromstring(match.group(0))


def seats_on(svg: ET.Element) -> list[ET.Element]:
    return [e for e in svg.iter(f"{SVG_NS}circle") if "seat" in e.get("class", "").split()]


def best_form(html: str) -> Form:
    found = [f for f in forms(html) if "section" in f.options]
    assert len(found) == 1, "expected one best-available form"
    return found[0]


def seat_form(html: str) -> Form:
    """The selection panel's form (the script fills in its tier and seats)."""
    found = [f for f in forms(html) if "primary" in f.data and not f.options]
    assert len(found) == 1, "expected one seat-selection form"
    return found[0]


def offered_blocks(html: str) -> list[dict[str, Any]]:
    """The alternatives' one-click forms, as the fields each posts (`seat`: a list)."""
    blocks: list[dict[str, Any]] = []
    for form in re.findall(r'<ul class="alternatives".*?</ul>', html, re.S)[0].split("<li>")[1:]:
        fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
        seats = [v for k, v in fields if k == "seat"]
        blocks.append({**{k: v for k, v in fields if k != "seat"}, "seat": seats})
    return blocks


def book_seats(
    client: httpx.Client, concert: dict[str, Any], zone: str, codes: list[str], **extra: str
) -> httpx.Response:
    """Book named seats the way the map's Book button does: the zone's tier, a `seat` field
    per seat, the form's key and CSRF token."""
    form = seat_form(page(client, concert))
    data = form.filled(tier_id=str(concert["zones"][zone]), **extra)
    return client.post(form.action, data={**data, "seat": codes})


def booked_codes(db: str, concert: dict[str, Any]) -> set[str]:
    rows = fetch(
        db,
        "SELECT code FROM concert_seats WHERE concert_id = $1 AND booking_id IS NOT NULL",
        uuid.UUID(concert["id"]),
    )
    return {r["code"] for r in rows}


def outcome_panel(response: httpx.Response) -> str:
    match = re.search(r'data-outcome="([^"]+)"', response.text)
    assert match, "no result panel"
    return match.group(1)


# -- the concert page ---------------------------------------------------------------------


def test_the_page_shows_the_map_with_labelled_seats_the_legend_and_best_available(
    client: httpx.Client, hall: dict[str, Any]
) -> None:
    html = page(client, hall)
    svg = the_map(html)
    seats = seats_on(svg)
    assert len(seats) == HALL_SEATS
    assert svg.get("aria-label") == "Seat map of Harbour Hall"
    # Every seat a checkbox a screen reader names: section, row, seat, price, state.
    sections = "|".join(HALL_SECTIONS.values())
    label = re.compile(rf"Section ({sections}), row \w+, seat \d+, \$50\.00, available")
    for seat in seats:
        assert seat.get("role") == "checkbox" and seat.get("aria-checked") == "false"
        assert label.match(seat.get("aria-label", "")), seat.get("aria-label")
        assert seat.findtext(f"{SVG_NS}title") == seat.get("aria-label")
    assert 'aria-label="Section Stalls Centre, row A, seat 1, $50.00, available"' in html

    # The legend: each zone with its price, and the seat states.
    legend = text(re.search(r'<ul class="seat-legend".*?</ul>', html, re.S).group(0))  # type: ignore[union-attr]
    for words in ("Premium $50.00", "Standard $50.00", "Balcony $50.00", "Sold", "Selected"):
        assert words in legend

    # The seated tiers are listed like the GA tier, by their zones' names, with seats left.
    for zone, name in (("premium", "Premium"), ("standard", "Standard"), ("balcony", "Balcony")):
        card = re.search(
            rf'<li class="tier-card" id="tier-{hall["zones"][zone]}".*?</li>', html, re.S
        )
        assert card, zone
        assert f">{name}</h3>" in card.group(0)
        assert f"Choose {name} seats" in text(card.group(0))
        assert "seats left" in text(card.group(0))
    assert "General admission" in html  # the standing tier, as it was

    # Best available: a price zone, how many (1-10), a section; a plain POST form.
    best = best_form(html)
    assert best.method == "post" and best.action == f"/concerts/{hall['id']}/book"
    assert set(best.options["tier_id"]) == {str(t) for t in hall["zones"].values()}
    assert best.options["quantity"] == [str(n) for n in range(1, 11)]
    assert best.options["section"] == ["", *HALL_SECTIONS]
    assert best.fields["csrf_token"] and uuid.UUID(best.fields["idempotency_key"])
    for control in ("best-zone", "best-quantity", "best-section"):
        assert f'<label for="{control}">' in html
    # The map's script and its live states.
    assert f'data-states-url="/concerts/{hall["id"]}/seat-states"' in html
    assert f'data-seat-count="{HALL_SEATS}"' in html
    for asset in ("seatmap.css", "seatmap.js", "seatpicker.js"):
        assert f"/static/{asset}?v=" in html


def test_without_javascript_the_map_shows_states_and_best_available_books(
    client: httpx.Client, hall: dict[str, Any]
) -> None:
    html = page(client, hall)
    # The selection panel and the map's tools need the script: hidden until it runs, and
    # the fan is told so.
    assert re.search(r'<section class="seat-selection[^"]*"[^>]*hidden>', html)
    assert re.search(r'<div class="seat-map-tools[^"]*" hidden>', html)
    assert re.search(r'<div class="seat-modes[^"]*"[^>]*hidden>', html)
    assert "<noscript>" in html and "Picking seats on the map needs JavaScript" in html
    # Best available is a form that posts and answers a whole page.
    best = best_form(html)
    response = post_form(client, best, quantity="3")
    assert response.status_code == 200 and outcome_panel(response) == "confirmed"
    assert title(response.text).startswith("Booking confirmed")
    assert response.headers["content-type"].startswith("text/html")


def test_pages_of_concerts_without_seats_have_no_map(client: httpx.Client, shared_db: str) -> None:
    from tests.support.inventory import make_concert

    concert = make_concert(shared_db, {"GA": 5})
    html = page(client, concert)
    assert "seat-map" not in html and "seatpicker.js" not in html and 'id="seats"' not in html
    assert client.get(f"/concerts/{concert['id']}/seat-states").status_code == 404


# -- booking --------------------------------------------------------------------------------


def test_best_available_through_the_page_books_seats_together_and_lists_them(
    client: httpx.Client, shared_db: str, hall: dict[str, Any], hall_layout: Any
) -> None:
    best = best_form(page(client, hall))
    response = post_form(client, best, tier_id=str(hall["zones"]["standard"]), quantity="4")
    assert (response.status_code, outcome_panel(response)) == (200, "confirmed")
    booked = booked_codes(shared_db, hall)
    assert len(booked) == 4
    # Side by side: one row, consecutive positions.
    seats = [s for s in hall_layout.seats if s.code in booked]
    assert len({(s.section, s.row) for s in seats}) == 1
    positions = sorted(s.position for s in seats)
    assert positions == list(range(positions[0], positions[0] + 4))
    assert all(s.zone == "standard" for s in seats)
    # The result lists them by name: section, row, seat; not their codes.
    result = text(response.text)
    assert "4 × Standard · $200.00 paid." in result  # noqa: RUF001
    section, row = HALL_SECTIONS[seats[0].section], seats[0].row
    for seat in seats:
        assert f"{section}, row {seat.row}, seat {seat.label}" in result
    assert not any(code in result for code in booked)
    assert row in result


def test_best_available_in_a_section(
    client: httpx.Client, shared_db: str, hall: dict[str, Any]
) -> None:
    best = best_form(page(client, hall))
    response = post_form(
        client, best, tier_id=str(hall["zones"]["balcony"]), quantity="3", section="BAL"
    )
    assert outcome_panel(response) == "confirmed"
    assert {c.split(":")[0] for c in booked_codes(shared_db, hall)} == {"BAL"}
    assert text(response.text).count("Balcony, row A, seat") == 3


def test_a_section_without_seats_of_the_zone_or_unknown_is_refused(
    client: httpx.Client, shared_db: str, hall: dict[str, Any]
) -> None:
    best = best_form(page(client, hall))
    response = post_form(
        client, best, tier_id=str(hall["zones"]["premium"]), quantity="2", section="BAL"
    )
    assert response.status_code == 400
    assert "Balcony has no Premium seats" in text(response.text)
    response = post_form(client, best, tier_id=str(hall["zones"]["premium"]), section="NOPE")
    assert response.status_code == 400
    assert booked_codes(shared_db, hall) == set()


def test_booking_named_seats(client: httpx.Client, shared_db: str, hall: dict[str, Any]) -> None:
    response = book_seats(client, hall, "premium", ["SC:A:5", "SC:A:6"])
    assert (response.status_code, outcome_panel(response)) == (200, "confirmed")
    assert booked_codes(shared_db, hall) == {"SC:A:5", "SC:A:6"}
    result = text(response.text)
    assert "2 × Premium · $100.00 paid." in result  # noqa: RUF001
    assert "Stalls Centre, row A, seat 5" in result and "Stalls Centre, row A, seat 6" in result
    quantity = fetchval(
        shared_db, "SELECT quantity FROM bookings WHERE concert_id = $1", uuid.UUID(hall["id"])
    )
    assert quantity == 2
    # My bookings names them too.
    mine = text(client.get("/bookings").text)
    assert "Tier Premium Tickets 2 Seats Stalls Centre, row A, seats 5 and 6" in mine


def test_the_scripts_booking_answer_carries_the_same_panel(
    client: httpx.Client, hall: dict[str, Any]
) -> None:
    form = seat_form(page(client, hall))
    data = form.filled(tier_id=str(hall["zones"]["balcony"]), seat="BAL:C:10")
    answer = client.post(form.action, data=data, headers={"Accept": "application/json"})
    body = answer.json()
    assert (answer.status_code, body["ok"], body["outcome"]) == (200, True, "confirmed")
    assert "<li>Balcony, row C, seat 10</li>" in body["html"]
    assert body["tier"]["id"] == str(hall["zones"]["balcony"])
    assert body["tier"]["availableQuantity"] == body["tier"]["totalQuantity"] - 1


def test_a_taken_seat_is_named_and_alternatives_book_in_one_click(
    client: httpx.Client, shared_app: Any, shared_db: str, hall: dict[str, Any]
) -> None:
    assert outcome_panel(book_seats(client, hall, "premium", ["SC:B:7"])) == "confirmed"
    with shared_app.client() as other:
        response = book_seats(other, hall, "premium", ["SC:B:7", "SC:B:8"])
        assert (response.status_code, outcome_panel(response)) == (409, "seat-taken")
        assert title(response.text).startswith("Seats just taken")
        result = text(response.text)
        assert "Stalls Centre, row B, seat 7 was just booked by another fan." in result
        assert "Nothing was booked and you have not been charged." in result
        # Alternatives: the nearest blocks of two free premium seats, each a form of its own
        # with a fresh key.
        offers = offered_blocks(response.text)
        assert 1 <= len(offers) <= 3
        assert all(len(o["seat"]) == 2 and "SC:B:7" not in o["seat"] for o in offers)
        assert len({o["idempotency_key"] for o in offers}) == len(offers)
        assert re.search(r"Book Stalls Centre, row \w+, seats \d+ and \d+ · \$100\.00", result)
        booked = other.post(f"/concerts/{hall['id']}/book", data=offers[0])
        assert outcome_panel(booked) == "confirmed"
    assert set(offers[0]["seat"]) <= booked_codes(shared_db, hall)


def test_mixing_zones_in_one_booking_is_refused(
    client: httpx.Client, shared_db: str, hall: dict[str, Any]
) -> None:
    response = book_seats(client, hall, "premium", ["SC:A:1", "SC:K:1"])  # K is standard
    assert response.status_code == 400
    assert "Choose seats of one price zone per booking" in text(response.text)
    response = book_seats(client, hall, "premium", ["SC:A:1", "SC:A:1"])
    assert response.status_code == 400
    assert "The same seat is in this booking twice" in text(response.text)
    eleven = [f"SC:J:{n}" for n in range(1, 12)]
    response = book_seats(client, hall, "standard", eleven)
    assert response.status_code == 400
    assert "at most 10 seats" in text(response.text)
    assert booked_codes(shared_db, hall) == set()


# -- the seat states the map's script reads ----------------------------------------------------


def test_the_seat_states_route_serves_the_encoding_and_follows_bookings(
    client: httpx.Client, hall: dict[str, Any], hall_layout: Any
) -> None:
    url = f"/concerts/{hall['id']}/seat-states"
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/octet-stream"
    assert first.headers["cache-control"] == "no-cache"
    assert first.headers["x-seat-count"] == str(HALL_SEATS)
    assert len(first.content) == (HALL_SEATS + 3) // 4 == 518
    assert set(decode_states(first.content, HALL_SEATS)) == {SeatState.FREE}
    # Unchanged: 304 on its ETag.
    same = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert (same.status_code, same.content) == (304, b"")

    assert outcome_panel(book_seats(client, hall, "balcony", ["BAL:L:63", "BAL:L:64"])) == (
        "confirmed"
    )
    time.sleep(STATES_FRESH_S)  # each process reads a concert's states at most this often
    after = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]
    states = decode_states(after.content, HALL_SEATS)
    sold = {hall_layout.seats[i].code for i, s in enumerate(states) if s is SeatState.SOLD}
    assert sold == {"BAL:L:63", "BAL:L:64"}
    assert states.count(SeatState.FREE) == HALL_SEATS - 2
    # The page drawn now shows them sold too, out of the tab order.
    seat = next(
        s for s in seats_on(the_map(page(client, hall))) if s.get("data-code") == "BAL:L:64"
    )
    assert "state-sold" in seat.get("class", "") and seat.get("aria-disabled") == "true"
    assert seat.get("aria-label", "").endswith(", sold")
    assert client.get(f"/concerts/{uuid.uuid4()}/seat-states").status_code == 404
    assert client.get("/concerts/not-an-id/seat-states").status_code == 404


# -- big venues, escaping ------------------------------------------------------------------------


def test_a_big_venue_shows_its_sections_then_one_section(
    client: httpx.Client, shared_db: str, tmp_path: Path
) -> None:
    concert = seated_concert(shared_db, tmp_path, stadium(6_000))
    html = page(client, concert)
    overview = re.search(r'<svg [^>]*class="seat-map seat-map--overview".*?</svg>', html, re.S)
    assert overview, "no overview"
    links = re.findall(r'<a class="section-link" href="([^"]+)"', overview.group(0))
    assert len(links) == 48 and links[0] == "?section=101#seats"
    assert "<circle" not in overview.group(0)
    assert "Choose a section to see its seats." in html

    section = page(client, concert, "?section=101")
    svg = the_map(section)
    codes = {s.get("data-code", "") for s in seats_on(svg)}
    assert len(codes) == 125 and all(c.startswith("101:") for c in codes)
    assert svg.get("aria-label") == "Seat map of Harbour Stadium, section Section 101"
    assert f'<a href="/concerts/{concert["id"]}#seats">All sections</a>' in section
    # An unknown section shows the overview again.
    assert "seat-map--overview" in page(client, concert, "?section=nope")


def test_names_from_the_layout_are_escaped_everywhere(
    client: httpx.Client, shared_db: str, tmp_path: Path
) -> None:
    evil = '<script>alert("x")</script>'
    document = section_block_document(2, 4)
    document["name"] = f"Hall {evil}"
    document["sections"][0]["name"] = f"Stalls {evil}"
    document["zones"][0]["name"] = f"Zone {evil} & co"
    concert = seated_concert(shared_db, tmp_path, parse_layout(document))
    html = page(client, concert)
    assert "<script>alert" not in html
    assert f"Stalls {evil}" in html_text(html) and f"Zone {evil} & co" in html_text(html)
    svg = the_map(html)  # still well-formed, the names in it as they were
    assert svg.get("aria-label") == f"Seat map of Hall {evil}"
    response = book_seats(client, concert, "standard", ["S:A:1"])
    assert outcome_panel(response) == "confirmed"
    assert "<script>alert" not in response.text
    assert f"Stalls {evil}, row A, seat 1" in html_text(response.text)


def html_text(html: str) -> str:
    return unescape(text(html))
