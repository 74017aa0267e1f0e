"""The door's JSON API through the app: scans with every outcome a 200 in the documented
shape, door staff granted and taken back by the concert's organizer, 401/403/404 in the
error envelope for everyone else, bad input a 4xx that changes nothing, the offline bundle
and a two-device sync with its conflict.

Fans book through the API; their tickets' codes are signed with the running app's keys (the
ticket pages that show them are another test's).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.accounts import register
from tests.support.api import book
from tests.support.inprocess import InProcessApp, InProcessClient
from tests.support.inventory import execute, fetch, fetchval, make_concert
from ticketbook.domain.schemas import MAX_SYNC_SCANS

SCAN_KEYS = {"scanId", "outcome", "message", "ticket", "firstAdmitted", "gateCount"}


@dataclass
class Venue:
    concert_id: str
    tier_id: str
    organizer_id: str
    organizer: dict[str, str]
    staff_id: str
    staff_email: str
    staff: dict[str, str]


def _account(client: httpx.Client) -> tuple[str, str, dict[str, str]]:
    email = f"door-{uuid.uuid4().hex[:8]}@example.com"
    user_id, headers = register(client, email)
    return user_id, email, headers


def _organizer(client: httpx.Client, db: str) -> tuple[str, dict[str, str]]:
    # The role is read with the session on every request: no new sign-in needed.
    user_id, _, headers = _account(client)
    execute(db, "UPDATE users SET role = 'organizer' WHERE id = $1::uuid", user_id)
    return user_id, headers


@pytest.fixture
def venue(client: InProcessClient, shared_db: str) -> Venue:
    """A concert of its own organizer's, with one account granted door staff over the API."""
    concert = make_concert(shared_db, {"GA": 50, "VIP": 5}, timezone="Europe/Paris")
    organizer_id, organizer = _organizer(client, shared_db)
    execute(
        shared_db,
        "UPDATE concerts SET organizer_id = $1::uuid WHERE id = $2::uuid",
        organizer_id,
        concert["id"],
    )
    staff_id, staff_email, staff = _account(client)
    granted = client.post(
        f"/api/organizer/concerts/{concert['id']}/staff",
        json={"email": staff_email},
        headers=organizer,
    )
    assert granted.status_code == 201, granted.text
    return Venue(
        concert["id"],
        concert["tiers"]["GA"],
        organizer_id,
        organizer,
        staff_id,
        staff_email,
        staff,
    )


def codes_of(app: InProcessApp, db: str, booking_id: str) -> list[tuple[str, str]]:
    """(ticket id, code) of a booking's live tickets, signed as the ticket pages sign them."""
    rows = fetch(
        db,
        "SELECT t.id, t.concert_id, t.tier_id, t.seat, c.ticket_key_version FROM tickets t"
        " JOIN concerts c ON c.id = t.concert_id"
        " WHERE t.booking_id = $1::uuid AND t.revoked_at IS NULL ORDER BY t.admission",
        booking_id,
    )
    keys = app.services.ticket_keys
    return [
        (
            str(r["id"]),
            keys.code(
                concert_id=r["concert_id"],
                key_version=r["ticket_key_version"],
                ticket_id=r["id"],
                tier_id=r["tier_id"],
                seat=r["seat"],
            ),
        )
        for r in rows
    ]


def booked(client: InProcessClient, venue: Venue, quantity: int = 1) -> tuple[str, list[Any]]:
    """A fan's confirmed booking: (booking id, [(ticket id, code)])."""
    booking_id, _, tickets = booked_by(client, venue, quantity)
    return booking_id, tickets


def booked_by(
    client: InProcessClient, venue: Venue, quantity: int = 1
) -> tuple[str, dict[str, str], list[Any]]:
    """(booking id, the fan's headers, [(ticket id, code)])."""
    _, _, fan = _account(client)
    answer = book(client, fan, venue.tier_id, quantity)
    assert answer.status_code == 200, answer.text
    booking_id = answer.json()["booking"]["id"]
    return booking_id, fan, codes_of(client.owner, client.owner.database_url, booking_id)


def scan(
    client: httpx.Client,
    headers: dict[str, str],
    concert_id: str,
    code: str,
    gate: str = "Gate 1",
    **extra: Any,
) -> httpx.Response:
    body = {"concertId": concert_id, "code": code, "gate": gate, "scanId": str(uuid.uuid4())}
    return client.post("/api/checkin", json={**body, **extra}, headers=headers)


def test_staff_scan_admit_then_already_used_in_the_documented_shape(
    client: InProcessClient, venue: Venue
) -> None:
    _, [(ticket_id, code)] = booked(client, venue)
    first = scan(client, venue.staff, venue.concert_id, code, "Gate A", device="pixel-7")
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert set(body) == SCAN_KEYS
    assert body["outcome"] == "ADMIT" and body["message"] == "Admit: GA"
    assert body["ticket"]["ticketId"] == ticket_id
    assert set(body["ticket"]) == {"ticketId", "seat", "tier", "holder"}
    assert body["ticket"]["holder"].startswith("d***@example.com"[:1])
    assert body["ticket"]["holder"].endswith("***@example.com")
    assert body["firstAdmitted"] is None and body["gateCount"] == 1

    again = scan(client, venue.organizer, venue.concert_id, code, "Gate B")
    assert again.status_code == 200
    used = again.json()
    assert used["outcome"] == "ALREADY_USED"
    assert used["firstAdmitted"]["gate"] == "Gate A"
    assert used["firstAdmitted"]["device"] == "pixel-7"
    # The venue's time, Paris here.
    assert used["message"].startswith("Already used at Gate A, ")
    at = datetime.fromisoformat(used["firstAdmitted"]["at"])
    assert used["message"].endswith(at.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M"))

    gates = client.get(f"/api/checkin/{venue.concert_id}/gates", headers=venue.staff)
    assert gates.status_code == 200
    assert gates.json() == {"concertId": venue.concert_id, "gates": {"Gate A": 1}, "admitted": 1}


def test_every_outcome_is_a_200(client: InProcessClient, venue: Venue, shared_db: str) -> None:
    booking_id, fan, [(_, cancelled)] = booked_by(client, venue)
    _, [(moved_id, moved), (_, fine)] = booked(client, venue, 2)
    other = make_concert(shared_db, {"GA": 5})
    gone = client.post(f"/api/bookings/{booking_id}/cancel", headers=fan)
    assert gone.status_code == 200, gone.text
    execute(
        shared_db,
        "UPDATE tickets SET revoked_at = now(), revoked_reason = 'transferred' WHERE id = $1::uuid",
        moved_id,
    )
    outcomes = {
        "INVALID": scan(client, venue.staff, venue.concert_id, fine[:-3] + "AAA"),
        "WRONG_EVENT": scan(client, venue.staff, other["id"], fine),
        "REVOKED": scan(client, venue.staff, venue.concert_id, cancelled),
        "transferred": scan(client, venue.staff, venue.concert_id, moved),
        "garbage": scan(client, venue.staff, venue.concert_id, "https://example.com/?q=1"),
    }
    # The other concert's door: this staff member isn't its staff, so that scan is refused.
    assert outcomes.pop("WRONG_EVENT").status_code == 403
    # The staff of the other concert scanning this concert's code: WRONG_EVENT, a 200.
    execute(
        shared_db,
        "INSERT INTO checkin_staff (concert_id, user_id) VALUES ($1::uuid, $2::uuid)",
        other["id"],
        venue.staff_id,
    )
    outcomes["WRONG_EVENT"] = scan(client, venue.staff, other["id"], fine)
    for name, response in outcomes.items():
        assert response.status_code == 200, (name, response.text)
        assert set(response.json()) == SCAN_KEYS
    answers = {name: r.json() for name, r in outcomes.items()}
    assert answers["INVALID"]["outcome"] == "INVALID"
    assert answers["garbage"]["outcome"] == "INVALID" and answers["garbage"]["ticket"] is None
    assert answers["WRONG_EVENT"]["outcome"] == "WRONG_EVENT"
    assert answers["REVOKED"]["outcome"] == "REVOKED"
    assert answers["REVOKED"]["message"] == "Revoked: this booking was cancelled"
    assert answers["transferred"]["message"] == "Revoked: this ticket was transferred"
    assert fetchval(shared_db, "SELECT count(*) FROM checkins WHERE gate = 'Gate 1'") == 0


def test_a_retried_scan_id_answers_the_same_and_enters_once(
    client: InProcessClient, venue: Venue, shared_db: str
) -> None:
    _, [(ticket_id, code), (_, other)] = booked(client, venue, 2)
    body = {"concertId": venue.concert_id, "code": code, "gate": "G", "scanId": str(uuid.uuid4())}
    answers = [client.post("/api/checkin", json=body, headers=venue.staff) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert [a.json()["outcome"] for a in answers] == ["ADMIT"] * 3
    assert (
        fetchval(shared_db, "SELECT count(*) FROM checkins WHERE ticket_id = $1::uuid", ticket_id)
        == 1
    )
    reused = client.post("/api/checkin", json={**body, "code": other}, headers=venue.staff)
    assert reused.status_code == 409
    assert reused.json()["success"] is False and "scanId" in reused.json()["message"]


def test_who_may_not_scan_gets_the_error_envelope(
    client: InProcessClient, venue: Venue, shared_db: str
) -> None:
    _, [(_, code)] = booked(client, venue)
    _, _, fan = _account(client)
    _, rival = _organizer(client, shared_db)
    guest = client.post("/api/auth/guest").json()["token"]
    refused = {
        "fan": fan,
        "rival organizer": rival,
        "guest": {"Authorization": f"Bearer {guest}"},
    }
    for who, headers in refused.items():
        calls = [
            scan(client, headers, venue.concert_id, code),
            client.get(f"/api/checkin/{venue.concert_id}/bundle", headers=headers),
            client.post(
                f"/api/checkin/{venue.concert_id}/sync",
                json={"device": "d", "scans": []},
                headers=headers,
            ),
            client.get(f"/api/checkin/{venue.concert_id}/gates", headers=headers),
        ]
        for response in calls:
            assert response.status_code == 403, (who, response.text)
            body = response.json()
            assert body["success"] is False and body["error"] == "FORBIDDEN"
            assert "door staff" in body["message"]
            assert "holder" not in response.text
    anonymous = scan(client, {}, venue.concert_id, code)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "UNAUTHENTICATED"
    unknown = scan(client, venue.staff, str(uuid.uuid4()), code)
    assert unknown.status_code == 404 and unknown.json()["error"] == "NOT_FOUND"
    for path in ("bundle", "gates"):
        assert client.get(f"/api/checkin/nope/{path}", headers=venue.staff).status_code == 404
    assert (
        fetchval(
            shared_db, "SELECT count(*) FROM checkins WHERE concert_id = $1::uuid", venue.concert_id
        )
        == 0
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"concertId": "not-a-uuid"}, "concertId"),
        ({"scanId": 42}, "scanId"),
        ({"gate": ""}, "gate"),
        ({"gate": "G" * 65}, "gate"),
        ({"gate": "Gate\x001"}, "printable"),
        ({"device": "d" * 65}, "device"),
        ({"code": ""}, "code"),
        ({"code": "TB" + "A" * 600}, "code"),
        ({"code": 123}, "code"),
        ({"extra": True}, "extra"),
    ],
)
def test_bad_scans_are_400_and_change_nothing(
    client: InProcessClient, venue: Venue, shared_db: str, change: dict[str, Any], words: str
) -> None:
    body = {
        "concertId": venue.concert_id,
        "code": "TB" + "A" * 150,
        "gate": "Gate 1",
        "scanId": str(uuid.uuid4()),
        **change,
    }
    before = fetchval(shared_db, "SELECT count(*) FROM checkin_scans")
    response = client.post("/api/checkin", json=body, headers=venue.staff)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "VALIDATION_ERROR"
    assert words in response.json()["message"]
    assert fetchval(shared_db, "SELECT count(*) FROM checkin_scans") == before


def test_a_scan_that_is_not_json_is_refused(client: InProcessClient, venue: Venue) -> None:
    sent = client.post(
        "/api/checkin", content="code=TB", headers={**venue.staff, "Content-Type": "text/plain"}
    )
    assert sent.status_code == 415
    broken = client.post(
        "/api/checkin", content="{", headers={**venue.staff, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and "JSON" in broken.json()["message"]


def test_the_organizer_grants_lists_and_takes_back_door_staff(
    client: InProcessClient, venue: Venue, shared_db: str
) -> None:
    path = f"/api/organizer/concerts/{venue.concert_id}/staff"
    listed = client.get(path, headers=venue.organizer)
    assert listed.status_code == 200
    [member] = listed.json()["data"]
    assert listed.json()["count"] == 1
    assert member["userId"] == venue.staff_id and member["email"] == venue.staff_email
    assert member["grantedBy"] == venue.organizer_id
    # Granting again (any case) keeps the one grant.
    again = client.post(path, json={"email": venue.staff_email.upper()}, headers=venue.organizer)
    assert again.status_code == 201 and again.json()["data"]["userId"] == venue.staff_id
    assert client.get(path, headers=venue.organizer).json()["count"] == 1

    nobody = client.post(path, json={"email": "nobody-here@example.com"}, headers=venue.organizer)
    assert nobody.status_code == 404 and "register first" in nobody.json()["message"]
    bad = client.post(path, json={"email": "not an email"}, headers=venue.organizer)
    assert bad.status_code == 400
    extra = client.post(
        path, json={"email": venue.staff_email, "role": "x"}, headers=venue.organizer
    )
    assert extra.status_code == 400
    # A fan is no organizer, and staff can't grant staff.
    assert client.get(path, headers=venue.staff).status_code == 403
    assert (
        client.get(
            f"/api/organizer/concerts/{uuid.uuid4()}/staff", headers=venue.organizer
        ).status_code
        == 404
    )

    _, [(_, code)] = booked(client, venue)
    gone = client.delete(f"{path}/{venue.staff_id}", headers=venue.organizer)
    assert gone.status_code == 200 and gone.json()["success"] is True
    assert venue.staff_email in gone.json()["message"]
    refused = scan(client, venue.staff, venue.concert_id, code)
    assert refused.status_code == 403
    assert client.delete(f"{path}/{venue.staff_id}", headers=venue.organizer).status_code == 404
    assert client.delete(f"{path}/not-a-uuid", headers=venue.organizer).status_code == 404
    assert client.get(path, headers=venue.organizer).json() == {
        "success": True,
        "data": [],
        "count": 0,
    }
    # The organizer scans their own concert without a grant.
    assert scan(client, venue.organizer, venue.concert_id, code).json()["outcome"] == "ADMIT"


def test_offline_bundle_and_a_two_device_sync_report_the_conflict(
    client: InProcessClient, venue: Venue
) -> None:
    _, [(ticket_id, code), (_, other)] = booked(client, venue, 2)
    bundle = client.get(f"/api/checkin/{venue.concert_id}/bundle", headers=venue.staff)
    assert bundle.status_code == 200 and bundle.headers["cache-control"] == "no-store"
    offline = bundle.json()
    assert offline["concertId"] == venue.concert_id and offline["timezone"] == "Europe/Paris"
    assert {t["ticketId"] for t in offline["tickets"]} >= {ticket_id}
    assert len(base64.urlsafe_b64decode(offline["publicKey"] + "=")) == 32
    assert offline["revoked"] == [] and offline["admitted"] == []

    t0 = datetime.now(UTC) - timedelta(minutes=10)

    def offline_scan(code: str, gate: str, minutes: int) -> dict[str, Any]:
        return {
            "scanId": str(uuid.uuid4()),
            "code": code,
            "gate": gate,
            "scannedAt": (t0 + timedelta(minutes=minutes)).isoformat(),
            "offlineOutcome": "ADMIT",
        }

    sync = f"/api/checkin/{venue.concert_id}/sync"
    east = client.post(
        sync,
        json={
            "device": "east-1",
            "scans": [offline_scan(code, "East", 1), offline_scan(other, "East", 2)],
        },
        headers=venue.staff,
    )
    assert east.status_code == 200, east.text
    assert [r["outcome"] for r in east.json()["recorded"]] == ["ADMIT", "ADMIT"]
    west = client.post(
        sync,
        json={"device": "west-1", "scans": [offline_scan(code, "West", 4)]},
        headers=venue.organizer,
    )
    assert west.status_code == 200, west.text
    answer = west.json()
    assert set(answer) == {"recorded", "conflicts"}
    assert answer["recorded"][0]["outcome"] == "ALREADY_USED"
    [conflict] = answer["conflicts"]
    assert set(conflict) == {"ticketId", "seat", "holder", "admitted", "alsoAdmitted"}
    assert conflict["ticketId"] == ticket_id
    assert conflict["admitted"]["gate"] == "East" and conflict["admitted"]["device"] == "east-1"
    assert [(a["gate"], a["device"]) for a in conflict["alsoAdmitted"]] == [("West", "west-1")]
    assert datetime.fromisoformat(conflict["alsoAdmitted"][0]["at"]) == t0 + timedelta(minutes=4)

    later = client.get(f"/api/checkin/{venue.concert_id}/bundle", headers=venue.staff).json()
    assert {a["ticketId"] for a in later["admitted"]} == {
        ticket_id,
        _id_of(later, other, ticket_id),
    }
    gates = client.get(f"/api/checkin/{venue.concert_id}/gates", headers=venue.staff).json()
    assert gates["gates"] == {"East": 2} and gates["admitted"] == 2


def _id_of(bundle: dict[str, Any], code: str, not_this: str) -> str:
    """The other admitted ticket's id (the bundle names tickets, the test knows codes)."""
    [other] = {a["ticketId"] for a in bundle["admitted"]} - {not_this}
    return str(other)


@pytest.mark.parametrize(
    ("scan_change", "words"),
    [
        ({"scannedAt": "2030-01-01T10:00:00"}, "UTC offset"),
        ({"offlineOutcome": "MAYBE"}, "offlineOutcome"),
        ({"scannedAt": "yesterday"}, "scannedAt"),
    ],
)
def test_bad_syncs_are_400(
    client: InProcessClient, venue: Venue, scan_change: dict[str, Any], words: str
) -> None:
    one = {
        "scanId": str(uuid.uuid4()),
        "code": "TB" + "A" * 150,
        "gate": "G",
        "scannedAt": datetime.now(UTC).isoformat(),
        "offlineOutcome": "ADMIT",
        **scan_change,
    }
    response = client.post(
        f"/api/checkin/{venue.concert_id}/sync",
        json={"device": "d", "scans": [one]},
        headers=venue.staff,
    )
    assert response.status_code == 400, response.text
    assert words in response.json()["message"]
    too_many = client.post(
        f"/api/checkin/{venue.concert_id}/sync",
        json={"device": "d", "scans": [one] * (MAX_SYNC_SCANS + 1)},
        headers=venue.staff,
    )
    assert too_many.status_code == 400


def test_an_over_long_code_in_a_sync_is_one_invalid_scan_not_a_400(
    client: InProcessClient, venue: Venue, shared_db: str
) -> None:
    """One bad scan in a device's queue must not hold the others back (the page retried the
    same refused batch forever)."""
    _, [(_, code)] = booked(client, venue)

    def one(code: str) -> dict[str, Any]:
        return {
            "scanId": str(uuid.uuid4()),
            "code": code,
            "gate": "G",
            "scannedAt": datetime.now(UTC).isoformat(),
            "offlineOutcome": "ADMIT",
        }

    response = client.post(
        f"/api/checkin/{venue.concert_id}/sync",
        json={"device": "d", "scans": [one("TB" + "A" * 2000), one(code)]},
        headers=venue.staff,
    )
    assert response.status_code == 200, response.text
    assert [r["outcome"] for r in response.json()["recorded"]] == ["INVALID", "ADMIT"]
    # The online scan keeps its limit: a code longer than 512 characters is still a 400.
    assert scan(client, venue.staff, venue.concert_id, "TB" + "A" * 600).status_code == 400


def test_the_bundle_has_an_etag_and_answers_304_while_nothing_changed(
    client: InProcessClient, venue: Venue
) -> None:
    _, [(_, code)] = booked(client, venue)
    url = f"/api/checkin/{venue.concert_id}/bundle"
    first = client.get(url, headers=venue.staff)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('"')
    same = client.get(url, headers={**venue.staff, "If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == etag and same.headers["cache-control"] == "no-store"
    assert (
        client.get(url, headers={**venue.staff, "If-None-Match": '"x", ' + etag}).status_code == 304
    )
    # An admission changes the list: a new ETag, the whole bundle again.
    assert scan(client, venue.staff, venue.concert_id, code).json()["outcome"] == "ADMIT"
    changed = client.get(url, headers={**venue.staff, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert len(changed.json()["admitted"]) == 1
    # The ETag is no way around the grant.
    _, _, stranger = _account(client)
    assert client.get(url, headers={**stranger, "If-None-Match": etag}).status_code == 403
