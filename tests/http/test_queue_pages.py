"""The waiting room's pages in-process on a real PostgreSQL, the way a browser without
JavaScript uses them: a protected concert's page and booking send the visitor to its waiting
room; joining is a CSRF-checked form; the room shows the place, the draw's fingerprint, the
join id; once admitted, the admission cookie opens the shop; forged and borrowed cookies book
nothing; an unprotected concert is untouched."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.support.inprocess import InProcessApp
from tests.support.inventory import execute, fetch, fetchval, make_concert
from tests.support.pages import booking_form, forms, post_form, text, title
from ticketbook.live.hub import AvailabilityHub
from ticketbook.web import queue_pages
from ticketbook.web.queue_pages import ADMISSION_COOKIE, MAX_STREAMS_PER_IDENTITY, human_wait


def session_user(client: httpx.Client) -> uuid.UUID:
    token = client.cookies.get("tb_session")
    assert token, "no session cookie"
    return uuid.UUID(hex=token.partition(".")[0])


def protect(
    app: InProcessApp, concert_id: str, *, opens_in_s: float = 3600, rate_per_minute: int = 60
) -> dict[str, Any]:
    """Give the concert a protected on-sale through the service, as the organizer's API does."""
    onsale = app.run(
        functools.partial(
            app.services.queue.set_onsale,
            uuid.UUID(concert_id),
            opens_at=datetime.now(UTC) + timedelta(seconds=opens_in_s),
            protected=True,
            rate_per_minute=rate_per_minute,
            by=None,
        )
    )
    return {"seed_hash": onsale.seed_hash}


def open_now(app: InProcessApp, db: str, concert_id: str) -> None:
    """The on-sale time passes (the same seed: only the time moves)."""
    execute(
        db,
        "UPDATE onsales SET opens_at = now() - interval '1 second' WHERE concert_id = $1::uuid",
        concert_id,
    )
    app.services.queue.forget_cached()


def join_form(html: str) -> Any:
    [form] = [f for f in forms(html) if f.action.endswith("/queue")]
    return form


def joined(client: httpx.Client, concert_id: str) -> tuple[httpx.Response, str]:
    """Open the concert page, follow it to the room, press Join: (the room after it, the
    session's CSRF token)."""
    to_room = client.get(f"/concerts/{concert_id}")
    assert to_room.status_code == 303, to_room.text
    room = client.get(to_room.headers["location"])
    form = join_form(room.text)
    answer = post_form(client, form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/concerts/{concert_id}/queue"
    return client.get(answer.headers["location"]), form.fields["csrf_token"]


def entries(db: str, concert_id: str) -> int:
    count: int = fetchval(
        db, "SELECT count(*) FROM queue_entries WHERE concert_id = $1::uuid", concert_id
    )
    return count


def bookings(db: str, tier_id: str) -> int:
    count: int = fetchval(db, "SELECT count(*) FROM bookings WHERE tier_id = $1::uuid", tier_id)
    return count


def first_event(client: httpx.Client, path: str) -> dict[str, Any]:
    with client.stream("GET", path) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        buffer = ""
        for chunk in stream.iter_text():
            buffer += chunk
            if "event: status" in buffer and buffer.endswith("\n\n"):
                break
    data = next(line for line in buffer.splitlines() if line.startswith("data: "))
    event: dict[str, Any] = orjson.loads(data[6:])
    return event


def test_a_protected_concert_sends_visitors_to_its_waiting_room(
    shared_app: InProcessApp, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 20}, timezone="America/New_York")
    onsale = protect(shared_app, concert["id"])
    with shared_app.client() as client:
        page = client.get(f"/concerts/{concert['id']}")
        assert page.status_code == 303
        assert page.headers["location"] == f"/concerts/{concert['id']}/queue"
        # A first visit: the guest session starts on the redirect.
        assert client.cookies.get("tb_session")
        room = client.get(page.headers["location"])
        assert room.status_code == 200
        assert title(room.text).startswith("Waiting room")
        shown = text(room.text)
        assert "Join the queue" in shown
        assert onsale["seed_hash"] in room.text
        assert "fingerprint" in shown
        # The on-sale time on the venue's clock (New York: EST or EDT).
        assert "Tickets go on sale" in shown and ("EST" in shown or "EDT" in shown)
        assert f"/api/concerts/{concert['id']}/queue/draw" in room.text
        assert "How to check the draw" in shown
        # Not joined: nothing to refresh for.
        assert 'http-equiv="refresh"' not in room.text


def test_joining_needs_the_sessions_csrf_token(shared_app: InProcessApp, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    protect(shared_app, concert["id"])
    path = f"/concerts/{concert['id']}/queue"
    with shared_app.client() as fan, shared_app.client() as other:
        fan.get(path)
        other_token = join_form(other.get(path).text).fields["csrf_token"]
        for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}, {"csrf_token": other_token}):
            assert fan.post(path, data=data).status_code == 403
        with shared_app.client() as anonymous:
            assert anonymous.post(path, data={"csrf_token": other_token}).status_code == 403
        assert entries(shared_db, concert["id"]) == 0
        form = join_form(fan.get(path).text)
        assert post_form(fan, form).status_code == 303
        assert post_form(fan, form).status_code == 303  # joining twice keeps one place
        assert entries(shared_db, concert["id"]) == 1


def test_the_room_shows_the_place_and_books_nothing_before_admission(
    shared_app: InProcessApp, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    onsale = protect(shared_app, concert["id"])
    with shared_app.client() as fan:
        room, token = joined(fan, concert["id"])
        shown = text(room.text)
        assert "You're in the queue" in shown
        assert 'role="status"' in room.text and 'aria-live="polite"' in room.text
        [join_id] = fetch(
            shared_db,
            "SELECT join_id FROM queue_entries WHERE user_id = $1",
            session_user(fan),
        )
        assert join_id["join_id"] in room.text
        assert onsale["seed_hash"] in room.text
        # Live with JavaScript, and a reload every 10 s without.
        assert f'data-events-url="/concerts/{concert["id"]}/queue/events"' in room.text
        assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in room.text
        assert "The draw in" in shown and "about 1 hour" in shown
        # Still the room, not the shop; and a booking form posted anyway books nothing.
        assert fan.get(f"/concerts/{concert['id']}").status_code == 303
        data = {
            "csrf_token": token,
            "tier_id": concert["tiers"]["GA"],
            "quantity": "1",
            "idempotency_key": str(uuid.uuid4()),
        }
        refused = fan.post(f"/concerts/{concert['id']}/book", data=data)
        assert refused.status_code == 303
        assert refused.headers["location"] == f"/concerts/{concert['id']}/queue"
        # The page's script gets a 403 whose result links to the room.
        scripted = fan.post(
            f"/concerts/{concert['id']}/book", data=data, headers={"Accept": "application/json"}
        )
        assert scripted.status_code == 403
        body = scripted.json()
        assert body["outcome"] == "queue-required"
        assert f'href="/concerts/{concert["id"]}/queue"' in body["html"]
        assert bookings(shared_db, concert["tiers"]["GA"]) == 0
        event = first_event(fan, f"/concerts/{concert['id']}/queue/events")
        assert event["state"] == "waiting_for_draw"
        assert event["joinId"] == join_id["join_id"] and event["seedHash"] == onsale["seed_hash"]


def test_admitted_the_cookie_opens_the_shop_and_the_booking_confirms(
    shared_app: InProcessApp, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    onsale = protect(shared_app, concert["id"], rate_per_minute=100_000)
    with shared_app.client() as fan:
        joined(fan, concert["id"])
        open_now(shared_app, shared_db, concert["id"])
        room = fan.get(f"/concerts/{concert['id']}/queue")
        assert room.status_code == 200
        shown = text(room.text)
        assert "It's your turn" in shown and "Go to the shop" in shown
        assert "Your turn lasts" in shown and "not given back" in shown
        # The seed is out, and it is the one the fingerprint was of.
        [seed] = fetch(
            shared_db, "SELECT seed FROM onsales WHERE concert_id = $1::uuid", concert["id"]
        )
        assert bytes(seed["seed"]).hex() in room.text
        assert hashlib.sha256(bytes(seed["seed"])).hexdigest() == onsale["seed_hash"]
        cookie = next(
            c for c in room.headers.get_list("set-cookie") if c.startswith(f"{ADMISSION_COOKIE}=")
        )
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in attributes and "samesite=lax" in attributes
        assert f"path=/concerts/{concert['id']}" in attributes
        assert "secure" not in attributes  # plain HTTP
        max_age = next(int(a.partition("=")[2]) for a in attributes if a.startswith("max-age="))
        assert 590 <= max_age <= 600
        assert 'http-equiv="refresh"' not in room.text  # nothing to wait for
        shop = fan.get(f"/concerts/{concert['id']}")
        assert shop.status_code == 200
        booked = post_form(fan, booking_form(shop.text, concert["tiers"]["GA"]), quantity="2")
        assert booked.status_code == 200, booked.text
        assert "Booking confirmed" in text(booked.text)
        assert bookings(shared_db, concert["tiers"]["GA"]) == 1
        # The stream says so, and ends (the page moves to the shop).
        event = first_event(fan, f"/concerts/{concert['id']}/queue/events")
        assert event["state"] == "admitted" and event["admitted"] is True
        assert event["shopUrl"] == f"/concerts/{concert['id']}"


def test_the_admission_cookie_is_secure_over_https(
    shared_app: InProcessApp, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    protect(shared_app, concert["id"], rate_per_minute=100_000)
    with shared_app.client() as fan:
        joined(fan, concert["id"])
        open_now(shared_app, shared_db, concert["id"])
        room = fan.get(f"/concerts/{concert['id']}/queue", headers={"X-Forwarded-Proto": "https"})
        cookie = next(
            c for c in room.headers.get_list("set-cookie") if c.startswith(f"{ADMISSION_COOKIE}=")
        )
        assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_forged_and_borrowed_admission_cookies_book_nothing(
    shared_app: InProcessApp, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    protect(shared_app, concert["id"], rate_per_minute=100_000)
    path = f"/concerts/{concert['id']}"
    with shared_app.client() as admitted, shared_app.client() as other:
        joined(admitted, concert["id"])
        open_now(shared_app, shared_db, concert["id"])
        admitted.get(f"{path}/queue")
        genuine = admitted.cookies.get(ADMISSION_COOKIE)
        assert genuine
        # Another visitor, never queued: a booking form from their own session.
        token = join_form(other.get(f"{path}/queue").text).fields["csrf_token"]
        payload, _, mac = genuine.rpartition(".")
        # The visitor's own payload (this concert, their own identity, expiring in the
        # future): only the MAC can refuse it.
        own = (
            f"qa1.{uuid.UUID(concert['id']).hex}.{session_user(other).hex}.{int(time.time()) + 600}"
        )
        forged = [
            genuine,  # someone else's
            f"{payload}.{'A' * len(mac)}",  # a made-up signature on someone else's payload
            f"{own}.{'A' * len(mac)}",  # a made-up signature on their own payload
            f"{own}.{mac}",  # a genuine signature, of another payload
            genuine.replace(str(session_user(admitted).hex), str(session_user(other).hex)),
            "garbage",
        ]
        for cookie in forged:
            other.cookies.set(ADMISSION_COOKIE, cookie, path=path)
            refused = other.post(
                f"{path}/book",
                data={
                    "csrf_token": token,
                    "tier_id": concert["tiers"]["GA"],
                    "quantity": "1",
                    "idempotency_key": str(uuid.uuid4()),
                },
            )
            assert refused.status_code == 303, cookie
            assert refused.headers["location"] == f"{path}/queue"
        assert bookings(shared_db, concert["tiers"]["GA"]) == 0


def test_an_unprotected_concert_is_untouched(shared_app: InProcessApp, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    with shared_app.client() as fan:
        shop = fan.get(f"/concerts/{concert['id']}")
        assert shop.status_code == 200
        assert ADMISSION_COOKIE not in shop.headers.get("set-cookie", "")
        booked = post_form(fan, booking_form(shop.text, concert["tiers"]["GA"]))
        assert booked.status_code == 200 and "Booking confirmed" in text(booked.text)
        room = fan.get(f"/concerts/{concert['id']}/queue")
        assert room.status_code == 200
        assert "No waiting room for this concert" in text(room.text)
        assert first_event(fan, f"/concerts/{concert['id']}/queue/events")["state"] == (
            "not_protected"
        )


def test_joining_an_unprotected_on_sale_spends_no_guest(
    shared_app: InProcessApp, shared_db: str
) -> None:
    bare = make_concert(shared_db, {"GA": 20})  # no on-sale at all
    unprotected = make_concert(shared_db, {"GA": 20})
    shared_app.run(
        functools.partial(
            shared_app.services.queue.set_onsale,
            uuid.UUID(unprotected["id"]),
            opens_at=datetime.now(UTC) + timedelta(hours=1),
            protected=False,
            rate_per_minute=60,
            by=None,
        )
    )
    with shared_app.client() as guest:
        shop = guest.get(f"/concerts/{bare['id']}")
        token = booking_form(shop.text, bare["tiers"]["GA"]).fields["csrf_token"]
        for concert, code in ((bare, 404), (unprotected, 409)):
            answer = guest.post(f"/concerts/{concert['id']}/queue", data={"csrf_token": token})
            assert answer.status_code == code, answer.text
            assert entries(shared_db, concert["id"]) == 0
        # No guest row was made: the guest limit is untouched.
        users = fetchval(shared_db, "SELECT count(*) FROM users WHERE id = $1", session_user(guest))
        assert users == 0


def test_an_identity_holds_a_bounded_number_of_streams(
    shared_app: InProcessApp, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    protect(shared_app, concert["id"])
    path = f"/concerts/{concert['id']}/queue/events"
    with shared_app.client() as fan:
        joined(fan, concert["id"])
        user = session_user(fan)
        queue_pages.open_streams[user] = MAX_STREAMS_PER_IDENTITY  # as if that many were open
        try:
            refused = fan.get(path)
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "10"
            queue_pages.open_streams[user] = MAX_STREAMS_PER_IDENTITY - 1
            assert first_event(fan, path)["state"] == "waiting_for_draw"
        finally:
            queue_pages.open_streams.pop(user, None)
        # A stream counts while it is open, and no longer once it ended.
        assert user not in queue_pages.open_streams


def test_a_waiting_stream_sleeps_through_ticket_counts_and_ends_at_shutdown(
    shared_app: InProcessApp, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 20})
    protect(shared_app, concert["id"])
    with shared_app.client() as fan:
        joined(fan, concert["id"])
        user = session_user(fan)

    async def scenario() -> tuple[int, int, float]:
        from ticketbook.catalog import service as catalog

        hub = AvailabilityHub("postgresql://unused", publish=False)  # never started
        services = shared_app.services
        shown = await catalog.get_concert(services.catalog_db, uuid.UUID(concert["id"]))
        assert shown is not None
        calls = 0
        queue = services.queue

        class Counting:
            async def status(self, concert_id: uuid.UUID, user_id: uuid.UUID) -> Any:
                nonlocal calls
                calls += 1
                return await queue.status(concert_id, user_id)

        stub = type("S", (), {"live": hub, "queue": Counting()})()
        stream = queue_pages.status_stream(stub, shown, user, interval_s=0.5)
        assert (await anext(stream)).startswith(b"retry:")
        assert b"waiting_for_draw" in await anext(stream)
        during = queue_pages.open_streams.get(user, 0)
        pending = asyncio.ensure_future(anext(stream))
        # Ticket counts changing wake nothing: the stream holds no subscription.
        assert hub.subscriber_count == 0
        for _ in range(20):
            hub._deliver({(concert["id"], concert["tiers"]["GA"]): 5})
            await asyncio.sleep(0.01)
        assert calls == 1 and not pending.done()
        started = time.monotonic()
        hub.close_streams()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(pending, 1.0)
        return during, calls, time.monotonic() - started

    during, calls, took = shared_app.run(scenario)
    assert during == 1 and calls == 1 and took < 0.3
    assert user not in queue_pages.open_streams


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, None),
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "about 1 minute"),
        (61, "about 2 minutes"),
        (180, "about 3 minutes"),
        (3600, "about 1 hour"),
        (4800, "about 1 hour 20 minutes"),
    ],
)
def test_waits_read_like_a_person_would_say_them(seconds: int | None, shown: str | None) -> None:
    assert human_wait(seconds) == shown
