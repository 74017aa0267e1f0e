"""Small helpers that speak the JSON API the way a client would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def new_guest(client: httpx.Client) -> dict[str, str]:
    """Authorization headers for a fresh guest."""
    response = client.post("/api/auth/guest")
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def guest_identity(client: httpx.Client) -> tuple[str, dict[str, str]]:
    response = client.post("/api/auth/guest")
    assert response.status_code == 200, response.text
    body = response.json()
    return body["userId"], {"Authorization": f"Bearer {body['token']}"}


def book(
    client: httpx.Client,
    headers: dict[str, str],
    tier_id: str,
    quantity: int = 1,
    key: str | None = None,
) -> httpx.Response:
    return client.post(
        "/api/bookings",
        json={"ticketTierId": tier_id, "quantity": quantity},
        headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())},
    )


def tier_state(client: httpx.Client, concert_id: str, tier_id: str) -> dict[str, Any]:
    concert = client.get(f"/api/concerts/{concert_id}").json()["data"]
    return next(t for t in concert["ticketTiers"] if t["id"] == tier_id)
