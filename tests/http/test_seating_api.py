"""Reserved seating through the API: a concert's seating, its layout with an ETag, the seat
states' compact encoding (60,000 seats within 20 KB), and organizers' layouts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.accounts import new_concert_body, organizer
from tests.support.api import book, new_guest
from tests.support.inventory import doctor, make_concert
from tests.support.seating import seated_concert
from ticketbook.seating.demo_layouts import (
    concert_hall_document,
    section_block,
    section_block_document,
    stadium,
)
from ticketbook.seating.service import STATES_FRESH_S
from ticketbook.seating.states import SeatState, decode_states


def _seating(client: httpx.Client, concert_id: str) -> dict[str, Any]:
    response = client.get(f"/api/concerts/{concert_id}/seating")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _states(client: httpx.Client, concert_id: str, count: int) -> list[SeatState]:
    response = client.get(f"/api/concerts/{concert_id}/seats/states")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert int(response.headers["x-seat-count"]) == count
    return decode_states(response.content, count)


def test_a_seated_concert_shows_its_zones_layout_and_states(
    client: httpx.Client, shared_db: str, tmp_path: Path
) -> None:
    concert = seated_concert(shared_db, tmp_path, section_block(2, 5))
    info = _seating(client, concert["id"])
    assert info["seatCount"] == 10
    (zone,) = info["zones"]
    assert (zone["zone"], zone["totalQuantity"], zone["availableQuantity"]) == ("standard", 10, 10)
    # The zone is a SEATED tier of the concert, beside its GA tier.
    tiers = client.get(f"/api/concerts/{concert['id']}").json()["data"]["ticketTiers"]
    assert {(t["tierType"], t["zone"]) for t in tiers} == {("GA", None), ("SEATED", "standard")}
    assert _states(client, concert["id"], 10) == [SeatState.FREE] * 10

    answer = book(client, new_guest(client), zone["tierId"], seats=["S:B:2", "S:B:3"])
    assert answer.status_code == 200
    time.sleep(STATES_FRESH_S)  # a process reads a concert's states at most this often
    states = _states(client, concert["id"], 10)
    # Row B's seats 2 and 3 are ordinals 6 and 7 (row A is 0-4).
    assert [i for i, s in enumerate(states) if s is SeatState.SOLD] == [6, 7]


def test_the_layout_is_served_once_then_revalidated(
    client: httpx.Client, shared_db: str, tmp_path: Path
) -> None:
    concert = seated_concert(shared_db, tmp_path, section_block(2, 5))
    url = _seating(client, concert["id"])["layoutUrl"]
    first = client.get(url)
    assert first.status_code == 200
    assert first.json()["format"] == "ticketbook.layout/1"
    etag = first.headers["etag"]
    assert "must-revalidate" in first.headers["cache-control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")


def test_a_concert_without_seats_has_no_seating(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    for path in ("seating", "seats/states"):
        response = client.get(f"/api/concerts/{concert['id']}/{path}")
        assert response.status_code == 404
        assert response.json()["error"] == "NOT_FOUND"


def test_a_stadiums_seat_states_fit_in_20_kb(
    client: httpx.Client, shared_db: str, tmp_path: Path
) -> None:
    concert = seated_concert(shared_db, tmp_path, stadium(60_000))
    info = _seating(client, concert["id"])
    assert info["seatCount"] == 60_000
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(f"/api/concerts/{concert['id']}/seats/states")
        timings.append((time.perf_counter() - started) * 1000)
    wire = len(response.content) + sum(len(k) + len(v) + 4 for k, v in response.headers.items())
    assert len(response.content) == 15_000
    assert wire <= 20 * 1024
    print(
        f"60,000 seats: {len(response.content)} bytes body, {wire} on the wire; "
        f"{min(timings):.1f}-{max(timings):.1f} ms in process"
    )


def test_organizers_create_seat_and_replace_layouts(client: httpx.Client, shared_db: str) -> None:
    _, headers = organizer(client, shared_db)
    created = client.post("/api/organizer/layouts", json=concert_hall_document(), headers=headers)
    assert created.status_code == 201, created.text
    layout = created.json()["data"]
    assert layout["seatCount"] >= 2000 and len(layout["sections"]) >= 4
    concert = client.post("/api/concerts", json=new_concert_body(), headers=headers).json()["data"]
    missing = client.put(
        f"/api/organizer/concerts/{concert['id']}/seating",
        json={"layoutId": layout["id"], "pricesCents": {"premium": 9000}},
        headers=headers,
    )
    assert missing.status_code == 400
    assert "standard" in missing.json()["message"]
    prices = {"premium": 9000, "standard": 6000, "balcony": 3000}
    seated = client.put(
        f"/api/organizer/concerts/{concert['id']}/seating",
        json={"layoutId": layout["id"], "pricesCents": prices},
        headers=headers,
    )
    assert seated.status_code == 200, seated.text
    zones = {z["zone"]: z for z in seated.json()["data"]["zones"]}
    assert {z: zones[z]["priceCents"] for z in zones} == prices
    assert sum(z["totalQuantity"] for z in zones.values()) == layout["seatCount"]

    # Before any booking the layout may be replaced: the concert gets the new seats.
    smaller = section_block_document(2, 5)
    smaller["zones"] = [{"key": "standard", "name": "Standard"}]
    replaced = client.put(f"/api/organizer/layouts/{layout['id']}", json=smaller, headers=headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["data"]["version"] == 2
    assert _seating(client, concert["id"])["seatCount"] == 10

    tier = _seating(client, concert["id"])["zones"][0]["tierId"]
    assert book(client, new_guest(client), tier, 2).status_code == 200
    refused = client.put(
        f"/api/organizer/layouts/{layout['id']}", json=concert_hall_document(), headers=headers
    )
    assert refused.status_code == 409
    assert concert["name"] in refused.json()["message"]
    assert doctor(shared_db).violations == 0


def test_a_bad_layout_is_refused_with_where(client: httpx.Client, shared_db: str) -> None:
    _, headers = organizer(client, shared_db)
    document = section_block_document(2, 5)
    document["sections"][0]["key"] = "A:B"
    response = client.post("/api/organizer/layouts", json=document, headers=headers)
    assert response.status_code == 400
    assert "sections[0].key" in response.json()["message"]


def test_only_organizers_make_layouts(client: httpx.Client) -> None:
    response = client.post(
        "/api/organizer/layouts", json=section_block_document(2, 5), headers=new_guest(client)
    )
    assert response.status_code == 403
