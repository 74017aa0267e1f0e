"""The busiest routes are served as plain Starlette routes (api/plain_routes.py). Each must
answer exactly as the FastAPI route it shortcuts: the same app with the plain routes taken
out is sent the same requests, and the answers (status, body, the headers a client reads)
compared. And the request metrics still count them by their route template."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.support.api import guest_identity
from tests.support.inprocess import InProcessApp, app_settings
from tests.support.inventory import make_concert
from tests.support.seating import seated_concert
from ticketbook.api.plain_routes import PlainRoute
from ticketbook.seating.demo_layouts import section_block

HEADERS_COMPARED = (
    "content-type",
    "allow",
    "retry-after",
    "cache-control",
    "x-seat-count",
    "x-layout-version",
)


@pytest.fixture(scope="module")
def apps(shared_db: str, data_dir: Path) -> Iterator[tuple[InProcessApp, InProcessApp]]:
    """(the app as served, the same app without its plain routes), on one database."""
    with (
        InProcessApp(shared_db, app_settings(data_dir)) as ours,
        InProcessApp(shared_db, app_settings(data_dir)) as fastapis,
    ):
        routes = fastapis.app.router.routes
        plain = [r for r in routes if isinstance(r, PlainRoute)]
        assert len(plain) == 6, plain
        routes[:] = [r for r in routes if not isinstance(r, PlainRoute)]
        yield ours, fastapis


def _answer(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    headers = {name: value for name in HEADERS_COMPARED if (value := response.headers.get(name))}
    is_json = response.headers.get("content-type", "").startswith("application/json")
    body: Any = response.json() if is_json and response.content else response.content
    return response.status_code, body, headers


def _both(apps: tuple[InProcessApp, InProcessApp], method: str, path: str, **kwargs: Any) -> Any:
    ours, fastapis = apps
    with ours.client() as a, fastapis.client() as b:
        first = _answer(a.request(method, path, **kwargs))
        second = _answer(b.request(method, path, **kwargs))
    assert first == second, (method, path)
    return first


def test_the_catalog_routes_answer_as_fastapis(
    apps: tuple[InProcessApp, InProcessApp], shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 3})
    cid = concert["id"]
    assert _both(apps, "GET", "/api/concerts")[0] == 200
    assert _both(apps, "GET", f"/api/concerts/{cid}")[0] == 200
    assert _both(apps, "HEAD", f"/api/concerts/{cid}")[0] == 200
    assert _both(apps, "GET", f"/api/concerts/{uuid.uuid4()}")[0] == 404
    assert _both(apps, "GET", "/api/concerts/not-an-id")[0] == 404
    assert _both(apps, "DELETE", f"/api/concerts/{cid}")[0] == 405
    assert _both(apps, "GET", "/api/concerts/")[0] in (307, 404)
    # POST /api/concerts is the organizers' (a FastAPI route): a plain GET route must not
    # shadow it.
    assert _both(apps, "POST", "/api/concerts", json={})[0] == 401


def test_the_booking_route_answers_as_fastapis(
    apps: tuple[InProcessApp, InProcessApp], shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 3})
    ours, fastapis = apps
    for app in (ours, fastapis):
        with app.client() as client:
            _, auth = guest_identity(client)
            tier = concert["tiers"]["GA"]
            good = client.post(
                "/api/bookings",
                json={"ticketTierId": tier, "quantity": 1},
                headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert good.status_code == 200, good.text
            assert good.json()["booking"]["status"] == "CONFIRMED", good.json()
    assert _both(apps, "POST", "/api/bookings", content=b"{")[0] == 415
    assert _both(apps, "POST", "/api/bookings", json={"quantity": 1})[0] == 401
    assert _both(apps, "GET", "/api/bookings")[0] == 405
    assert _both(apps, "PUT", "/api/bookings", json={})[0] == 405


def test_the_polled_routes_answer_as_fastapis(
    apps: tuple[InProcessApp, InProcessApp], shared_db: str, tmp_path: Path
) -> None:
    """The seat map's poll, the waiting room's poll and "my bookings", with and without
    a valid caller."""
    seated = seated_concert(shared_db, tmp_path, section_block(2, 4))["id"]
    unseated = make_concert(shared_db, {"GA": 3})["id"]
    ours, _ = apps
    with ours.client() as client:
        user_id, auth = guest_identity(client)
    callers: dict[str, dict[str, str]] = {
        "a guest": auth,
        "nobody": {},
        "not bearer": {"authorization": "Basic x"},
        "an unknown token": {"authorization": "Bearer not-a-token"},
        "an empty bearer": {"authorization": "Bearer "},
    }
    assert _both(apps, "GET", f"/api/concerts/{seated}/seats/states")[0] == 200
    assert _both(apps, "GET", f"/api/concerts/{unseated}/seats/states")[0] == 404
    assert _both(apps, "GET", "/api/concerts/x/seats/states")[0] == 404
    assert _both(apps, "PUT", f"/api/concerts/{seated}/seats/states")[0] == 405
    seen = set()
    for headers in callers.values():
        for path in (
            f"/api/concerts/{unseated}/queue",
            f"/api/concerts/{uuid.uuid4()}/queue",
            f"/api/bookings/{user_id}",
            f"/api/bookings/{uuid.uuid4()}",
            "/api/bookings/not-an-id",
        ):
            seen.add(_both(apps, "GET", path, headers=headers)[0])
    assert {200, 401, 403, 404} <= seen, seen
    # The queue's path has a POST (joining) and a PUT that is no route: as before.
    assert _both(apps, "PUT", f"/api/concerts/{unseated}/queue", headers=auth)[0] == 405
    assert _both(apps, "DELETE", f"/api/bookings/{user_id}", headers=auth)[0] == 405


def _count(route: str, method: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "ticketbook_http_requests_total", {"method": method, "route": route, "status": status}
    )
    return value or 0.0


def test_plain_routes_are_counted_by_their_route_template(
    apps: tuple[InProcessApp, InProcessApp], shared_db: str
) -> None:
    concert = make_concert(shared_db, {"GA": 3})
    ours, _ = apps
    template = "/api/concerts/{concert_id}"
    before = _count(template, "GET", "200"), _count("/api/concerts", "GET", "200")
    with ours.client() as client:
        assert client.get(f"/api/concerts/{concert['id']}").status_code == 200
        assert client.get("/api/concerts").status_code == 200
    after = _count(template, "GET", "200"), _count("/api/concerts", "GET", "200")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
