"""Venue time through the app: the pages show a concert's date and time on the venue's clock
with its zone's abbreviation, the API carries the zone, and an organizer's concert stores the
zone it names (a zone that does not exist is refused)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from tests.support.accounts import new_concert_body, organizer
from tests.support.inventory import fetch, fetchval, make_concert
from tests.support.pages import booking_form, post_form, text, title

# 19:30 in New York on Wed 18 Dec 2030 (EST): already the 19th in UTC.
NY_WINTER = datetime(2030, 12, 19, 0, 30, tzinfo=UTC)
# 19:30 in Sydney on Wed 18 Dec 2030 (AEDT, UTC+11): still the morning in UTC.
SYDNEY_SUMMER = datetime(2030, 12, 18, 8, 30, tzinfo=UTC)


def _card(html: str, concert_id: str) -> str:
    match = re.search(
        rf'<li class="concert-card">(?:(?!</li>).)*?/concerts/{concert_id}".*?</li>', html, re.S
    )
    assert match, f"no card for {concert_id}"
    return match.group(0)


def test_the_concert_list_shows_each_concert_at_its_venues_time(
    client: httpx.Client, shared_db: str
) -> None:
    new_york = make_concert(shared_db, {"GA": 10}, timezone="America/New_York", starts_at=NY_WINTER)
    sydney = make_concert(
        shared_db, {"GA": 10}, timezone="Australia/Sydney", starts_at=SYDNEY_SUMMER
    )
    html = client.get("/concerts").text
    ny_card = _card(html, new_york["id"])
    assert "Wed 18 Dec 2030 · 19:30 EST" in text(ny_card)
    # The date block is the venue's day too (the 18th, not UTC's 19th).
    assert re.search(r'date-block__day">18<', ny_card)
    # The machine-readable instant is unchanged: the UTC moment.
    assert 'datetime="2030-12-19T00:30:00+00:00"' in ny_card
    sydney_card = _card(html, sydney["id"])
    assert "Wed 18 Dec 2030 · 19:30 AEDT" in text(sydney_card)
    assert 'datetime="2030-12-18T08:30:00+00:00"' in sydney_card


def test_the_concert_page_shows_the_venues_date_and_time(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 10}, timezone="America/New_York", starts_at=NY_WINTER)
    html = client.get(f"/concerts/{concert['id']}").text
    assert "Wednesday 18 December 2030 · 19:30 EST" in text(html)
    assert '<time datetime="2030-12-19T00:30:00+00:00">' in html


def test_the_api_carries_the_venues_zone(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(
        shared_db, {"GA": 10}, timezone="Australia/Sydney", starts_at=SYDNEY_SUMMER
    )
    one = client.get(f"/api/concerts/{concert['id']}").json()["data"]
    assert one["timezone"] == "Australia/Sydney"
    assert datetime.fromisoformat(one["date"]) == SYDNEY_SUMMER
    listed = client.get("/api/concerts").json()["data"]
    assert next(c for c in listed if c["id"] == concert["id"])["timezone"] == "Australia/Sydney"
    # A concert made without a zone is in UTC.
    plain = make_concert(shared_db, {"GA": 1})
    assert client.get(f"/api/concerts/{plain['id']}").json()["data"]["timezone"] == "UTC"


def test_the_booking_result_and_my_bookings_show_the_venues_time(
    client: httpx.Client, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 10}, timezone="America/New_York", starts_at=NY_WINTER)
    page = client.get(f"/concerts/{concert['id']}").text
    result = post_form(client, booking_form(page, concert["tiers"]["GA"]), quantity="1")
    assert result.status_code == 200 and title(result.text).startswith("Booking confirmed")
    assert "Wednesday 18 December 2030 · 19:30 EST" in text(result.text)

    listing = client.get("/bookings").text
    card = re.search(r'<li class="booking-card.*?</li>', listing, re.S)
    assert card
    shown = text(card.group(0))
    assert "When Wed 18 Dec 2030 · 19:30 EST" in shown
    # When it was booked, on the same (venue's) clock, labelled: EST or EDT by today's date.
    booked_at = fetchval(
        shared_db, "SELECT created_at FROM bookings WHERE concert_id = $1", uuid.UUID(concert["id"])
    )
    eastern = booked_at.astimezone(ZoneInfo("America/New_York"))
    assert f"Booked {eastern:%a} {eastern.day} {eastern:%b %Y}, {eastern:%H:%M} {eastern:%Z}" in (
        shown
    )


def test_an_organizers_concert_stores_the_zone_it_names(
    client: httpx.Client, shared_db: str
) -> None:
    _, headers = organizer(client, shared_db)
    created = client.post(
        "/api/concerts",
        json=new_concert_body(
            "Summer in the City", date="2030-07-11T19:30:00-04:00", timezone="America/New_York"
        ),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["timezone"] == "America/New_York"
    stored = fetch(
        shared_db, "SELECT timezone, starts_at FROM concerts WHERE id = $1", uuid.UUID(data["id"])
    )[0]
    assert stored["timezone"] == "America/New_York"
    assert stored["starts_at"] == datetime(2030, 7, 11, 23, 30, tzinfo=UTC)
    # July in New York: daylight time.
    assert "Thursday 11 July 2030 · 19:30 EDT" in text(client.get(f"/concerts/{data['id']}").text)

    # No zone named: UTC.
    plain = client.post("/api/concerts", json=new_concert_body("Plain"), headers=headers)
    assert plain.status_code == 201, plain.text
    assert plain.json()["data"]["timezone"] == "UTC"


def test_an_organizers_concert_in_a_zone_that_does_not_exist_is_refused(
    client: httpx.Client, shared_db: str
) -> None:
    _, headers = organizer(client, shared_db)
    before = fetchval(shared_db, "SELECT count(*) FROM concerts")
    for zone, words in (
        ("Mars/Olympus", "'Mars/Olympus' is not an IANA time zone name"),
        ("europe/london", "did you mean 'Europe/London'?"),
        ("Europe/London\x00", "is not an IANA time zone name"),
        ("", "timezone"),
        ("x" * 65, "timezone"),
        (42, "timezone"),
    ):
        refused = client.post(
            "/api/concerts", json=new_concert_body(timezone=zone), headers=headers
        )
        assert refused.status_code == 400, (zone, refused.text)
        body = refused.json()
        assert body["success"] is False and body["error"] == "VALIDATION_ERROR"
        assert words in body["message"], body["message"]
    assert fetchval(shared_db, "SELECT count(*) FROM concerts") == before
