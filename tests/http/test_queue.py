"""The waiting room's JSON API through the app, production limits on: an organizer sets a
protected on-sale (403 for someone else's concert, 400 for bad input), guests and accounts
join (one place each), poll their status in the documented shape, read the draw's public
record before and after the draw, and book with their admission token; forged, expired,
another concert's and borrowed tokens, no token, and booking before the on-sale are 403
QUEUE_REQUIRED and book nothing; an unprotected concert books as before without a token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.accounts import new_concert_body, organizer, register
from tests.support.api import book, new_guest
from tests.support.inprocess import InProcessApp, InProcessClient
from tests.support.inventory import execute, fetchval, make_concert
from ticketbook.queue import draw as drawing
from ticketbook.queue import tokens

STATUS_KEYS = {
    "concertId",
    "state",
    "opensAt",
    "seedHash",
    "seed",
    "drawnAt",
    "joinId",
    "position",
    "ahead",
    "admittedThrough",
    "ratePerMinute",
    "estimatedWaitS",
    "admissionToken",
    "admissionExpiresAt",
}


@dataclass
class OnSaleConcert:
    concert_id: str
    tier_id: str
    organizer: dict[str, str]


def _later(hours: float = 1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def organizer_headers(shared_app: InProcessApp, shared_db: str) -> dict[str, str]:
    with shared_app.client() as client:
        return organizer(client, shared_db)[1]


def _protected(client: httpx.Client, headers: dict[str, str], rate: int = 60) -> OnSaleConcert:
    created = client.post("/api/concerts", json=new_concert_body(), headers=headers)
    assert created.status_code == 201, created.text
    concert = created.json()["data"]
    tier = next(t["id"] for t in concert["ticketTiers"] if t["tierType"] == "GA")
    body = {"opensAt": _later(), "protected": True, "ratePerMinute": rate}
    answer = client.put(
        f"/api/organizer/concerts/{concert['id']}/onsale", json=body, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return OnSaleConcert(concert["id"], tier, headers)


def _open(app: InProcessApp, db: str, concert_id: str, *, admitted_for_s: float = 0) -> None:
    """The on-sale time passes; with ``admitted_for_s``, the frontier has run that long."""
    execute(db, "UPDATE onsales SET opens_at = now() WHERE concert_id = $1::uuid", concert_id)
    app.services.queue.forget_cached()
    if admitted_for_s:
        drawn = app.client().get(f"/api/concerts/{concert_id}/queue/draw")
        assert drawn.json()["data"]["drawn"], drawn.text
        execute(
            db,
            "UPDATE onsales SET rate_base_at = now() - make_interval(secs => $2) "
            "WHERE concert_id = $1::uuid",
            concert_id,
            admitted_for_s,
        )
        app.services.queue.forget_cached()


def _status(client: httpx.Client, concert_id: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.get(f"/api/concerts/{concert_id}/queue", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    data: dict[str, Any] = answer.json()["data"]
    assert set(data) == STATUS_KEYS
    return data


def _booked(db: str, concert_id: str) -> int:
    count: int = fetchval(
        db, "SELECT count(*) FROM bookings WHERE concert_id = $1::uuid", concert_id
    )
    return count


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "QUEUE_REQUIRED", response.text


def test_from_joining_before_the_on_sale_to_a_booking_with_the_admission(
    client: InProcessClient, shared_app: InProcessApp, shared_db: str, organizer_headers: dict
) -> None:
    sale = _protected(client, organizer_headers)
    cid = sale.concert_id
    public = client.get(f"/api/concerts/{cid}/queue/draw").json()["data"]
    assert public["drawn"] is False and public["seed"] is None and public["order"] == []
    fans = [new_guest(client) for _ in range(3)]
    account_id, account = register(client)
    fans.append(account)
    joined = []
    for headers in fans:
        answer = client.post(f"/api/concerts/{cid}/queue", headers=headers)
        assert answer.status_code == 200, answer.text
        place = answer.json()["data"]
        assert set(place) == {"concertId", "joinId", "joinedAt", "early", "position"}
        assert place["early"] is True and place["position"] is None
        assert drawing.is_join_id(place["joinId"])
        joined.append(place["joinId"])
    # Joining again is the same place.
    again = client.post(f"/api/concerts/{cid}/queue", headers=account).json()["data"]
    assert again["joinId"] == joined[-1]
    status = _status(client, cid, account)
    assert status["state"] == "waiting_for_draw" and status["seed"] is None
    assert status["seedHash"] == public["seedHash"] and status["joinId"] == joined[-1]
    # Before the on-sale even a fan in the queue can't book.
    _refused(book(client, account, sale.tier_id))

    _open(shared_app, shared_db, cid)
    record = client.get(f"/api/concerts/{cid}/queue/draw").json()["data"]
    assert record["drawn"] is True and sorted(joined) == record["joinIds"]
    assert drawing.order(bytes.fromhex(record["seed"]), record["joinIds"]) == record["order"]
    assert account_id not in str(record)
    status = _status(client, cid, account)
    assert status["position"] == record["order"].index(joined[-1]) + 1
    # 60 a minute from the draw: at most the first one or two are in yet.
    assert status["admittedThrough"] <= 2 and status["state"] in ("waiting", "admitted")

    _open(shared_app, shared_db, cid, admitted_for_s=10)  # 60/min for 10 s: all four in
    status = _status(client, cid, account)
    assert status["state"] == "admitted" and status["admissionToken"]
    assert status["seed"] == record["seed"] and status["ahead"] == 0
    token = status["admissionToken"]
    # Booking with no token, and with someone else's, is refused; with one's own it books.
    _refused(book(client, account, sale.tier_id))
    _refused(book(client, {**fans[0], "X-Queue-Admission": token}, sale.tier_id))
    assert _booked(shared_db, cid) == 0
    mine = book(client, {**account, "X-Queue-Admission": token}, sale.tier_id, 2)
    assert mine.status_code == 200, mine.text
    # Within the window the fan may buy again (the per-fan cap still applies).
    more = book(client, {**account, "X-Queue-Admission": token}, sale.tier_id, 1)
    assert more.status_code == 200, more.text


def test_forged_expired_and_another_concerts_tokens_are_refused(
    client: InProcessClient, shared_app: InProcessApp, shared_db: str, organizer_headers: dict
) -> None:
    sale = _protected(client, organizer_headers)
    other = _protected(client, organizer_headers)
    fan = new_guest(client)
    for concert in (sale, other):
        assert client.post(f"/api/concerts/{concert.concert_id}/queue", headers=fan).is_success
        _open(shared_app, shared_db, concert.concert_id, admitted_for_s=60)
    own = _status(client, sale.concert_id, fan)["admissionToken"]
    elsewhere = _status(client, other.concert_id, fan)["admissionToken"]
    assert own and elsewhere
    user_id = uuid.UUID(client.get("/api/auth/me", headers=fan).json()["userId"])
    signer = shared_app.services.signer
    expired = tokens.issue(
        signer, uuid.UUID(sale.concert_id), user_id, datetime.now(UTC) - timedelta(seconds=1)
    )
    forged = tokens.issue(
        type(signer)("not the server's key"),
        uuid.UUID(sale.concert_id),
        user_id,
        datetime.now(UTC) + timedelta(hours=1),
    )
    stretched = (
        own.rsplit(".", 2)[0]
        + f".{int(datetime.now(UTC).timestamp()) + 86400}."
        + (own.rsplit(".", 1)[1])
    )
    for bad in (elsewhere, expired, forged, stretched, "qa1.garbage", "x" * 500):
        _refused(book(client, {**fan, "X-Queue-Admission": bad}, sale.tier_id))
    assert _booked(shared_db, sale.concert_id) == 0
    assert book(client, {**fan, "X-Queue-Admission": own}, sale.tier_id).status_code == 200


def test_an_unprotected_concert_books_without_a_token(
    client: InProcessClient, shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    answer = book(client, new_guest(client), concert["tiers"]["GA"])
    assert answer.status_code == 200, answer.text
    status = _status(client, concert["id"], new_guest(client))
    assert status["state"] == "not_protected"
    joined = client.post(f"/api/concerts/{concert['id']}/queue", headers=new_guest(client))
    assert joined.status_code == 404, joined.text


def test_only_the_organizer_sets_the_on_sale_and_bad_input_is_a_400(
    client: InProcessClient, shared_db: str, organizer_headers: dict
) -> None:
    sale = _protected(client, organizer_headers)
    path = f"/api/organizer/concerts/{sale.concert_id}/onsale"
    body = {"opensAt": _later(), "protected": True, "ratePerMinute": 10}
    _, fan = register(client)
    assert client.put(path, json=body, headers=fan).status_code == 403
    _, someone = organizer(client, shared_db)
    refused = client.put(path, json=body, headers=someone)
    assert refused.status_code == 403 and refused.json()["error"] == "FORBIDDEN"
    for bad in (
        {**body, "ratePerMinute": 0},
        {**body, "opensAt": "2031-06-01T10:00:00"},  # no offset
        {**body, "admissionWindowS": 5},
        {**body, "surprise": 1},
        {"protected": True},
    ):
        answer = client.put(path, json=bad, headers=organizer_headers)
        assert answer.status_code == 400, (bad, answer.text)
    missing = client.put(
        f"/api/organizer/concerts/{uuid.uuid4()}/onsale", json=body, headers=organizer_headers
    )
    assert missing.status_code == 404
    set_ = client.put(path, json={**body, "admissionWindowS": 300}, headers=organizer_headers)
    data = set_.json()["data"]
    assert set(data) == {
        "concertId",
        "opensAt",
        "protected",
        "ratePerMinute",
        "admissionWindowS",
        "seedHash",
        "drawnAt",
        "earlyCount",
        "queued",
    }
    assert data["admissionWindowS"] == 300 and len(data["seedHash"]) == 64
    assert client.get(f"/api/concerts/{uuid.uuid4()}/queue/draw").status_code == 404


def test_the_drawn_record_is_cacheable_with_an_etag(
    shared_app: InProcessApp, shared_db: str, organizer_headers: dict[str, str]
) -> None:
    with shared_app.client() as client:
        sale = _protected(client, organizer_headers)
        before = client.get(f"/api/concerts/{sale.concert_id}/queue/draw")
        assert before.status_code == 200 and before.headers["cache-control"] == "no-cache"
        _open(shared_app, shared_db, sale.concert_id, admitted_for_s=1)
        drawn = client.get(f"/api/concerts/{sale.concert_id}/queue/draw")
        assert drawn.status_code == 200 and drawn.json()["data"]["drawn"]
        assert drawn.headers["cache-control"] == "public, max-age=300"
        etag = drawn.headers["etag"]
        again = client.get(
            f"/api/concerts/{sale.concert_id}/queue/draw", headers={"If-None-Match": etag}
        )
        assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
