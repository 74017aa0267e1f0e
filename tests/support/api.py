"""Small helpers that speak the JSON API the way a client would: through the project's own
typed client (`ticketbook.client`), over the test's httpx client (in-process or a socket).

`fan` and `as_user` hand out `TicketBookClient`s; the older helpers keep their shapes
(headers dicts, `httpx.Response` from `book`) for the tests that assert raw statuses,
headers and bodies, and send the same request descriptions as the client.
"""

from __future__ import annotations

from typing import Any

import httpx

from ticketbook.client import TicketBookClient, calls


def fan(client: httpx.Client) -> TicketBookClient:
    """A fresh guest's client, over ``client`` (its token is the TicketBook client's own, so
    several fans can share one httpx client)."""
    api = TicketBookClient(http=client)
    api.guest()
    return api


def as_user(client: httpx.Client, headers: dict[str, str]) -> TicketBookClient:
    """A client for the user whose Authorization ``headers`` a test already has."""
    return TicketBookClient(http=client, token=headers["Authorization"].removeprefix("Bearer "))


def auth_headers(api: TicketBookClient) -> dict[str, str]:
    assert api.token is not None
    return {"Authorization": f"Bearer {api.token}"}


def new_guest(client: httpx.Client) -> dict[str, str]:
    """Authorization headers for a fresh guest."""
    return auth_headers(fan(client))


def guest_identity(client: httpx.Client) -> tuple[str, dict[str, str]]:
    api = fan(client)
    return str(api.user_id), auth_headers(api)


def book(
    client: httpx.Client,
    headers: dict[str, str],
    tier_id: str,
    quantity: int = 1,
    key: str | None = None,
    *,
    seats: list[str] | None = None,
    section: str | None = None,
) -> httpx.Response:
    """POST /api/bookings as the client sends it, answered unread (status, headers, body)."""
    if seats is not None:
        quantity = len(seats)
    call = calls.book(tier_id, quantity, key, seats=seats, section=section)
    return TicketBookClient(http=client).response(call, headers)


def tier_state(client: httpx.Client, concert_id: str, tier_id: str) -> dict[str, Any]:
    """One tier of the concert as the API shows it (camelCase keys)."""
    concert = TicketBookClient(http=client).concert(concert_id)
    tier = next(t for t in concert.ticket_tiers if str(t.id) == tier_id)
    return tier.model_dump(mode="json")
