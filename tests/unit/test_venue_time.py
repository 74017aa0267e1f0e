"""Venue time: pages show a concert's date and time on the venue's clock, with its zone's
abbreviation (DST-aware); the demo concerts start at 19:30 local; an organizer's zone must be
a real IANA name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ticketbook.catalog.demo import DEMO_CONCERTS, LOCAL_START, starts_at
from ticketbook.domain.schemas import NewConcert
from ticketbook.web import rendering, views

# 19:30 in New York on Wed 23 Dec 2026 (EST, UTC-5) is already the 24th in UTC.
NY_WINTER = datetime(2026, 12, 24, 0, 30, tzinfo=UTC)
# 19:30 in New York on Thu 15 Jul 2027 (EDT, UTC-4).
NY_SUMMER = datetime(2027, 7, 15, 23, 30, tzinfo=UTC)
# 19:30 in Sydney on Wed 23 Dec 2026 (AEDT, UTC+11) and on Thu 15 Jul 2027 (AEST, UTC+10).
SYDNEY_SUMMER = datetime(2026, 12, 23, 8, 30, tzinfo=UTC)
SYDNEY_WINTER = datetime(2027, 7, 15, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (NY_WINTER, "America/New_York", "Wed 23 Dec 2026 · 19:30 EST"),
        (NY_SUMMER, "America/New_York", "Thu 15 Jul 2027 · 19:30 EDT"),
        (SYDNEY_SUMMER, "Australia/Sydney", "Wed 23 Dec 2026 · 19:30 AEDT"),
        (SYDNEY_WINTER, "Australia/Sydney", "Thu 15 Jul 2027 · 19:30 AEST"),
        (NY_WINTER, "UTC", "Thu 24 Dec 2026 · 00:30 UTC"),
        (NY_SUMMER, "Europe/London", "Fri 16 Jul 2027 · 00:30 BST"),
    ],
    ids=["new-york-winter", "new-york-summer", "sydney-summer", "sydney-winter", "utc", "london"],
)
def test_a_moment_is_shown_on_the_venues_clock_with_its_abbreviation(
    moment: datetime, zone: str, shown: str
) -> None:
    assert views.venue_time(moment, zone) == shown


def test_the_long_form_names_the_day_and_month_in_full() -> None:
    assert (
        views.long_venue_time(NY_WINTER, "America/New_York")
        == "Wednesday 23 December 2026 · 19:30 EST"
    )
    assert views.long_date(SYDNEY_WINTER, "Australia/Sydney") == "Thursday 15 July 2027"
    assert views.short_date(NY_WINTER, "America/New_York") == "Wed 23 Dec 2026"
    assert views.time_of_day(NY_SUMMER, "America/New_York") == "19:30 EDT"


def test_the_same_instant_is_a_different_day_in_another_zone() -> None:
    assert views.local(NY_WINTER, "America/New_York").day == 23
    assert views.local(NY_WINTER, "UTC").day == 24
    assert views.local(NY_WINTER, "Australia/Sydney").day == 24


def test_a_zone_without_letters_shows_its_offset() -> None:
    # The zone database writes "-03" and "+0545" for these; a page says UTC-3, UTC+5:45.
    assert views.time_of_day(NY_WINTER, "America/Sao_Paulo") == "21:30 UTC-3"
    assert views.time_of_day(NY_WINTER, "Asia/Kathmandu") == "06:15 UTC+5:45"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", None, "../../etc/passwd", "America"])
def test_an_unknown_zone_shows_a_labelled_utc_time_rather_than_failing(zone: str | None) -> None:
    assert views.venue_time(NY_WINTER, zone) == "Thu 24 Dec 2026 · 00:30 UTC"


def test_a_naive_moment_is_taken_as_utc() -> None:
    naive = datetime(2026, 12, 24, 0, 30)
    assert views.venue_time(naive, "America/New_York") == "Wed 23 Dec 2026 · 19:30 EST"


def test_the_date_block_shows_the_venues_day() -> None:
    macro = rendering.ENV.get_template("_macros.html").module.date_block  # type: ignore[attr-defined]
    html = str(macro(NY_WINTER, "America/New_York"))
    assert ">Dec<" in html and ">23<" in html
    assert ">24<" in str(macro(NY_WINTER, "UTC"))


EXPECTED_DEMO_ZONES = {
    "Madison Square Garden, New York": "America/New_York",
    "The O2 Arena, London": "Europe/London",
    "Blue Note Hall, Chicago": "America/Chicago",
    "Red Rocks Amphitheatre, Colorado": "America/Denver",
    "Sydney Opera House": "Australia/Sydney",
    "Harbour Hall, Boston": "America/New_York",
}


def test_each_demo_venue_has_its_real_zone() -> None:
    assert {c.venue: c.timezone for c in DEMO_CONCERTS} == EXPECTED_DEMO_ZONES


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 1, 10, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, 23, 0, tzinfo=UTC)],
    ids=["winter", "across-dst"],
)
def test_demo_concerts_start_at_half_past_seven_on_the_venues_clock(now: datetime) -> None:
    for concert in DEMO_CONCERTS:
        start = starts_at(concert, now)
        at_venue = views.local(start, concert.timezone)
        assert at_venue.time() == LOCAL_START, concert.venue
        # days_ahead days after today at the venue (in Sydney, 23:00 UTC is tomorrow).
        today = views.local(now, concert.timezone).date()
        assert (at_venue.date() - today).days == concert.days_ahead


def _new_concert(**overrides: object) -> NewConcert:
    body: dict[str, object] = {
        "name": "N",
        "artist": "A",
        "venue": "V",
        "date": "2031-06-01T20:00:00Z",
        "ticketTiers": [{"tierType": "GA", "priceCents": 100, "totalQuantity": 1}],
        **overrides,
    }
    return NewConcert.model_validate(body)


def test_a_new_concert_is_in_utc_unless_it_names_a_zone() -> None:
    assert _new_concert().timezone == "UTC"
    assert _new_concert(timezone="Australia/Sydney").timezone == "Australia/Sydney"


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("Mars/Olympus", "'Mars/Olympus' is not an IANA time zone name; e.g. 'America/New_York'"),
        ("america/new_york", "did you mean 'America/New_York'?"),
        ("EST-5", "is not an IANA time zone name"),
        ("../../etc/passwd", "is not an IANA time zone name"),
    ],
)
def test_a_new_concert_with_a_zone_that_does_not_exist_is_refused(zone: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _new_concert(timezone=zone)
    assert message in str(refused.value)


@pytest.mark.parametrize("zone", ["", "x" * 65, 5, None])
def test_a_new_concerts_zone_must_be_text_of_1_to_64_characters(zone: object) -> None:
    with pytest.raises(ValidationError):
        _new_concert(timezone=zone)
