"""The live availability stream's answers that need no second process: an unknown concert
has no stream. (Moved from tests/system/test_live.py.)"""

from __future__ import annotations

import uuid

import httpx


def test_unknown_concert_has_no_stream(client: httpx.Client) -> None:
    for path in (f"/api/concerts/{uuid.uuid4()}/events", "/api/concerts/nope/events"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"] == "NOT_FOUND"
