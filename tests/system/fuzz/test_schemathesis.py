"""Schemathesis fuzzes the JSON API exactly as the committed OpenAPI document describes it.

The document is docs/openapi.json as committed (tests/http/test_openapi.py keeps it equal to what
the code generates); the server is a real `ticketbook serve` on a fresh migrated database
with the demo concerts, a sold-out tier, an organizer's own concert and a few bookings.
Payments always succeed and the abuse limits are lifted (LiveServer's defaults).

Every operation gets Schemathesis's examples, coverage and fuzzing cases, valid and invalid.
Most are sent with a fan's bearer token (an organizer's for the operations tagged
"organizer"; a fresh session of its own for each logout, which revokes it); a few with no
token, a bad one or the other role's, so both the signed-in code and the 401/403 answers
run. Path parameters, the booked tier, the idempotency key and sign-in emails are replaced
by real ones in most cases (chosen by a hash of the generated case, so a case is always sent
the same way), so requests get past the "no such id" answers to the code behind them.

Each response must:

- not be a 5xx (not_a_server_error);
- have a status code, content type, headers and body the document declares for this
  operation (status_code_conformance, content_type_conformance,
  response_headers_conformance, response_schema_conformance);
- where the document requires a bearer token, be refused without one or with a bad one
  (ignored_auth probes that once a case succeeds);
- when it refuses the request (status >= 400), leave the data as it was
  (rejected_request_changed_nothing, below).

The run is bounded (MAX_EXAMPLES fuzzed cases per operation, plus the coverage cases) and
reproducible: Hypothesis is derandomized and Schemathesis seeded, so the same command on the
same code sends the same cases. (Hypothesis also mixes in literals from the project's
modules it sees loaded, so `pytest tests/system/fuzz` and `make test` send slightly different
cases; each sends its own again on every run.) A failure names the check and prints a curl
line that replays the request (the bearer token is masked: use a token of your own). At the
end the module prints one line: operations, cases, failures; with -v a line per operation.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.databases import DatabaseFactory
from tests.support.inventory import DATA_TABLES, execute, make_concert
from tests.support.server import CHEAP_HASHING, NO_ABUSE_LIMITS, LiveServer
from ticketbook.catalog.demo import seed

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"
DOCUMENT: dict[str, Any] = json.loads(COMMITTED.read_text())

# Fuzzed cases per operation (the examples and coverage phases add their own, a few dozen).
MAX_EXAMPLES = int(os.environ.get("TICKETBOOK_FUZZ_EXAMPLES", "40"))

schema = schemathesis.openapi.from_path(
    COMMITTED,
    config=schemathesis.Config.from_dict(
        {
            "seed": 20261201,
            # The live-availability stream never ends: one event is enough to check it.
            "max-stream-events": 1,
            "request-timeout": 10,
        }
    ),
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]

FAN_PASSWORD = "correct horse battery staple 1"
ORGANIZER_PASSWORD = "stage lights and a loud crowd 2"
NEW_ACCOUNT_PASSWORD = "a brand new passphrase 7"
KEY_NAMESPACE = uuid.UUID("6f0c2b7e-3d4a-4f55-9a51-8f3f8c1d2e10")

# --- the data a refused request must leave alone ------------------------------------------


def _digest(table: str, where: str = "") -> str:
    return (
        f"(SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
        f" FROM {table} t {where}) AS {table}"
    )


# One round trip: a count and a checksum of every row of every table. The rows of the
# idempotency key the request carries ($1) are left out of the checksum and returned as
# they are, so the one documented exception below can be checked exactly.
SNAPSHOT_SQL = (
    "SELECT "
    + ", ".join(
        _digest(t, "WHERE t.key IS DISTINCT FROM $1::uuid" if t == "idempotency_keys" else "")
        for t in DATA_TABLES
    )
    + ", (SELECT coalesce(jsonb_agg(jsonb_build_object('user', k.user_id, 'outcome',"
    " k.outcome, 'booking', k.booking_id)"
    " ORDER BY k.id), '[]')::text FROM idempotency_keys k WHERE k.key = $1::uuid) AS this_key"
)

# The answers POST /api/bookings stores with the idempotency key although it books nothing,
# so that a retry with the key gets the same answer (docs/api.md "Idempotency"; tests:
# test_invalid_input.py::test_unknown_tier_is_404_and_only_remembers_the_key).
# (status, error code) -> the outcome the key stores.
STORED_REJECTIONS = {
    (404, "TIER_NOT_FOUND"): "unknown_tier",
    (409, "SOLD_OUT"): "sold_out",
    (409, "CONCERT_STARTED"): "concert_over",
    (409, "TICKET_LIMIT_REACHED"): "ticket_cap",
    # Reserved seats: a named seat sold, none together, a code not of the tier's zone, seats
    # asked of a general-admission tier.
    (409, "SEAT_TAKEN"): "seat_taken",
    (409, "NOT_TOGETHER"): "not_together",
    (404, "SEAT_NOT_FOUND"): "unknown_seat",
    (409, "NOT_SEATED"): "not_seated",
}


@dataclass
class Account:
    user_id: str
    email: str
    password: str
    token: str


@dataclass
class Stats:
    cases: Counter[str] = field(default_factory=Counter)
    by_operation: dict[str, Counter[int]] = field(default_factory=dict)
    seconds: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failed_cases: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    setup_s: float = 0.0

    def breakdown(self) -> str:
        return "\n".join(
            f"  {label}: {n} cases, {self.seconds[label]:.1f} s, statuses "
            + " ".join(f"{s}:{c}" for s, c in sorted(self.by_operation[label].items()))
            for label, n in sorted(self.cases.items())
        )

    def summary(self) -> str:
        return (
            f"schemathesis: {len(self.cases)} operations, {sum(self.cases.values())} cases, "
            f"{sum(self.failed_cases.values())} failures "
            f"({len(self.failed_cases)} operations failing; shrinking a failure adds cases) in "
            f"{time.monotonic() - self.started:.1f} s (setup {self.setup_s:.1f} s); statuses "
            + " ".join(f"{s}:{n}" for s, n in sorted(self.statuses.items()))
        )


STATS = Stats()


@dataclass
class World:
    base_url: str
    http: httpx.Client
    fan: Account
    organizer: Account
    other_user_id: str
    # Garbage, a revoked session, a forged signature, and a guest who registered since (its
    # signature is still good, its user is gone): each case with a "bad token" picks one.
    bad_tokens: list[str]
    concert_ids: list[str]
    tier_ids: list[str]
    booking_ids: list[str]
    loop: asyncio.AbstractEventLoop
    conn: asyncpg.Connection
    pending_check: Callable[..., None] = lambda *_: None

    # --- filling in cases ------------------------------------------------------------------

    def ids_for(self, parameter: str) -> list[str]:
        unknown = str(uuid.UUID(int=1))
        return {
            "concert_id": [*self.concert_ids, unknown],
            "booking_id": [*self.booking_ids, unknown],
            "user_id": [self.fan.user_id, self.other_user_id, self.organizer.user_id],
        }.get(parameter, [])

    def prepare(self, case: schemathesis.Case) -> None:
        """Make the case reach deep code part of the time, and give it its Authorization."""
        choice = _Choice(case)
        label = _label(case)
        # Copies: Hypothesis sends an explicit example's very objects again when it replays.
        path_parameters = dict(case.path_parameters or {})
        for name in path_parameters:
            pool = self.ids_for(name)
            if pool and choice.take(4) != 0:  # 3 cases in 4: a real id, or a well-formed unknown
                path_parameters[name] = pool[choice.take(len(pool))]
        if path_parameters:
            case.path_parameters = path_parameters
        body = copy.deepcopy(case.body) if isinstance(case.body, dict) else None
        if body is not None:
            case.body = body
        if label == "POST /api/bookings":
            self._booking(case, body, choice)
        elif label in ("POST /api/auth/register", "POST /api/auth/login") and body is not None:
            self._credentials(label, body, choice)
        elif label == "POST /api/concerts" and body is not None and choice.take(2) == 0:
            body["date"] = (datetime.now(UTC) + timedelta(days=1 + choice.take(400))).isoformat()
        headers = dict(case.headers or {})
        headers.pop("Authorization", None)
        headers.update(self._auth(case, label, choice))
        case.headers = headers

    def _booking(
        self, case: schemathesis.Case, body: dict[str, Any] | None, choice: _Choice
    ) -> None:
        key = None
        if choice.take(4) != 0:
            # A key of its own for each distinct case; a case sent again replays its answer.
            key = str(uuid.uuid5(KEY_NAMESPACE, choice.text))
            case.headers = {**(case.headers or {}), "Idempotency-Key": key}
        if body is None:
            return
        if "ticketTierId" in body and choice.take(4) != 0:
            body["ticketTierId"] = self.tier_ids[choice.take(len(self.tier_ids))]
        if "idempotencyKey" in body and key is not None and choice.take(2) == 0:
            body["idempotencyKey"] = key
        if "userId" in body and choice.take(2) == 0:
            body["userId"] = self.fan.user_id

    def _credentials(self, label: str, body: dict[str, Any], choice: _Choice) -> None:
        if label == "POST /api/auth/register":
            if "email" in body and choice.take(2) == 0:
                body["email"] = f"fuzz-{choice.value:08x}@example.com"
            if "password" in body and choice.take(2) == 0:
                body["password"] = NEW_ACCOUNT_PASSWORD
        else:
            if "email" in body and choice.take(3) != 0:
                body["email"] = self.fan.email
            if "password" in body and choice.take(2) == 0:
                body["password"] = self.fan.password

    def _auth(self, case: schemathesis.Case, label: str, choice: _Choice) -> dict[str, str]:
        """The Authorization header to send. Schemathesis generates one (a random bearer
        token) for the operations that declare the scheme: it varies the cases of those
        without parameters, and it is sent as it is in some of the bad-token cases."""
        operation = _definition(case)
        generated = (case.headers or {}).get("Authorization")
        if not operation.get("security"):
            return {}
        pick = choice.take(10)
        if pick == 0:
            return {}
        if pick == 1:
            if generated is not None and choice.take(2) == 0:
                return {"Authorization": str(generated)}
            return {"Authorization": self.bad_tokens[choice.take(len(self.bad_tokens))]}
        if label == "POST /api/auth/logout":
            # Logout revokes the token it is sent with: a session of its own for every case.
            token = self._login(self.fan) if pick > 2 else self._guest()
        elif label in ("POST /api/auth/register", "POST /api/auth/login"):
            # A guest signing up or in brings its bookings along; a signed-in account may
            # not register another.
            token = self._guest() if pick > 4 else self.fan.token
        elif "organizer" in operation.get("tags", ()):
            token = self.fan.token if pick == 2 else self.organizer.token
        else:
            token = self.organizer.token if pick == 2 else self.fan.token
        return {"Authorization": f"Bearer {token}"}

    def _login(self, account: Account) -> str:
        response = self.http.post(
            "/api/auth/login", json={"email": account.email, "password": account.password}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    def _guest(self) -> str:
        response = self.http.post("/api/auth/guest")
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    def learn(self, case: schemathesis.Case, response: schemathesis.Response) -> None:
        """Ids the API hands out become path parameters of later cases."""
        if response.status_code not in (200, 201):
            return
        label = _label(case)
        try:
            body = response.json()
        except ValueError:
            return
        if label == "POST /api/bookings" and isinstance(body.get("booking"), dict):
            self.booking_ids.append(body["booking"]["id"])
        elif label == "POST /api/concerts" and isinstance(body.get("data"), dict):
            self.concert_ids.append(body["data"]["id"])

    # --- the data check ----------------------------------------------------------------------

    def snapshot(self, key: uuid.UUID | None) -> dict[str, str]:
        row = self.loop.run_until_complete(self.conn.fetchrow(SNAPSHOT_SQL, key))
        return dict(row)

    def data_check(self, case: schemathesis.Case) -> Callable[..., None]:
        key = _sent_key(case)
        before = self.snapshot(key)

        def rejected_request_changed_nothing(
            ctx: Any, response: schemathesis.Response, case: schemathesis.Case
        ) -> None:
            status = response.status_code
            # A 402 is a finished attempt, not a refusal: it records the FAILED booking and
            # its payment by design. (Payments always succeed here, so none should occur.)
            if status < 400 or status == 402:
                return
            after = self.snapshot(key)
            changed = [t for t in DATA_TABLES if after[t] != before[t]]
            if after["this_key"] != before["this_key"] and not _stored_rejection(
                case, response, json.loads(before["this_key"]), json.loads(after["this_key"])
            ):
                changed.append(f"idempotency_keys (key {key})")
            if changed:
                raise AssertionError(
                    f"A refused request ({status}) changed the data: {', '.join(changed)}"
                )

        return rejected_request_changed_nothing


def _stored_rejection(
    case: schemathesis.Case,
    response: schemathesis.Response,
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
) -> bool:
    """True when the only change is the documented one: POST /api/bookings refused for the
    tier or its seats (STORED_REJECTIONS) and the key now remembers that answer."""
    if _label(case) != "POST /api/bookings":
        return False
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return False
    outcome = STORED_REJECTIONS.get((response.status_code, error))
    if outcome is None:
        return False
    added = [row for row in after if row not in before]
    return (
        len(after) == len(before) + 1
        and all(row in after for row in before)
        and len(added) == 1
        and added[0]["outcome"] == outcome
        and added[0]["booking"] is None
    )


class _Choice:
    """Deterministic choices for one case, from a hash of what Schemathesis generated."""

    def __init__(self, case: schemathesis.Case) -> None:
        # No body is NOT_SET, whose repr shows its address: say None, the same in every run.
        body = case.body if isinstance(case.body, (dict, list, str, bytes, int, float)) else None
        self.text = repr((_label(case), case.path_parameters, case.headers, case.query, body))
        self.value = zlib.crc32(self.text.encode("utf-8", "surrogatepass"))
        self._state = self.value

    def take(self, n: int) -> int:
        self._state = zlib.crc32(self._state.to_bytes(4, "big"), self.value)
        return self._state % n


def _label(case: schemathesis.Case) -> str:
    return f"{case.operation.method.upper()} {case.operation.path}"


def _definition(case: schemathesis.Case) -> dict[str, Any]:
    operation: dict[str, Any] = DOCUMENT["paths"][case.operation.path][
        case.operation.method.lower()
    ]
    return operation


def _sent_key(case: schemathesis.Case) -> uuid.UUID | None:
    """The idempotency key this case sends, if it is a UUID (else none can be stored)."""
    candidates = [(case.headers or {}).get("Idempotency-Key")]
    if isinstance(case.body, dict):
        candidates.append(case.body.get("idempotencyKey"))
    for raw in candidates:
        if isinstance(raw, str):
            try:
                return uuid.UUID(raw.strip())
            except ValueError:
                continue
    return None


# --- the world -----------------------------------------------------------------------------


def _cli(db_url: str, data_dir: Path, *args: str, stdin: str = "") -> None:
    env = {
        **os.environ,
        **CHEAP_HASHING,
        "DATABASE_URL": db_url,
        "TICKETBOOK_DATA_DIR": str(data_dir),
    }
    result = subprocess.run(
        [sys.executable, "-m", "ticketbook.cli.main", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


async def _seed_demo(db_url: str) -> int:
    """The demo concerts (what `ticketbook seed` loads)."""
    conn = await asyncpg.connect(db_url)
    try:
        return await seed(conn, reset=False, if_empty=False)
    finally:
        await conn.close()


def _sign_in(http: httpx.Client, path: str, email: str, password: str, **kw: Any) -> Account:
    response = http.post(path, json={"email": email, "password": password}, **kw)
    assert response.status_code in (200, 201), response.text
    body = response.json()
    return Account(body["userId"], body["email"], password, body["token"])


def _book(http: httpx.Client, token: str, tier_id: str) -> str:
    response = http.post(
        "/api/bookings",
        json={"ticketTierId": tier_id, "quantity": 1},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["booking"]["id"])


@pytest.fixture(scope="module")
def world(
    databases: DatabaseFactory, data_dir: Path, request: pytest.FixtureRequest
) -> Iterator[World]:
    STATS.started = time.monotonic()
    db_url = databases.fresh()
    assert asyncio.run(_seed_demo(db_url)) > 0
    sold_out = make_concert(db_url, {"GA": 1})
    started = make_concert(db_url, {"VIP": 5})  # tickets off sale: it began an hour ago
    execute(
        db_url,
        "UPDATE concerts SET starts_at = now() - interval '1 hour' WHERE id = $1",
        uuid.UUID(started["id"]),
    )
    _cli(
        db_url,
        data_dir,
        "user",
        "create",
        "--organizer",
        "--password-stdin",
        "organizer@example.com",
        stdin=ORGANIZER_PASSWORD + "\n",
    )
    # One worker: the cases are sent one at a time, and it starts in half the time. The abuse
    # limits are lifted: thousands of cases from one address and a few accounts would mostly
    # meet a 429, and the fuzzer would test the limiter instead of the API.
    server = LiveServer(
        db_url, data_dir, {"TICKETBOOK_PAYMENT_SUCCESS_RATE": "1", **NO_ABUSE_LIMITS}, workers=1
    ).start()
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(db_url))
    http = httpx.Client(base_url=server.base_url, timeout=30)
    try:
        fan = _sign_in(http, "/api/auth/register", "fan@example.com", FAN_PASSWORD)
        organizer = _sign_in(http, "/api/auth/login", "organizer@example.com", ORGANIZER_PASSWORD)
        own = http.post(
            "/api/concerts",
            json={
                "name": "Organizer's own",
                "artist": "Fuzz",
                "venue": "Hall",
                "date": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
                "ticketTiers": [{"tierType": "GA", "priceCents": 2500, "totalQuantity": 500}],
            },
            headers={"Authorization": f"Bearer {organizer.token}"},
        )
        assert own.status_code == 201, own.text
        concerts = http.get("/api/concerts").json()["data"]
        tier_ids = [t["id"] for c in concerts for t in c["ticketTiers"]]

        other = http.post("/api/auth/guest").json()
        other_booking = _book(http, other["token"], tier_ids[0])
        fan_bookings = [_book(http, fan.token, tier) for tier in tier_ids[:3]]
        cancelled = http.post(
            f"/api/bookings/{fan_bookings[-1]}/cancel",
            headers={"Authorization": f"Bearer {fan.token}"},
        )
        assert cancelled.status_code == 200, cancelled.text
        _book(http, fan.token, sold_out["tiers"]["GA"])  # the tier is sold out now

        revoked = _sign_in(http, "/api/auth/login", fan.email, fan.password).token
        http.post("/api/auth/logout", headers={"Authorization": f"Bearer {revoked}"})
        # A guest that registered: its (validly signed) token names a user that is gone.
        moved_guest = http.post("/api/auth/guest").json()["token"]
        _sign_in(
            http,
            "/api/auth/register",
            "moved@example.com",
            FAN_PASSWORD,
            headers={"Authorization": f"Bearer {moved_guest}"},
        )
        bad_tokens = [
            "Bearer not-a-token",
            f"Bearer {revoked}",
            f"Bearer {moved_guest}",
            f"Bearer {other['token'][:-2]}xx",
            "Bearer tb_" + "A" * 43,
            "Basic Zm9vOmJhcg==",
            "Bearer",
        ]
        STATS.setup_s = time.monotonic() - STATS.started
        world = World(
            base_url=server.base_url,
            http=http,
            fan=fan,
            organizer=organizer,
            other_user_id=other["userId"],
            bad_tokens=bad_tokens,
            concert_ids=[*(c["id"] for c in concerts), started["id"]],
            # Each of the answers a key remembers: sold out, off sale, no such tier.
            tier_ids=[
                *tier_ids,
                sold_out["tiers"]["GA"],
                started["tiers"]["VIP"],
                str(uuid.UUID(int=2)),
            ],
            booking_ids=[*fan_bookings, other_booking],
            loop=loop,
            conn=conn,
        )
        _WORLD.append(world)
        yield world
    finally:
        _WORLD.clear()
        http.close()
        loop.run_until_complete(conn.close())
        loop.close()
        server.stop()
        _report(request.config)


def _report(config: pytest.Config) -> None:
    """The summary line (with -v, a line per operation too), past pytest's output capture."""
    lines = [STATS.breakdown()] if config.get_verbosity() > 0 else []
    lines.append(STATS.summary())
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(line)


_WORLD: list[World] = []  # the module's world, for the hook below


@schemathesis.hook  # before_call hooks are global: this one acts while the world is up
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]
) -> None:
    """Fill the case in just before it is sent: Schemathesis then re-reads what it will
    send (a header it meant to leave out, now set, is sent), and the snapshot of the data
    is taken after any session or guest the case needed was made."""
    if not _WORLD:
        return
    world = _WORLD[-1]
    world.prepare(case)
    world.pending_check = world.data_check(case)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_openapi_document(case: schemathesis.Case, world: World) -> None:
    label = _label(case)
    started = time.monotonic()
    STATS.cases[label] += 1
    try:
        response = case.call(base_url=world.base_url)
        STATS.statuses[response.status_code] += 1
        STATS.by_operation.setdefault(label, Counter())[response.status_code] += 1
        world.learn(case, response)
        # The token we chose counts as the caller's own (ignored_auth then checks it is needed).
        sent = {k: v for k, v in (case.headers or {}).items() if k == "Authorization"}
        checks = [world.pending_check, *CHECKS]
        case.validate_response(response, checks=checks, headers=sent)
    except BaseException:  # Schemathesis's FailureGroup is a BaseExceptionGroup
        STATS.failed_cases[label] += 1
        raise
    finally:
        STATS.seconds[label] += time.monotonic() - started
