"""Bad input always gets a clear 4xx with a JSON message, never a 5xx, and never changes data.

Every case sends one request to the app (in-process) and compares a snapshot of the database
(users, concerts, tiers, bookings, payments, idempotency keys, availability, statuses)
taken before and after it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.inprocess import InProcessApp
from tests.support.inventory import fetch, make_concert, snapshot

TIER_QUANTITY = 50
MB = 1024 * 1024


@dataclass(frozen=True)
class World:
    """A concert with tickets, and a signed-in caller plus one other user."""

    concert_id: str
    tier_id: str
    user_id: str
    token: str
    other_user_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def world(shared_app: InProcessApp, shared_db: str) -> World:
    concert = make_concert(shared_db, {"GA": TIER_QUANTITY})
    with shared_app.client() as c:
        me = c.post("/api/auth/guest").json()
        other = c.post("/api/auth/guest").json()
    return World(
        concert_id=concert["id"],
        tier_id=concert["tiers"]["GA"],
        user_id=me["userId"],
        token=me["token"],
        other_user_id=other["userId"],
    )


# --- building requests -------------------------------------------------------------------------

DROP = object()  # a field value meaning "leave this field out"
FRESH = object()  # an Idempotency-Key value meaning "a new random UUID"


def body(w: World, **fields: Any) -> dict[str, Any]:
    """The valid body, with fields overridden (or left out with DROP)."""
    base: dict[str, Any] = {"ticketTierId": w.tier_id, "quantity": 1}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not DROP}


def request(
    w: World,
    json_body: Any = DROP,
    *,
    content: bytes | Iterator[bytes] | None = None,
    content_type: str | None = "application/json",
    key: Any = FRESH,
    auth: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `client.post("/api/bookings", ...)`."""
    headers: dict[str, Any] = dict(w.auth if auth is None else auth)
    if key is FRESH:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    elif key is not DROP:
        headers["Idempotency-Key"] = key
    if content_type is not None:
        headers["Content-Type"] = content_type
    if content is None:
        payload = body(w) if json_body is DROP else json_body
        content = json.dumps(payload).encode()
    return {"content": content, "headers": headers}


def tampered(token: str) -> str:
    payload, _, signature = token.partition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{payload}.{flipped}"


def forged(token: str) -> str:
    """Another user's id with this token's (valid, but not matching) signature."""
    _, _, signature = token.partition(".")
    return f"{uuid.uuid4().hex}.{signature}"


def chunks(size: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A body with no Content-Length (chunked), as a streaming client sends it."""
    yield b'{"ticketTierId": "'
    sent = 0
    while sent < size:
        yield b"x" * chunk
        sent += chunk
    yield b'", "quantity": 1}'


Builder = Callable[[World], dict[str, Any]]


def case(builder: Builder, status: int, id: str) -> Any:
    return pytest.param(builder, status, id=id)


BAD_REQUESTS = [
    # quantity
    case(lambda w: request(w, body(w, quantity=0)), 400, "quantity-0"),
    case(lambda w: request(w, body(w, quantity=11)), 400, "quantity-11"),
    case(lambda w: request(w, body(w, quantity=2.5)), 400, "quantity-2.5"),
    case(lambda w: request(w, body(w, quantity="2")), 400, "quantity-string"),
    case(lambda w: request(w, body(w, quantity=-1)), 400, "quantity-negative"),
    case(lambda w: request(w, body(w, quantity=True)), 400, "quantity-true"),
    case(lambda w: request(w, body(w, quantity=None)), 400, "quantity-null"),
    case(lambda w: request(w, body(w, quantity=10**30)), 400, "quantity-huge"),
    case(lambda w: request(w, body(w, quantity=[1])), 400, "quantity-array"),
    case(lambda w: request(w, body(w, quantity={"n": 1})), 400, "quantity-object"),
    case(
        lambda w: request(
            w, content=b'{"ticketTierId": "%s", "quantity": 1e400}' % w.tier_id.encode()
        ),
        400,
        "quantity-infinity",
    ),
    case(
        lambda w: request(
            w, content=b'{"ticketTierId": "%s", "quantity": NaN}' % w.tier_id.encode()
        ),
        400,
        "quantity-nan",
    ),
    # missing and unknown fields
    case(lambda w: request(w, body(w, ticketTierId=DROP)), 400, "missing-ticketTierId"),
    case(lambda w: request(w, body(w, quantity=DROP)), 400, "missing-quantity"),
    case(lambda w: request(w, body(w, seat="A1")), 400, "unknown-field"),
    case(lambda w: request(w, body(w, price=0)), 400, "unknown-field-price"),
    case(
        lambda w: request(
            w,
            content=b'{"ticketTierId": "%s", "quantity": 1, "\\ud800": 1}' % w.tier_id.encode(),
        ),
        400,
        "unknown-field-lone-surrogate",
    ),
    # ticketTierId
    case(lambda w: request(w, body(w, ticketTierId="abc")), 400, "tier-abc"),
    case(lambda w: request(w, body(w, ticketTierId="1 OR 1=1")), 400, "tier-sql-or"),
    case(
        lambda w: request(w, body(w, ticketTierId="'; DROP TABLE bookings; --")),
        400,
        "tier-sql-drop",
    ),
    case(lambda w: request(w, body(w, ticketTierId="")), 400, "tier-empty"),
    case(lambda w: request(w, body(w, ticketTierId="a" * 65)), 400, "tier-too-long"),
    case(lambda w: request(w, body(w, ticketTierId=w.tier_id + "\u0000")), 400, "tier-nul"),
    case(lambda w: request(w, body(w, ticketTierId=12345)), 400, "tier-number"),
    case(lambda w: request(w, body(w, ticketTierId=None)), 400, "tier-null"),
    case(lambda w: request(w, body(w, ticketTierId=[w.tier_id])), 400, "tier-array"),
    # the body as a whole
    case(
        lambda w: request(w, body(w, ticketTierId="x" * MB)),
        413,
        "body-1MB",
    ),
    case(lambda w: request(w, content=chunks(MB)), 413, "body-1MB-chunked"),
    case(
        lambda w: request(w, content=json.dumps(body(w)).encode(), content_type="text/plain"),
        415,
        "content-type-text-plain",
    ),
    case(
        lambda w: request(w, content=json.dumps(body(w)).encode(), content_type=None),
        415,
        "content-type-missing",
    ),
    case(
        lambda w: request(
            w,
            content=b"ticketTierId=%s&quantity=1" % w.tier_id.encode(),
            content_type="application/x-www-form-urlencoded",
        ),
        415,
        "content-type-form",
    ),
    case(lambda w: request(w, content=b'{"ticketTierId": '), 400, "invalid-json"),
    case(lambda w: request(w, content=b"{'quantity': 1}"), 400, "invalid-json-single-quotes"),
    case(lambda w: request(w, content=b'{"quantity": "\xff\xfe"}'), 400, "invalid-utf8"),
    case(lambda w: request(w, content=b"[" * 20000 + b"]" * 20000), 400, "deeply-nested-json"),
    case(lambda w: request(w, [body(w)]), 400, "json-array"),
    case(lambda w: request(w, "book me"), 400, "json-string"),
    case(lambda w: request(w, None), 400, "json-null"),
    case(lambda w: request(w, content=b""), 400, "empty-body"),
    # idempotency key
    case(lambda w: request(w, key=DROP), 400, "key-missing"),
    case(lambda w: request(w, key="not-a-uuid"), 400, "key-not-uuid"),
    case(lambda w: request(w, key=""), 400, "key-empty"),
    case(lambda w: request(w, key="1" * 65), 400, "key-too-long"),
    case(
        lambda w: request(w, body(w, idempotencyKey=str(uuid.uuid4()))),
        400,
        "key-header-and-body-disagree",
    ),
    case(
        lambda w: request(w, body(w, idempotencyKey="not-a-uuid"), key=DROP),
        400,
        "key-body-not-uuid",
    ),
    case(lambda w: request(w, body(w, idempotencyKey=12345), key=DROP), 400, "key-body-number"),
    # somebody else's userId
    case(lambda w: request(w, body(w, userId=w.other_user_id)), 403, "userId-someone-else"),
    case(lambda w: request(w, body(w, userId=str(uuid.uuid4()))), 403, "userId-unknown"),
    case(lambda w: request(w, body(w, userId="not-a-uuid")), 403, "userId-not-uuid"),
    # authentication
    case(lambda w: request(w, auth={}), 401, "no-token"),
    case(
        lambda w: request(w, auth={"Authorization": f"Bearer {tampered(w.token)}"}),
        401,
        "tampered-token",
    ),
    case(
        lambda w: request(w, auth={"Authorization": f"Bearer {forged(w.token)}"}),
        401,
        "forged-token-other-user",
    ),
    case(lambda w: request(w, auth={"Authorization": "Bearer"}), 401, "empty-token"),
    case(lambda w: request(w, auth={"Authorization": w.token}), 401, "token-without-scheme"),
    case(lambda w: request(w, auth={"Authorization": f"Basic {w.token}"}), 401, "basic-scheme"),
    case(
        lambda w: request(w, auth={"Authorization": b"Bearer abc.\xe9\xe9"}),
        401,
        "token-non-ascii",
    ),
    case(
        lambda w: request(w, auth={"Authorization": f"Bearer {w.token}{'x' * 300}"}),
        401,
        "token-too-long",
    ),
]


def assert_clear_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    payload = response.json()
    assert isinstance(payload, dict), payload
    assert payload["success"] is False, payload
    message = payload["message"]
    assert isinstance(message, str) and len(message.strip()) >= 5, payload
    assert "something went wrong" not in message.lower(), payload
    return payload


@pytest.mark.parametrize(("build", "status"), BAD_REQUESTS)
def test_bad_booking_request_is_refused_and_changes_nothing(
    client: httpx.Client, shared_db: str, world: World, build: Builder, status: int
) -> None:
    before = snapshot(shared_db)
    response = client.post("/api/bookings", **build(world))
    assert_clear_error(response, status)
    assert snapshot(shared_db) == before


def test_the_valid_baseline_request_books(
    client: httpx.Client, shared_db: str, world: World
) -> None:
    """The cases above differ from this request in one thing only, and this one succeeds."""
    before = snapshot(shared_db)
    response = client.post("/api/bookings", **request(world))
    assert response.status_code == 200, response.text
    assert response.json()["booking"]["status"] == "CONFIRMED"
    after = snapshot(shared_db)
    assert after["bookings"] == before["bookings"] + 1
    assert after["payments"] == before["payments"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1
    assert after["available"] == before["available"] - 1


def test_unknown_tier_is_404_and_only_remembers_the_key(
    client: httpx.Client, shared_db: str, world: World
) -> None:
    before = snapshot(shared_db)
    key = str(uuid.uuid4())
    unknown = str(uuid.uuid4())
    response = client.post(
        "/api/bookings", **request(world, body(world, ticketTierId=unknown), key=key)
    )
    assert_clear_error(response, 404)

    after = snapshot(shared_db)
    assert {k: v for k, v in after.items() if k != "idempotency_keys"} == {
        k: v for k, v in before.items() if k != "idempotency_keys"
    }
    # The key remembers its answer, so a retry gets the same 404 and still books nothing.
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1
    stored = fetch(
        shared_db,
        "SELECT outcome, booking_id FROM idempotency_keys WHERE key = $1",
        uuid.UUID(key),
    )
    assert [(r["outcome"], r["booking_id"]) for r in stored] == [("unknown_tier", None)]

    replay = client.post(
        "/api/bookings", **request(world, body(world, ticketTierId=unknown), key=key)
    )
    assert_clear_error(replay, 404)
    assert snapshot(shared_db) == after


@pytest.mark.parametrize(
    ("method", "path", "authed"),
    [
        pytest.param("GET", "/api/concerts/not-a-uuid", False, id="concert-not-uuid"),
        pytest.param("GET", "/api/concerts/1%20OR%201=1", False, id="concert-sql"),
        pytest.param("GET", f"/api/concerts/{uuid.uuid4()}", False, id="concert-unknown"),
        pytest.param("GET", "/api/bookings/not-a-uuid", True, id="bookings-of-not-uuid"),
        pytest.param("POST", "/api/bookings/not-a-uuid/cancel", True, id="cancel-not-uuid"),
        pytest.param("POST", f"/api/bookings/{uuid.uuid4()}/cancel", True, id="cancel-unknown"),
    ],
)
def test_malformed_or_unknown_ids_in_paths_are_404(
    client: httpx.Client, shared_db: str, world: World, method: str, path: str, authed: bool
) -> None:
    before = snapshot(shared_db)
    response = client.request(method, path, headers=world.auth if authed else {})
    assert_clear_error(response, 404)
    assert snapshot(shared_db) == before


def test_unknown_path_and_wrong_method_are_clear_json_errors(
    client: httpx.Client, shared_db: str, world: World
) -> None:
    before = snapshot(shared_db)
    assert_clear_error(client.get("/api/no-such-thing"), 404)
    assert_clear_error(client.delete(f"/api/concerts/{world.concert_id}"), 405)
    assert snapshot(shared_db) == before
