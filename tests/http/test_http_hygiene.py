"""HTTP hygiene in the app itself (issue 11, points 7 and 9): HEAD on every GET route, redirects
that never name the host a request made up, X-Forwarded-For that is believed only as an
address from a trusted proxy and never answers 500, and bodies that don't parse answering 400
VALIDATION_ERROR in words. What needs a real socket (header size, timeouts) is in
tests/system/test_served_hygiene.py.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.http.conftest import AppFactory
from tests.http.test_route_authorization import app_routes
from tests.support.accounts import organizer
from tests.support.api import guest_identity
from tests.support.inprocess import InProcessApp
from tests.support.inventory import fetch, make_concert, snapshot

STREAMS = {"/api/concerts/{concert_id}/events"}  # a GET here never ends: HEAD only


@dataclass(frozen=True)
class World:
    concert_id: str
    tier_id: str
    fan_id: str
    fan: dict[str, str]
    organizer: dict[str, str]


@pytest.fixture(scope="module")
def world(shared_app: InProcessApp, shared_db: str) -> World:
    concert = make_concert(shared_db, {"GA": 100})
    with shared_app.client() as c:
        fan_id, fan = guest_identity(c)
        _, org = organizer(c, shared_db)
    return World(concert["id"], concert["tiers"]["GA"], fan_id, fan, org)


def _get_routes() -> list[str]:
    return sorted(path for method, path in app_routes() if method == "GET")


def _concrete(path: str, w: World) -> tuple[str, dict[str, str]]:
    url = path.replace("{concert_id}", w.concert_id).replace("{user_id}", w.fan_id)
    if path.startswith("/api/organizer"):
        return url, w.organizer
    if path.startswith(("/api/bookings", "/api/auth/me")):
        return url, w.fan
    return url, {}


# --- HEAD --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _get_routes())
def test_head_answers_every_get_route_like_get_without_a_body(
    shared_app: InProcessApp, world: World, path: str
) -> None:
    url, headers = _concrete(path, world)
    with shared_app.client() as c:
        head = c.head(url, headers=headers)
    assert head.status_code != 405, (path, head.status_code)
    assert head.content == b"", path
    if path in STREAMS:
        assert head.status_code == 200
        assert head.headers["content-type"].startswith("text/event-stream")
        return
    with shared_app.client() as c:
        get = c.get(url, headers=headers)
    assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
    assert head.headers.get("content-type") == get.headers.get("content-type"), path
    if "content-length" in get.headers and path != "/metrics":  # metrics count this request
        assert head.headers["content-length"] == get.headers["content-length"], path
    assert head.headers["x-content-type-options"] == "nosniff"  # the security headers too


def test_head_on_a_static_file_and_on_a_post_only_route(client: httpx.Client) -> None:
    static = client.head("/static/app.css")
    assert static.status_code == 200 and static.content == b""
    # A route with no GET stays what GET gets there: 405 naming the methods it has.
    post_only = client.head("/api/bookings")
    assert post_only.status_code == 405
    assert post_only.headers["allow"] == "POST"
    assert client.get("/api/bookings").status_code == 405


# --- redirects and Host ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8443", "testserver.evil.example"])
@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/concerts/", "/concerts"),
        ("/api/concerts/", "/api/concerts"),
        ("/concerts/?next=//evil.example", "/concerts?next=//evil.example"),
    ],
)
def test_a_trailing_slash_redirect_never_names_the_host_header(
    client: httpx.Client, host: str, path: str, location: str
) -> None:
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 307
    assert response.headers["location"] == location


@pytest.mark.parametrize("path", ["/%5Cevil.example/", "/%09/evil.example/", "//evil.example/"])
def test_no_redirect_points_a_browser_at_another_host(client: httpx.Client, path: str) -> None:
    """A Location of "//host", "/\\host" or "/<tab>/host" is another host to a browser."""
    response = client.get(path, headers={"Host": "evil.example"})
    location = response.headers.get("location")
    if location is not None:
        assert location.startswith("/") and location[1:2] not in ("/", "\\", "\t"), location
        assert "evil.example" not in location.split("?")[0].split("/")[1], location


# --- X-Forwarded-For ---------------------------------------------------------------------------


def _address_buckets(db: str, marker: str) -> list[str]:
    rows = fetch(
        db,
        "SELECT bucket FROM rate_limit_buckets WHERE bucket LIKE 'register:address:%' "
        "AND bucket LIKE $1",
        f"%{marker}%",
    )
    return [row["bucket"] for row in rows]


def _register(c: httpx.Client, forwarded_for: bytes | str) -> httpx.Response:
    email = f"xff-{uuid.uuid4().hex[:10]}@example.com"
    return c.post(
        "/api/auth/register",
        json={"email": email, "password": "correct horse battery staple"},
        headers={"X-Forwarded-For": forwarded_for},
    )


MALFORMED = {
    "3 KB of text": secrets.token_hex(1500),
    "not an address": "not-an-ip",
    "unknown": "unknown",
    "a zone id": "fe80::1%" + "e" * 3000,
    "an empty hop": "203.0.113.5,,",
    "a port past 65535": "203.0.113.5:99999",
    "latin-1 bytes": b"203.0.113.\xe9",
    "leading zeros": "010.0.0.1",
}


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_forwarded_for_is_ignored_never_a_500(
    shared_app: InProcessApp, shared_db: str, value: str | bytes
) -> None:
    with shared_app.client(address="127.0.0.1") as c:
        response = _register(c, value)
        assert response.status_code == 201, response.text
        assert c.get("/api/concerts", headers={"X-Forwarded-For": value}).status_code == 200
    # The request counts against the peer (the trusted loopback proxy), not against the text.
    buckets = [b for b in _address_buckets(shared_db, "") if not b.endswith(":127.0.0.1")]
    assert all(len(b) < 80 for b in buckets), buckets


def test_forwarded_for_is_read_from_the_right(shared_app: InProcessApp, shared_db: str) -> None:
    with shared_app.client(address="127.0.0.1") as c:
        # What the client wrote (left) is not believed; what the proxy appended (right) is.
        assert _register(c, "192.0.2.66, 203.0.113.17").status_code == 201
        # Trusted hops (the loopback proxy again) are skipped; long junk on the left is unread.
        junk = "x" * 4000 + ", 198.51.100.23, 127.0.0.1"
        assert _register(c, junk).status_code == 201
        # Canonical forms: a port and the IPv4-mapped IPv6 spelling are the same address.
        assert _register(c, "[::ffff:198.51.100.24]:4711").status_code == 201
    assert _address_buckets(shared_db, "203.0.113.17") == ["register:address:203.0.113.17"]
    assert _address_buckets(shared_db, "192.0.2.66") == []
    assert _address_buckets(shared_db, "198.51.100.23") == ["register:address:198.51.100.23"]
    assert _address_buckets(shared_db, "198.51.100.24") == ["register:address:198.51.100.24"]


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    start_app: AppFactory, db_url: str
) -> None:
    app = start_app(db_url, TICKETBOOK_FORWARDED_ALLOW_IPS="none")
    with app.client(address="127.0.0.1") as c:
        response = _register(c, "203.0.113.99")
        assert response.status_code == 201
        https = c.get("/concerts", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in https.headers
    assert _address_buckets(db_url, "203.0.113.99") == []
    assert _address_buckets(db_url, "127.0.0.1") == ["register:address:127.0.0.1"]


# --- bodies that don't parse -------------------------------------------------------------------


def _deep(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


UNPARSEABLE: dict[str, tuple[bytes, str | None]] = {
    "invalid UTF-8": (b'{"email": "\xff\xfe@example.com", "password": "x"}', "not valid UTF-8"),
    "truncated UTF-8": (b'{"ticketTierId": "a\xc3", "quantity": 1}', "not valid UTF-8"),
    "UTF-16": ('{"quantity": 1}'.encode("utf-16"), None),
    "10**5000 as a number": (b'{"quantity": 1' + b"0" * 5000 + b"}", "too many digits"),
    "10**5000 as a field": (b'{"email": ' + b"9" * 5001 + b', "password": "x"}', "too many digits"),
    "arrays 5000 deep": (_deep(5000, "array"), "nested too deeply"),
    "objects 5000 deep": (_deep(5000, "object"), "nested too deeply"),
    "arrays 900 deep": (_deep(900, "array"), None),
    "arrays 100 deep": (_deep(100, "array"), None),
    "not JSON": (b"{'quantity': 1}", "not valid JSON"),
    "a lone surrogate": (b'{"email": "\\ud800@example.com", "password": "x"}', None),
}


@pytest.fixture
def unchanged(shared_db: str) -> Iterator[None]:
    before = snapshot(shared_db)
    yield
    assert snapshot(shared_db) == before


@pytest.mark.parametrize("path", ["/api/bookings", "/api/auth/login", "/api/concerts"])
@pytest.mark.parametrize(("body", "words"), UNPARSEABLE.values(), ids=UNPARSEABLE.keys())
def test_a_body_that_does_not_parse_is_400_validation_error(
    client: httpx.Client,
    world: World,
    unchanged: None,
    path: str,
    body: bytes,
    words: str | None,
) -> None:
    auth = world.organizer if path == "/api/concerts" else world.fan
    headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    if path == "/api/auth/login":
        headers = {"Content-Type": "application/json"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 400, (response.status_code, response.text)
    answer = response.json()
    assert answer["success"] is False and answer["error"] == "VALIDATION_ERROR", answer
    assert answer["message"] and "error parsing" not in answer["message"], answer
    if words is not None:
        assert words in answer["message"], answer
