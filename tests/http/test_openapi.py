"""The committed OpenAPI document is the one the code generates, and the one the server serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from ticketbook.app import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
STALE = "docs/openapi.json is stale: run `make openapi` and commit the result"


def committed_document() -> dict[str, Any]:
    assert COMMITTED.is_file(), f"{COMMITTED} is missing: run `make openapi`"
    document: dict[str, Any] = json.loads(COMMITTED.read_text())
    return document


def differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """Where two JSON values differ, as short paths (so a failure says what changed)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b)):
            if key not in a:
                found.append(f"{path}.{key}: only in the generated document")
            elif key not in b:
                found.append(f"{path}.{key}: only in the committed document")
            else:
                found += differences(a[key], b[key], f"{path}.{key}")
        return found
    if a != b:
        return [f"{path}: committed {json.dumps(a)[:80]} != generated {json.dumps(b)[:80]}"]
    return []


def test_committed_openapi_matches_the_code() -> None:
    committed = committed_document()
    generated = openapi_document()
    diff = differences(committed, generated)
    assert committed == generated, STALE + "\n" + "\n".join(diff[:20])


def test_committed_openapi_describes_the_api() -> None:
    paths = committed_document()["paths"]
    for path in (
        "/api/health-check",
        "/api/concerts",
        "/api/concerts/{concert_id}",
        "/api/bookings",
        "/api/bookings/{user_id}",
        "/api/bookings/{booking_id}/cancel",
        "/api/auth/guest",
    ):
        assert path in paths, f"{path} missing from docs/openapi.json"
    assert not any("_test" in path for path in paths), "test-only routes must stay undocumented"


def test_live_server_serves_the_committed_document(client: httpx.Client) -> None:
    committed = committed_document()
    for url in ("/api/docs", "/api/openapi.json"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.text)
        assert response.headers["content-type"].startswith("application/json")
        served = response.json()
        assert served == committed, f"{url} differs from docs/openapi.json: " + "\n".join(
            differences(committed, served)[:20]
        )
