"""The door scanner's pages in-process: who sees the scanner (staff of that concert only), the
JSON endpoints its script calls under the cookie session (the CSRF header required), and a
scan, a bundle and a sync through them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, register
from tests.support.api import book, new_guest
from tests.support.inprocess import InProcessApp, InProcessClient
from tests.support.inventory import execute, fetch, fetchval, make_concert
from tests.support.pages import forms


def sign_in_page(client: httpx.Client, email: str) -> None:
    [form] = [f for f in forms(client.get("/login").text) if f.action == "/login"]
    answer = client.post("/login", data=form.filled(email=email, password=PASSWORD))
    assert answer.status_code == 303, answer.text


def staff(client: InProcessClient, db: str, concert_id: str | None) -> str:
    """A new account, signed in on ``client``'s pages, granted for ``concert_id``."""
    email = f"door-{uuid.uuid4().hex[:8]}@example.com"
    user_id, _ = register(client, email)
    if concert_id is not None:
        execute(
            db,
            "INSERT INTO checkin_staff (concert_id, user_id) VALUES ($1::uuid, $2::uuid)",
            concert_id,
            user_id,
        )
    sign_in_page(client, email)
    return user_id


def csrf_of(html: str) -> str:
    match = re.search(r'data-csrf="([^"]+)"', html)
    assert match, "the scanner page carries no CSRF token"
    return match.group(1)


@pytest.fixture(scope="module")
def door(shared_app: InProcessApp, shared_db: str) -> dict[str, Any]:
    concert = make_concert(shared_db, {"GA": 10})
    other = make_concert(shared_db, {"GA": 10})
    with shared_app.client() as api:
        assert book(api, new_guest(api), concert["tiers"]["GA"], 2).status_code == 200
    keys = shared_app.services.ticket_keys
    codes = []
    for row in _tickets(shared_db, concert["id"]):
        codes.append(
            keys.code(
                concert_id=row["concert_id"],
                key_version=row["key_version"],
                ticket_id=row["id"],
                tier_id=row["tier_id"],
                seat=row["seat"],
            )
        )
    return {"concert": concert, "other": other, "codes": codes}


def _tickets(db: str, concert_id: str) -> list[Any]:
    return fetch(
        db,
        "SELECT t.id, t.concert_id, t.tier_id, t.seat, c.ticket_key_version AS key_version"
        "  FROM tickets t JOIN concerts c ON c.id = t.concert_id"
        " WHERE t.concert_id = $1::uuid AND t.revoked_at IS NULL ORDER BY t.id",
        concert_id,
    )


def scanner_page(client: httpx.Client, concert_id: str) -> httpx.Response:
    return client.get(f"/checkin/{concert_id}")


def scan_body(concert_id: str, code: str, gate: str = "Gate A") -> dict[str, Any]:
    return {"concertId": concert_id, "scanId": str(uuid.uuid4()), "code": code, "gate": gate}


def test_a_guest_and_another_concerts_staff_get_the_403_page(
    client: InProcessClient, shared_db: str, door: dict[str, Any]
) -> None:
    concert_id = door["concert"]["id"]
    guest = scanner_page(client, concert_id)
    assert guest.status_code == 403
    assert "Door staff only" in guest.text
    assert f"/login?next=%2Fcheckin%2F{concert_id}" in guest.text
    assert "data-csrf" not in guest.text

    with client.visitor() as elsewhere:
        staff(elsewhere, shared_db, door["other"]["id"])
        denied = scanner_page(elsewhere, concert_id)
        assert denied.status_code == 403
        assert "has no check-in rights for this concert" in denied.text
        # Their own concert is theirs to scan, and the only one /checkin lists.
        assert scanner_page(elsewhere, door["other"]["id"]).status_code == 200
        listing = elsewhere.get("/checkin").text
        assert f'href="/checkin/{door["other"]["id"]}"' in listing
        assert f'href="/checkin/{concert_id}"' not in listing
        # Its JSON endpoints refuse a concert it doesn't staff, even with its own token.
        token = csrf_of(scanner_page(elsewhere, door["other"]["id"]).text)
        refused = elsewhere.post(
            f"/checkin/{concert_id}/scan",
            json=scan_body(concert_id, door["codes"][0]),
            headers={"X-CSRF-Token": token, "Accept": "application/json"},
        )
        assert refused.status_code == 403
        assert refused.json()["ok"] is False


def test_the_json_endpoints_want_the_header_token(
    client: InProcessClient, shared_db: str, door: dict[str, Any]
) -> None:
    concert_id = door["concert"]["id"]
    staff(client, shared_db, concert_id)
    page = scanner_page(client, concert_id)
    assert page.status_code == 200
    token = csrf_of(page.text)
    body = scan_body(concert_id, door["codes"][0])
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": token + "x"}):
        answer = client.post(
            f"/checkin/{concert_id}/scan",
            json=body,
            headers={"Accept": "application/json", **headers},
        )
        assert answer.status_code == 403, headers
    assert client.get(f"/checkin/{concert_id}/bundle").status_code == 403
    # A form post (what another site could send) is not a JSON body, token or not.
    form = client.post(
        f"/checkin/{concert_id}/scan", data={"code": "x"}, headers={"X-CSRF-Token": token}
    )
    assert form.status_code == 400
    # Nothing was scanned by any of it.
    assert fetchval(shared_db, "SELECT count(*) FROM checkin_scans") == 0


def test_scan_bundle_and_sync_through_the_page_endpoints(
    client: InProcessClient, shared_db: str, door: dict[str, Any]
) -> None:
    concert_id = door["concert"]["id"]
    staff_id = staff(client, shared_db, concert_id)
    headers = {"X-CSRF-Token": csrf_of(scanner_page(client, concert_id).text)}
    first, second = door["codes"]

    bundle = client.get(f"/checkin/{concert_id}/bundle", headers=headers)
    assert bundle.status_code == 200
    assert bundle.headers["cache-control"] == "no-store"
    assert bundle.json()["concertId"] == concert_id
    assert len(bundle.json()["tickets"]) == 2
    # What the page sends every 30 s: the list it holds, by its ETag; 304 while unchanged.
    same = client.get(
        f"/checkin/{concert_id}/bundle",
        headers={**headers, "If-None-Match": bundle.headers["etag"]},
    )
    assert same.status_code == 304 and same.content == b""

    body = scan_body(concert_id, first)
    admit = client.post(f"/checkin/{concert_id}/scan", json=body, headers=headers)
    assert admit.status_code == 200, admit.text
    assert admit.json()["outcome"] == "ADMIT"
    assert admit.json()["gateCount"] == 1
    # The same scan id again: the first answer, no second entry.
    again = client.post(f"/checkin/{concert_id}/scan", json=body, headers=headers)
    assert again.json()["outcome"] == "ADMIT"
    used = client.post(
        f"/checkin/{concert_id}/scan", json=scan_body(concert_id, first, "B"), headers=headers
    )
    assert used.json()["outcome"] == "ALREADY_USED"
    assert used.json()["firstAdmitted"]["gate"] == "Gate A"
    # The path names the concert: a body for another is refused.
    other = client.post(
        f"/checkin/{concert_id}/scan", json=scan_body(door["other"]["id"], first), headers=headers
    )
    assert other.status_code == 400

    # The second ticket let in by two offline devices: one entry, one conflict.
    now = datetime.now(UTC).isoformat()
    for device, gate in (("dev-a", "Gate A"), ("dev-b", "Gate B")):
        synced = client.post(
            f"/checkin/{concert_id}/sync",
            json={
                "device": device,
                "scans": [
                    {
                        "scanId": str(uuid.uuid4()),
                        "code": second,
                        "gate": gate,
                        "scannedAt": now,
                        "offlineOutcome": "ADMIT",
                    }
                ],
            },
            headers=headers,
        )
        assert synced.status_code == 200, synced.text
    answer = synced.json()
    assert answer["recorded"][0]["outcome"] == "ALREADY_USED"
    [conflict] = answer["conflicts"]
    assert conflict["admitted"]["gate"] == "Gate A"
    assert [a["gate"] for a in conflict["alsoAdmitted"]] == ["Gate B"]
    [entries] = fetch(
        shared_db,
        "SELECT count(*) AS n, count(*) FILTER (WHERE staff_id = $2::uuid) AS mine"
        "  FROM checkins WHERE concert_id = $1::uuid",
        concert_id,
        staff_id,
    )
    assert (entries["n"], entries["mine"]) == (2, 2)


def test_the_list_has_tonights_show_after_the_doors_opened(
    client: InProcessClient, shared_db: str
) -> None:
    """Concerts started in the last 12 hours are listed (staff open /checkin after the doors
    open), older ones and other accounts' are not."""
    now = datetime.now(UTC)
    tonight = make_concert(shared_db, {"GA": 5}, starts_at=now - timedelta(hours=2))
    yesterday = make_concert(shared_db, {"GA": 5}, starts_at=now - timedelta(hours=13))
    upcoming = make_concert(shared_db, {"GA": 5})
    not_mine = make_concert(shared_db, {"GA": 5})
    user_id = staff(client, shared_db, tonight["id"])
    for concert in (yesterday, upcoming):
        execute(
            shared_db,
            "INSERT INTO checkin_staff (concert_id, user_id) VALUES ($1::uuid, $2::uuid)",
            concert["id"],
            user_id,
        )
    listing = client.get("/checkin").text
    assert f'href="/checkin/{tonight["id"]}"' in listing
    assert f'href="/checkin/{upcoming["id"]}"' in listing
    assert f'href="/checkin/{yesterday["id"]}"' not in listing
    assert f'href="/checkin/{not_mine["id"]}"' not in listing
    assert listing.index(tonight["id"]) < listing.index(upcoming["id"])
