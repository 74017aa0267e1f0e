from __future__ import annotations

import httpx

from tests.support.api import book, new_guest, tier_state
from tests.support.inventory import make_concert


def test_book_one_ticket_end_to_end(client: httpx.Client, shared_db: str) -> None:
    concert = make_concert(shared_db, {"GA": 5})
    headers = new_guest(client)
    response = book(client, headers, concert["tiers"]["GA"], 2)
    assert response.status_code == 200, response.text
    assert response.json()["booking"]["status"] == "CONFIRMED"
    assert tier_state(client, concert["id"], concert["tiers"]["GA"])["availableQuantity"] == 3
