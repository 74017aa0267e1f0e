"""Hostile input on the auth, booking, concert and organizer routes: SQL injection, oversized
bodies, unicode tricks and NUL bytes. A value that is not valid for its field gets a clear
4xx (never a 5xx) and changes nothing; a value that is valid free text (a concert name, a
password) is stored as the text it is, and every table is still there afterwards.

Each refusal is checked against a snapshot of the database (tests/support/inventory.py)
taken before and after the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.accounts import (
    PASSWORD,
    login,
    new_concert_body,
    organizer,
    register,
    unique_email,
)
from tests.support.api import book
from tests.support.inprocess import InProcessApp
from tests.support.inventory import DATA_TABLES, fetchval, make_concert, snapshot

MAX_BODY_BYTES = 64 * 1024  # TICKETBOOK_MAX_BODY_BYTES' default

# These tests send dozens of wrong passwords for one account (the world's fan) on purpose, to
# see a plain 401 each time; the per-account sign-in limit (10 per 5 minutes) would answer 429
# first. Only that limit is lifted, for this module; test_rate_limits.py tests it.
APP_ENV = {"TICKETBOOK_RATE_LOGIN_PER_ACCOUNT": "off"}

SQL_INJECTIONS = (
    "' OR 1=1 --",
    "x'; DROP TABLE bookings; --",
    "'; DELETE FROM users WHERE ''='",
    '" OR ""="',
    "1) UNION SELECT email, password_hash FROM users --",
    "'; SELECT pg_sleep(10); --",
    "%' OR '1'='1",
)

TABLES = (*DATA_TABLES, "rate_limit_buckets", "alembic_version")


@dataclass(frozen=True)
class World:
    concert_id: str
    tier_id: str
    fan_id: str
    fan_email: str
    fan: dict[str, str]
    organizer: dict[str, str]
    own_concert_id: str
    booking_id: str


@pytest.fixture(scope="module")
def world(shared_app: InProcessApp, shared_db: str) -> World:
    concert = make_concert(shared_db, {"GA": 100})
    with shared_app.client() as c:
        email = unique_email("hostile")
        fan_id, fan = register(c, email)
        _, org = organizer(c, shared_db)
        own = c.post("/api/concerts", json=new_concert_body(), headers=org)
        assert own.status_code == 201, own.text
        booked = book(c, fan, concert["tiers"]["GA"])
        assert booked.status_code == 200, booked.text
    return World(
        concert_id=concert["id"],
        tier_id=concert["tiers"]["GA"],
        fan_id=fan_id,
        fan_email=email,
        fan=fan,
        organizer=org,
        own_concert_id=own.json()["data"]["id"],
        booking_id=booked.json()["booking"]["id"],
    )


def tables_exist(db: str) -> None:
    for table in TABLES:
        assert fetchval(db, "SELECT to_regclass($1) IS NOT NULL", f"public.{table}"), table


@contextmanager
def unchanged(db: str) -> Iterator[None]:
    """The block's requests leave every table as it was."""
    before = snapshot(db)
    yield
    tables_exist(db)
    assert snapshot(db) == before


def assert_refused(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["error"] and body["message"], body
    return body


def sign_up(client: httpx.Client, email: str, password: str) -> tuple[str, dict[str, str]]:
    response = client.post("/api/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["userId"], {"Authorization": f"Bearer {body['token']}"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


# --- SQL injection -----------------------------------------------------------------------------


@pytest.mark.parametrize("injection", SQL_INJECTIONS)
def test_sql_injection_in_sign_in_fields_is_refused(
    client: httpx.Client, shared_db: str, world: World, injection: str
) -> None:
    with unchanged(shared_db):
        for email in (injection, f"{injection}@example.com", f"{world.fan_email}{injection}"):
            register_response = client.post(
                "/api/auth/register", json={"email": email, "password": PASSWORD}
            )
            assert_refused(register_response, 400)
            assert_refused(login(client, email), 401)
        assert_refused(login(client, world.fan_email, injection), 401)
        assert_refused(login(client, world.fan_email, PASSWORD + injection), 401)


def test_sql_injection_that_is_a_valid_email_and_password_is_just_text(
    client: httpx.Client, shared_db: str
) -> None:
    """Quotes are allowed in an email's local part and anything in a password (stored only
    as an argon2id hash): such an account works, and only with exactly its credentials."""
    email = f"x'or'1'='1'--{uuid.uuid4().hex[:6]}@example.com"
    password = "x'; DROP TABLE bookings; --"
    user_id, _ = sign_up(client, email, password)
    signed_in = login(client, email, password)
    assert signed_in.status_code == 200, signed_in.text
    assert (signed_in.json()["userId"], signed_in.json()["email"]) == (user_id, email)
    with unchanged(shared_db):
        assert_refused(login(client, email, "' OR 1=1 --"), 401)
        assert_refused(login(client, email, password.upper()), 401)
        assert_refused(login(client, "x'or'1'='1'--@example.com", password), 401)


@pytest.mark.parametrize("injection", SQL_INJECTIONS)
def test_sql_injection_in_booking_fields_is_refused(
    client: httpx.Client, shared_db: str, world: World, injection: str
) -> None:
    valid = {"ticketTierId": world.tier_id, "quantity": 1}
    with unchanged(shared_db):
        for body, headers, status in (
            ({**valid, "ticketTierId": injection}, key(), 400),
            ({**valid, "idempotencyKey": injection}, {}, 400),
            (valid, {"Idempotency-Key": injection}, 400),
            ({**valid, "userId": injection}, key(), 403),
        ):
            response = client.post("/api/bookings", json=body, headers={**world.fan, **headers})
            assert_refused(response, status)


def _path_requests(w: World, value: str) -> list[tuple[str, str, dict[str, str]]]:
    v = quote(value, safe="")
    return [
        ("GET", f"/api/concerts/{v}", {}),
        ("GET", f"/api/concerts/{v}/events", {}),
        ("GET", f"/api/bookings/{v}", w.fan),
        ("POST", f"/api/bookings/{v}/cancel", w.fan),
        ("GET", f"/api/organizer/concerts/{v}/sales", w.organizer),
        ("GET", f"/api/organizer/concerts/{v}/sales.csv", w.organizer),
    ]


@pytest.mark.parametrize("injection", SQL_INJECTIONS)
def test_sql_injection_in_path_parameters_is_404(
    client: httpx.Client, shared_db: str, world: World, injection: str
) -> None:
    with unchanged(shared_db):
        for method, path, headers in _path_requests(world, injection):
            assert_refused(client.request(method, path, headers=headers), 404)


@pytest.mark.parametrize("injection", SQL_INJECTIONS)
def test_sql_injection_in_concert_text_is_stored_as_text(
    client: httpx.Client, shared_db: str, world: World, injection: str
) -> None:
    bookings = fetchval(shared_db, "SELECT count(*) FROM bookings")
    body = new_concert_body(
        name=injection, artist=injection, venue=injection, description=injection
    )
    created = client.post("/api/concerts", json=body, headers=world.organizer)
    assert created.status_code == 201, created.text
    concert = client.get(f"/api/concerts/{created.json()['data']['id']}").json()["data"]
    assert [concert[f] for f in ("name", "artist", "venue", "description")] == [injection] * 4
    tables_exist(shared_db)
    assert fetchval(shared_db, "SELECT count(*) FROM bookings") == bookings


@pytest.mark.parametrize("injection", SQL_INJECTIONS)
def test_sql_injection_in_concert_codes_is_refused(
    client: httpx.Client, shared_db: str, world: World, injection: str
) -> None:
    tier = {"tierType": "GA", "priceCents": 1000, "totalQuantity": 10}
    with unchanged(shared_db):
        for body in (
            new_concert_body(currency=injection),
            new_concert_body(date=injection),
            new_concert_body(ticketTiers=[{**tier, "tierType": injection}]),
        ):
            response = client.post("/api/concerts", json=body, headers=world.organizer)
            assert_refused(response, 400)


@pytest.mark.parametrize(
    "date",
    [
        "9999-12-31T23:59:59-01:00",  # the year 10000 in UTC, where the database keeps it
        "0001-01-01T00:00:00+01:00",  # the year 0 in UTC
        "9999-12-31T23:59:59.999999-23:59",
    ],
)
def test_dates_beyond_the_calendar_are_refused(
    client: httpx.Client, shared_db: str, world: World, date: str
) -> None:
    with unchanged(shared_db):
        response = client.post(
            "/api/concerts", json=new_concert_body(date=date), headers=world.organizer
        )
        assert_refused(response, 400)


def test_huge_and_odd_numbers_are_refused(
    client: httpx.Client, shared_db: str, world: World
) -> None:
    tier = {"tierType": "GA", "priceCents": 1000, "totalQuantity": 10}
    with unchanged(shared_db):
        for quantity in (10**40, -(10**40), 2**31, 2**63, 0, -1, 1.5, "1", True, None):
            body = {"ticketTierId": world.tier_id, "quantity": quantity}
            response = client.post("/api/bookings", json=body, headers={**world.fan, **key()})
            assert_refused(response, 400)
        for field, value in (
            ("priceCents", 10**40),
            ("priceCents", -1),
            ("priceCents", 2**31),
            ("totalQuantity", 10**40),
            ("totalQuantity", 0),
            ("totalQuantity", 2**63),
        ):
            body = new_concert_body(ticketTiers=[{**tier, field: value}])
            response = client.post("/api/concerts", json=body, headers=world.organizer)
            assert_refused(response, 400)
        for raw in (b'{"ticketTierId": "x", "quantity": 1e400}', b'{"quantity": NaN}'):
            response = client.post(
                "/api/bookings",
                content=raw,
                headers={**world.fan, **key(), "Content-Type": "application/json"},
            )
            assert_refused(response, 400)


# --- oversized bodies --------------------------------------------------------------------------


def _json_routes(w: World) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/api/auth/register", {}),
        ("/api/auth/login", {}),
        ("/api/bookings", {**w.fan, **key()}),
        ("/api/concerts", w.organizer),
    ]


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_bodies_over_the_limit_are_413(
    client: httpx.Client, shared_db: str, world: World, streamed: bool
) -> None:
    # Valid JSON that is too big: the limit, not the parser, must refuse it.
    padding = "x" * (MAX_BODY_BYTES + 1)
    payload = (
        f'{{"email": "{padding}@example.com", "password": "{PASSWORD}", '
        f'"name": "{padding}", "ticketTierId": "{world.tier_id}", "quantity": 1}}'
    ).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 8192):
            yield payload[start : start + 8192]

    with unchanged(shared_db):
        for path, headers in _json_routes(world):
            response = client.post(
                path,
                content=chunks() if streamed else payload,
                headers={**headers, "Content-Type": "application/json"},
            )
            body = assert_refused(response, 413)
            assert body["error"] == "PAYLOAD_TOO_LARGE"


def test_a_body_just_under_the_limit_is_read(client: httpx.Client, world: World) -> None:
    """The 413 above is the size limit, not something else about big bodies."""
    description = "d" * 1900
    body = new_concert_body(description=description)
    created = client.post("/api/concerts", json=body, headers=world.organizer)
    assert created.status_code == 201, created.text
    nearly = b" " * (MAX_BODY_BYTES - 200) + b'{"email": "x", "password": "y"}'
    assert len(nearly) <= MAX_BODY_BYTES
    response = client.post(
        "/api/auth/login", content=nearly, headers={"Content-Type": "application/json"}
    )
    assert_refused(response, 400, 401)
    assert response.status_code != 413


# --- unicode -----------------------------------------------------------------------------------


def fullwidth(text: str) -> str:
    """The fullwidth forms of printable ASCII (U+FF01..U+FF5E): NFKC maps them back."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def test_nfkc_equivalent_emails_are_one_account(client: httpx.Client, shared_db: str) -> None:
    local = f"fan-{uuid.uuid4().hex[:8]}"
    user_id, _ = register(client, f"{local}@example.com")
    for variant in (
        f"\uff26{local[1:]}@Example.com",  # a fullwidth F: "\uff26an-...@Example.com"
        f"{local.upper()}@EXAMPLE.COM",
        fullwidth(f"{local}@example.com"),
        f"  {local}@example.com ",
    ):
        signed_in = login(client, variant)
        assert signed_in.status_code == 200, (variant, signed_in.text)
        assert signed_in.json()["userId"] == user_id
        assert signed_in.json()["email"] == f"{local}@example.com"
        with unchanged(shared_db):
            taken = client.post("/api/auth/register", json={"email": variant, "password": PASSWORD})
            assert assert_refused(taken, 409)["error"] == "EMAIL_TAKEN"


def test_composed_and_decomposed_emails_are_one_account(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    user_id, _ = register(client, f"jos\u00e9-{tag}@example.com")  # é, one code point
    signed_in = login(client, f"jose\u0301-{tag}@example.com")  # e + combining acute
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["userId"] == user_id


@pytest.mark.parametrize(
    "email",
    [
        "fan\u202e@example.com",  # right-to-left override
        "f\u200ban@example.com",  # zero-width space
        "fan\u200d@example.com",  # zero-width joiner
        "fan@exam\u00adple.com",  # soft hyphen
        "\ufefffan@example.com",  # byte order mark
    ],
    ids=["rlo", "zwsp", "zwj", "shy", "bom"],
)
def test_invisible_characters_in_emails_are_refused(
    client: httpx.Client, shared_db: str, email: str
) -> None:
    with unchanged(shared_db):
        response = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        assert_refused(response, 400)
        assert_refused(login(client, email), 401)


def test_unicode_emails_and_passwords_round_trip(client: httpx.Client) -> None:
    email = f"🎸-{uuid.uuid4().hex[:6]}@example.com"
    password = "كلمة سر طويلة 🎶 שלום e\u0301"
    user_id, auth = sign_up(client, email, password)
    me = client.get("/api/auth/me", headers=auth)
    assert me.status_code == 200 and me.json()["email"] == email
    signed_in = login(client, email, password)
    assert signed_in.status_code == 200 and signed_in.json()["userId"] == user_id
    assert_refused(login(client, email, password.replace("🎶", "🎵")), 401)


@pytest.mark.parametrize(
    "name",
    [
        "🎸🔥 Live at the Loop 🎶",
        "حفلة موسيقية في القاهرة",  # Arabic, right to left
        "להקה חיה",  # Hebrew
        "Cafe\u0301 Ce\u0301le\u0301bration",  # combining accents
        "Z\u0351\u0308\u036ba\u0347lgo\u0362",  # stacked combining marks
        "Tour \u202eruoT",  # an explicit right-to-left override inside
        "音楽祭 \u2013 東京",
    ],
    ids=["emoji", "arabic", "hebrew", "combining", "zalgo", "rlo", "cjk"],
)
def test_unicode_concert_names_round_trip(client: httpx.Client, world: World, name: str) -> None:
    created = client.post(
        "/api/concerts", json=new_concert_body(name=name, artist=name), headers=world.organizer
    )
    assert created.status_code == 201, created.text
    concert = client.get(f"/api/concerts/{created.json()['data']['id']}").json()["data"]
    assert (concert["name"], concert["artist"]) == (name, name)


def test_unicode_in_ids_and_keys_is_refused(
    client: httpx.Client, shared_db: str, world: World
) -> None:
    valid = {"ticketTierId": world.tier_id, "quantity": 1}
    lookalike = world.tier_id.replace("-", "\u2010")  # hyphen, not hyphen-minus
    with unchanged(shared_db):
        for body in (
            {**valid, "ticketTierId": lookalike},
            {**valid, "ticketTierId": "🎫"},
            {**valid, "idempotencyKey": "🔑"},
        ):
            headers = {**world.fan, **({} if "idempotencyKey" in body else key())}
            assert_refused(client.post("/api/bookings", json=body, headers=headers), 400)
        for method, path, headers in _path_requests(world, "🎫"):
            assert_refused(client.request(method, path, headers=headers), 404)
        # Not Latin-1 text in a header: bytes the server must refuse, not decode.
        for authorization in (
            "Bearer tb_\u00e9\u00e9".encode("latin-1"),
            b"Bearer \xff\xfe\xfd",
            "Bearer tb_\u00e9".encode(),
            b"Bearer " + world.fan["Authorization"][7:].encode() + b"\xe9",
        ):
            me = client.get("/api/auth/me", headers={"Authorization": authorization})
            assert_refused(me, 401)


# --- NUL bytes ---------------------------------------------------------------------------------


def test_nul_bytes_in_sign_in_fields_are_refused(
    client: httpx.Client, shared_db: str, world: World
) -> None:
    with unchanged(shared_db):
        for email, password in (
            ("fan\u0000@example.com", PASSWORD),
            (f"{world.fan_email}\u0000", PASSWORD),
            ("\u0000", PASSWORD),
            (unique_email(), PASSWORD + "\u0000"),
            (unique_email(), "\u0000" * 20),
        ):
            credentials = {"email": email, "password": password}
            assert_refused(client.post("/api/auth/register", json=credentials), 400)
            assert_refused(login(client, email, password), 401)
        # The right email with a NUL in the password is a wrong password, nothing worse.
        assert_refused(login(client, world.fan_email, PASSWORD + "\u0000"), 401)


def test_nul_bytes_in_concert_fields_are_refused(
    client: httpx.Client, shared_db: str, world: World
) -> None:
    tier = {"tierType": "GA", "priceCents": 1000, "totalQuantity": 10}
    with unchanged(shared_db):
        for body in (
            new_concert_body(name="Night\u0000Fever"),
            new_concert_body(name="\u0000"),
            new_concert_body(artist="\u0000The Band"),
            new_concert_body(venue="Hall\u0000"),
            new_concert_body(description="Doors open at 8\u0000"),
            new_concert_body(currency="US\u0000"),
            new_concert_body(date="2031-06-01T20:00:00Z\u0000"),
            new_concert_body(ticketTiers=[{**tier, "tierType": "GA\u0000"}]),
        ):
            response = client.post("/api/concerts", json=body, headers=world.organizer)
            assert_refused(response, 400)


def test_nul_bytes_in_booking_fields_are_refused(
    client: httpx.Client, shared_db: str, world: World
) -> None:
    valid = {"ticketTierId": world.tier_id, "quantity": 1}
    fresh = str(uuid.uuid4())
    with unchanged(shared_db):
        for body, headers, status in (
            ({**valid, "ticketTierId": "\u0000"}, key(), 400),
            ({**valid, "ticketTierId": world.tier_id + "\u0000"}, key(), 400),
            ({**valid, "ticketTierId": "\u0000" + world.tier_id}, key(), 400),
            ({**valid, "idempotencyKey": "\u0000"}, {}, 400),
            ({**valid, "idempotencyKey": fresh + "\u0000"}, {}, 400),
            ({**valid, "idempotencyKey": fresh + "\u0000"}, {"Idempotency-Key": fresh}, 400),
            ({**valid, "userId": world.fan_id + "\u0000"}, key(), 403),
        ):
            response = client.post("/api/bookings", json=body, headers={**world.fan, **headers})
            assert_refused(response, status)
        for method, path, headers in _path_requests(world, "\u0000"):
            assert_refused(client.request(method, path, headers=headers), 404)
        for method, path, headers in _path_requests(world, world.booking_id + "\u0000"):
            assert_refused(client.request(method, path, headers=headers), 404)


# NUL bytes in raw headers never reach the app (uvicorn's parser refuses them): that test
# sends bytes over a socket to a real server, in tests/system/test_raw_http.py.
