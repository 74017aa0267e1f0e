"""Every route in the app is either public by design (listed here, with why) or refuses an
anonymous caller and a caller who does not own what it names. A route added without being
listed here fails the first test.

The cast: fan A (an account) owns a confirmed booking; fan B is another account; organizer 1
created a concert, organizer 2 did not. Pages are probed with cookies and CSRF tokens the way
a browser sends them: "anonymous" has no cookie, "intruder" is another visitor's session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.support.accounts import new_concert_body, organizer, register
from tests.support.api import book
from tests.support.inprocess import InProcessApp, InProcessClient
from tests.support.inventory import execute, fetchval, make_concert, snapshot
from tests.support.pages import forms
from tests.support.seating import seated_concert
from ticketbook.app import build_app
from ticketbook.seating.demo_layouts import section_block, section_block_document
from ticketbook.settings import Settings

# (method, path) of every route a production app serves; a mount is ("*", path).
Route = tuple[str, str]


def app_routes() -> set[Route]:
    routes: set[Route] = set()
    for context in iter_route_contexts(build_app(Settings(), database_url="unused").routes):
        path = context.path or ""
        if isinstance(context.original_route, Mount):
            routes.add(("*", path))
        for method in context.methods or ():
            if method != "HEAD":
                routes.add((method, path))
    return routes


# Bodies for the organizers' seating routes: only who may send them is under test here.
LAYOUT = section_block_document(1, 2)
SEATING = {"layoutId": str(uuid.uuid4()), "pricesCents": {"standard": 100}}

PUBLIC: dict[Route, str] = {
    ("GET", "/api/openapi.json"): "the API's description",
    ("GET", "/api/docs"): "the API's description",
    ("GET", "/api/ready"): "load balancers ask it",
    ("GET", "/api/health-check"): "load balancers ask it",
    ("GET", "/metrics"): "Prometheus scrapes it; counters only, no personal data",
    ("GET", "/api/concerts"): "the catalog",
    ("GET", "/api/concerts/{concert_id}"): "the catalog",
    ("GET", "/api/concerts/{concert_id}/availability"): "the catalog's live counts",
    ("GET", "/api/concerts/{concert_id}/events"): "live availability of the catalog",
    ("GET", "/checkin"): "the door scanner's sign-in prompt; an account sees only its own",
    ("GET", "/api/concerts/{concert_id}/seating"): "the catalog's seat maps",
    ("GET", "/api/concerts/{concert_id}/seats/states"): "the catalog's seat maps: free or not",
    ("GET", "/api/layouts/{layout_id}"): "the catalog's seat maps",
    ("GET", "/concerts/{concert_id}/seat-states"): "the catalog's seat maps: free or not",
    ("GET", "/concerts/{concert_id}/queue"): "the waiting room: the visitor's own place only",
    ("GET", "/concerts/{concert_id}/queue/events"): "the visitor's own place, live",
    ("POST", "/api/auth/guest"): "how a visitor gets an identity",
    ("POST", "/api/auth/register"): "how a visitor gets an account",
    ("POST", "/api/auth/login"): "how an account signs in",
    ("GET", "/"): "the catalog's pages",
    ("GET", "/concerts"): "the catalog's pages",
    ("GET", "/concerts/{concert_id}"): "the catalog's pages",
    ("GET", "/bookings"): "shows only the visitor's own bookings (none for a new visitor)",
    ("GET", "/login"): "the sign-in form",
    ("GET", "/register"): "the sign-up form",
    ("*", "/static"): "stylesheet and script",
    # A capability link: only with the MAC of the ticket's id (else 404); tested in
    # tests/http/test_tickets.py.
    ("GET", "/tickets/{ticket_id}"): "the ticket page an email links to, for its key's holder",
    ("GET", "/tickets/{ticket_id}.pdf"): "the PDF of that page, for its key's holder",
    # Anonymised: join ids, no account ids (tests/http/test_queue.py).
    ("GET", "/api/concerts/{concert_id}/queue/draw"): "the draw's public record, to verify it",
}


@dataclass(frozen=True)
class Cast:
    db: str
    concert_id: str
    tier_id: str
    a_id: str
    a: dict[str, str]
    b_id: str
    b: dict[str, str]
    booking_id: str
    organizer_concert_id: str
    organizer_1: dict[str, str]
    organizer_2: dict[str, str]
    # A concert with reserved seats, and its layout, for the seat-map routes.
    seated_concert_id: str
    layout_id: str


@pytest.fixture(scope="module")
def cast(
    shared_app: InProcessApp, shared_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cast]:
    concert = make_concert(shared_db, {"GA": 50})
    seated = seated_concert(shared_db, tmp_path_factory.mktemp("seats"), section_block(2, 3))
    with shared_app.client() as client:
        a_id, a = register(client)
        b_id, b = register(client)
        booked = book(client, a, concert["tiers"]["GA"], 2)
        assert booked.status_code == 200, booked.text
        _, organizer_1 = organizer(client, shared_db)
        _, organizer_2 = organizer(client, shared_db)
        created = client.post("/api/concerts", json=new_concert_body(), headers=organizer_1)
        assert created.status_code == 201, created.text
    yield Cast(
        db=shared_db,
        concert_id=concert["id"],
        tier_id=concert["tiers"]["GA"],
        a_id=a_id,
        a=a,
        b_id=b_id,
        b=b,
        booking_id=booked.json()["booking"]["id"],
        organizer_concert_id=created.json()["data"]["id"],
        organizer_1=organizer_1,
        organizer_2=organizer_2,
        seated_concert_id=seated["id"],
        layout_id=str(seated["layout_id"]),
    )


def page_visitor(of: httpx.Client, path: str = "/login") -> tuple[httpx.Client, str]:
    """A browser of its own (another visitor of ``of``'s app) with its own page session:
    (client with the cookie, a CSRF token)."""
    assert isinstance(of, InProcessClient)
    client = of.visitor()
    page = client.get(path)
    assert page.status_code == 200 and client.cookies.get("tb_session")
    token = next(f.fields["csrf_token"] for f in forms(page.text) if "csrf_token" in f.fields)
    return client, token


Call = Callable[[httpx.Client, Cast], httpx.Response]


@dataclass(frozen=True)
class Probe:
    """How to call a protected route anonymously and as an intruder, and what must answer."""

    anonymous: Call
    anonymous_status: int
    intruder: Call
    intruder_status: int
    # What must hold after the intruder's call, beyond "nothing changed".
    after: Callable[[httpx.Client, Cast], None] = lambda client, cast: None
    # False when the intruder's own call legitimately writes (e.g. signing itself out).
    intruder_changes_nothing: bool = True


def _a_still_signed_in(client: httpx.Client, cast: Cast) -> None:
    assert client.get("/api/auth/me", headers=cast.a).json()["userId"] == cast.a_id


def _only_own_concerts(client: httpx.Client, cast: Cast) -> None:
    listed = client.get("/api/organizer/concerts", headers=cast.organizer_2).json()["data"]
    assert cast.organizer_concert_id not in {c["concertId"] for c in listed}


def _sales(suffix: str) -> Probe:
    def call(headers: Callable[[Cast], dict[str, str]]) -> Call:
        return lambda client, cast: client.get(
            f"/api/organizer/concerts/{cast.organizer_concert_id}/{suffix}", headers=headers(cast)
        )

    return Probe(call(lambda c: {}), 401, call(lambda c: c.organizer_2), 403)


def _page_post(path: Callable[[Cast], str], data: Callable[[Cast], dict[str, str]]) -> Probe:
    """A form POST: refused without a session (anonymous) and with another session's CSRF
    token (intruder: a forged cross-site post)."""

    def anonymous(client: httpx.Client, cast: Cast) -> httpx.Response:
        return client.post(path(cast), data={**data(cast), "csrf_token": "x"})

    def intruder(client: httpx.Client, cast: Cast) -> httpx.Response:
        visitor, _ = page_visitor(client)
        other, someone_elses_token = page_visitor(client)
        other.close()
        try:
            return visitor.post(path(cast), data={**data(cast), "csrf_token": someone_elses_token})
        finally:
            visitor.close()

    return Probe(anonymous, 403, intruder, 403)


def _page_cancel_by_other_visitor(client: httpx.Client, cast: Cast) -> httpx.Response:
    """Another visitor with a valid session and its own valid token: still not the owner."""
    visitor, token = page_visitor(client)
    try:
        return visitor.post(f"/bookings/{cast.booking_id}/cancel", data={"csrf_token": token})
    finally:
        visitor.close()


def _door(suffix: str, method: str = "GET") -> Probe:
    """The door scanner's page and its JSON endpoints: refused to a visitor without a session,
    and to a signed-in fan (B, with B's own page token) who is not the concert's door staff."""

    def call(client: httpx.Client, cast: Cast, headers: dict[str, str]) -> httpx.Response:
        body = {
            "concertId": cast.concert_id,
            "scanId": str(uuid.uuid4()),
            "code": "TB" + "A" * 150,
            "gate": "Gate 1",
        }
        if suffix == "/sync":
            body = {"device": "d", "scans": []}
        path = f"/checkin/{cast.concert_id}{suffix}"
        if method == "GET":
            return client.get(path, headers=headers)
        return client.post(path, json=body, headers=headers)

    def intruder(client: httpx.Client, cast: Cast) -> httpx.Response:
        from tests.support.accounts import PASSWORD

        email = client.get("/api/auth/me", headers=cast.b).json()["email"]
        visitor, token = page_visitor(client)
        try:
            signed_in = visitor.post(
                "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
            )
            assert signed_in.status_code == 303, signed_in.text
            [own] = {f.fields["csrf_token"] for f in forms(visitor.get("/bookings").text)}
            return call(visitor, cast, {"X-CSRF-Token": own, "Accept": "application/json"})
        finally:
            visitor.close()

    def nothing_scanned(client: httpx.Client, cast: Cast) -> None:
        scans = fetchval(
            cast.db,
            "SELECT count(*) FROM checkin_scans WHERE concert_id = $1::uuid",
            cast.concert_id,
        )
        assert scans == 0

    return Probe(
        lambda client, cast: call(client, cast, {"X-CSRF-Token": "x"}),
        403,
        intruder,
        403,
        after=nothing_scanned,
        # Signing B in writes B's page session; the door's tables stay empty (after).
        intruder_changes_nothing=False,
    )


def _a_ticket(cast: Cast) -> str:
    ticket: str = fetchval(
        cast.db,
        "SELECT id::text FROM tickets WHERE booking_id = $1::uuid ORDER BY admission LIMIT 1",
        cast.booking_id,
    )
    return ticket


def _tickets_api(suffix: str) -> Probe:
    """A's booking's tickets (or their PDF): 401 without a token, 404 to B."""

    def call(headers: Callable[[Cast], dict[str, str]]) -> Call:
        return lambda client, cast: client.get(
            f"/api/bookings/{cast.booking_id}/tickets{suffix}", headers=headers(cast)
        )

    return Probe(call(lambda c: {}), 401, call(lambda c: c.b), 404)


def _tickets_page(suffix: str) -> Probe:
    """A's booking's ticket page (or its PDF): 404 to a visitor with no session and to
    another visitor's session."""

    def anonymous(client: httpx.Client, cast: Cast) -> httpx.Response:
        return client.get(f"/bookings/{cast.booking_id}/tickets{suffix}")

    def intruder(client: httpx.Client, cast: Cast) -> httpx.Response:
        visitor, _ = page_visitor(client)
        try:
            return visitor.get(f"/bookings/{cast.booking_id}/tickets{suffix}")
        finally:
            visitor.close()

    return Probe(anonymous, 404, intruder, 404)


TRANSFER_BODY = {"email": "someone@example.com", "name": "Someone"}


def _no_ticket_moved(cast: Cast) -> None:
    assert fetchval(cast.db, "SELECT count(*) FROM ticket_transfers") == 0


def _checkin_api(method: str, suffix: str) -> Probe:
    """The door's JSON API: 401 without a token, 403 to fan B (not the concert's staff)."""

    def call(headers: Callable[[Cast], dict[str, str]]) -> Call:
        def send(client: httpx.Client, cast: Cast) -> httpx.Response:
            if not suffix:
                scan = {
                    "concertId": cast.concert_id,
                    "scanId": str(uuid.uuid4()),
                    "code": "TB" + "A" * 150,
                    "gate": "Gate 1",
                }
                return client.post("/api/checkin", json=scan, headers=headers(cast))
            path = f"/api/checkin/{cast.concert_id}{suffix}"
            if method == "GET":
                return client.get(path, headers=headers(cast))
            return client.post(path, json={"device": "d", "scans": []}, headers=headers(cast))

        return send

    def nothing_scanned(client: httpx.Client, cast: Cast) -> None:
        assert fetchval(cast.db, "SELECT count(*) FROM checkin_scans") == 0

    return Probe(call(lambda c: {}), 401, call(lambda c: c.b), 403, after=nothing_scanned)


def _staff_api(method: str) -> Probe:
    """Door staff of organizer 1's concert: 401 without a token, 403 to organizer 2."""

    def call(headers: Callable[[Cast], dict[str, str]]) -> Call:
        def send(client: httpx.Client, cast: Cast) -> httpx.Response:
            path = f"/api/organizer/concerts/{cast.organizer_concert_id}/staff"
            if method == "POST":
                body = {"email": "someone@example.com"}
                return client.post(path, json=body, headers=headers(cast))
            if method == "DELETE":
                return client.delete(f"{path}/{cast.b_id}", headers=headers(cast))
            return client.get(path, headers=headers(cast))

        return send

    def nobody_granted(client: httpx.Client, cast: Cast) -> None:
        assert fetchval(cast.db, "SELECT count(*) FROM checkin_staff") == 0

    return Probe(call(lambda c: {}), 401, call(lambda c: c.organizer_2), 403, after=nobody_granted)


def _onsale_api() -> Probe:
    """Organizer 1's concert's on-sale: 401 without a token, 403 to organizer 2."""
    body = {"opensAt": "2031-06-01T10:00:00Z", "protected": True, "ratePerMinute": 100}

    def call(headers: Callable[[Cast], dict[str, str]]) -> Call:
        return lambda client, cast: client.put(
            f"/api/organizer/concerts/{cast.organizer_concert_id}/onsale",
            json=body,
            headers=headers(cast),
        )

    def no_onsale(client: httpx.Client, cast: Cast) -> None:
        assert (
            fetchval(
                cast.db,
                "SELECT count(*) FROM onsales WHERE concert_id = $1::uuid",
                cast.organizer_concert_id,
            )
            == 0
        )

    return Probe(call(lambda c: {}), 401, call(lambda c: c.organizer_2), 403, after=no_onsale)


def _queue_api(method: str, intruder_status: int) -> Probe:
    """A waiting room's place: 401 without a token; B only ever reaches B's own."""

    def call(headers: Callable[[Cast], dict[str, str]]) -> Call:
        def send(client: httpx.Client, cast: Cast) -> httpx.Response:
            path = f"/api/concerts/{cast.organizer_concert_id}/queue"
            return client.request(method, path, headers=headers(cast))

        return send

    def nobody_queued(client: httpx.Client, cast: Cast) -> None:
        assert fetchval(cast.db, "SELECT count(*) FROM queue_entries") == 0

    return Probe(call(lambda c: {}), 401, call(lambda c: c.b), intruder_status, after=nobody_queued)


PROTECTED: dict[Route, Probe] = {
    ("GET", "/api/bookings/{booking_id}/tickets"): _tickets_api(""),
    ("GET", "/api/bookings/{booking_id}/tickets.pdf"): _tickets_api(".pdf"),
    ("POST", "/api/tickets/{ticket_id}/transfer"): Probe(
        lambda client, cast: client.post(
            f"/api/tickets/{_a_ticket(cast)}/transfer", json=TRANSFER_BODY
        ),
        401,
        lambda client, cast: client.post(
            f"/api/tickets/{_a_ticket(cast)}/transfer", json=TRANSFER_BODY, headers=cast.b
        ),
        404,
        after=lambda client, cast: _no_ticket_moved(cast),
    ),
    ("GET", "/bookings/{booking_id}/tickets"): _tickets_page(""),
    ("GET", "/bookings/{booking_id}/tickets.pdf"): _tickets_page(".pdf"),
    ("POST", "/tickets/{ticket_id}/transfer"): _page_post(
        lambda cast: f"/tickets/{_a_ticket(cast)}/transfer", lambda cast: TRANSFER_BODY
    ),
    ("POST", "/api/bookings"): Probe(
        lambda client, cast: book(client, {}, cast.tier_id),
        401,
        lambda client, cast: client.post(
            "/api/bookings",
            json={"ticketTierId": cast.tier_id, "quantity": 1, "userId": cast.a_id},
            headers={**cast.b, "Idempotency-Key": "4f1c2a4e-8f0e-4c59-9d7b-0a4f6b8c1d2e"},
        ),
        403,
    ),
    ("GET", "/api/bookings/{user_id}"): Probe(
        lambda client, cast: client.get(f"/api/bookings/{cast.a_id}"),
        401,
        lambda client, cast: client.get(f"/api/bookings/{cast.a_id}", headers=cast.b),
        403,
    ),
    ("POST", "/api/bookings/{booking_id}/cancel"): Probe(
        lambda client, cast: client.post(f"/api/bookings/{cast.booking_id}/cancel"),
        401,
        lambda client, cast: client.post(f"/api/bookings/{cast.booking_id}/cancel", headers=cast.b),
        403,
    ),
    ("GET", "/api/auth/me"): Probe(
        lambda client, cast: client.get("/api/auth/me"),
        401,
        # B learns only about B.
        lambda client, cast: client.get("/api/auth/me", headers=cast.b),
        200,
        after=lambda client, cast: None,
    ),
    ("POST", "/api/auth/logout"): Probe(
        lambda client, cast: client.post("/api/auth/logout"),
        401,
        # B can sign out only B's own token (a throwaway sign-in of B's), never A's.
        lambda client, cast: client.post(
            "/api/auth/logout",
            headers={"Authorization": "Bearer " + _fresh_token_of_b(client, cast)},
        ),
        200,
        after=_a_still_signed_in,
        intruder_changes_nothing=False,
    ),
    ("POST", "/api/concerts"): Probe(
        lambda client, cast: client.post("/api/concerts", json=new_concert_body()),
        401,
        lambda client, cast: client.post("/api/concerts", json=new_concert_body(), headers=cast.a),
        403,
    ),
    ("GET", "/api/organizer/concerts"): Probe(
        lambda client, cast: client.get("/api/organizer/concerts"),
        401,
        lambda client, cast: client.get("/api/organizer/concerts", headers=cast.a),
        403,
        after=_only_own_concerts,
    ),
    ("GET", "/api/organizer/concerts/{concert_id}/sales"): _sales("sales"),
    ("POST", "/api/organizer/layouts"): Probe(
        lambda client, cast: client.post("/api/organizer/layouts", json=LAYOUT),
        401,
        lambda client, cast: client.post("/api/organizer/layouts", json=LAYOUT, headers=cast.a),
        403,
    ),
    ("PUT", "/api/organizer/layouts/{layout_id}"): Probe(
        lambda client, cast: client.put(f"/api/organizer/layouts/{uuid.uuid4()}", json=LAYOUT),
        401,
        lambda client, cast: client.put(
            f"/api/organizer/layouts/{uuid.uuid4()}", json=LAYOUT, headers=cast.a
        ),
        403,
    ),
    ("PUT", "/api/organizer/concerts/{concert_id}/seating"): Probe(
        lambda client, cast: client.put(
            f"/api/organizer/concerts/{cast.concert_id}/seating", json=SEATING
        ),
        401,
        lambda client, cast: client.put(
            f"/api/organizer/concerts/{cast.concert_id}/seating", json=SEATING, headers=cast.a
        ),
        403,
    ),
    ("GET", "/api/organizer/concerts/{concert_id}/sales.csv"): _sales("sales.csv"),
    ("POST", "/concerts/{concert_id}/book"): _page_post(
        lambda cast: f"/concerts/{cast.concert_id}/book",
        lambda cast: {
            "tier_id": cast.tier_id,
            "quantity": "1",
            "idempotency_key": "0b7f1e1a-3f7e-4a8e-9a35-6c1d2f9e8b70",
        },
    ),
    ("POST", "/concerts/{concert_id}/queue"): _page_post(
        lambda cast: f"/concerts/{cast.concert_id}/queue", lambda cast: {}
    ),
    ("POST", "/bookings/{booking_id}/cancel"): Probe(
        lambda client, cast: client.post(
            f"/bookings/{cast.booking_id}/cancel", data={"csrf_token": "x"}
        ),
        403,
        _page_cancel_by_other_visitor,
        403,
    ),
    ("POST", "/login"): _page_post(
        lambda cast: "/login", lambda cast: {"email": "a@example.com", "password": "x" * 12}
    ),
    ("POST", "/register"): _page_post(
        lambda cast: "/register",
        lambda cast: {
            "email": "forged@example.com",
            "password": "a forged sign-up 1",
            "password_confirm": "a forged sign-up 1",
        },
    ),
    ("POST", "/logout"): _page_post(lambda cast: "/logout", lambda cast: {}),
    ("GET", "/checkin/{concert_id}"): _door(""),
    ("GET", "/checkin/{concert_id}/bundle"): _door("/bundle"),
    ("POST", "/checkin/{concert_id}/scan"): _door("/scan", "POST"),
    ("POST", "/checkin/{concert_id}/sync"): _door("/sync", "POST"),
    ("POST", "/api/checkin"): _checkin_api("POST", ""),
    ("GET", "/api/checkin/{concert_id}/bundle"): _checkin_api("GET", "/bundle"),
    ("POST", "/api/checkin/{concert_id}/sync"): _checkin_api("POST", "/sync"),
    ("GET", "/api/checkin/{concert_id}/gates"): _checkin_api("GET", "/gates"),
    ("POST", "/api/organizer/concerts/{concert_id}/staff"): _staff_api("POST"),
    ("GET", "/api/organizer/concerts/{concert_id}/staff"): _staff_api("GET"),
    ("DELETE", "/api/organizer/concerts/{concert_id}/staff/{user_id}"): _staff_api("DELETE"),
    ("PUT", "/api/organizer/concerts/{concert_id}/onsale"): _onsale_api(),
    # Any identity may join a waiting room (guests too): B's call is about B's own place, on
    # a concert with no waiting room here.
    ("POST", "/api/concerts/{concert_id}/queue"): _queue_api("POST", 404),
    ("GET", "/api/concerts/{concert_id}/queue"): _queue_api("GET", 200),
}


def _fresh_token_of_b(client: httpx.Client, cast: Cast) -> str:
    email = client.get("/api/auth/me", headers=cast.b).json()["email"]
    from tests.support.accounts import login

    token: str = login(client, email).json()["token"]
    return token


def test_every_route_is_classified() -> None:
    routes = app_routes()
    assert not PUBLIC.keys() & PROTECTED.keys()
    unlisted = routes - PUBLIC.keys() - PROTECTED.keys()
    assert not unlisted, f"classify these routes as public or protected: {sorted(unlisted)}"
    gone = (PUBLIC.keys() | PROTECTED.keys()) - routes
    assert not gone, f"these listed routes no longer exist: {sorted(gone)}"
    print(
        f"\nroutes covered by the authorization test: {len(routes)} "
        f"({len(PUBLIC)} public by design, {len(PROTECTED)} protected)"
    )


def _public_request(client: httpx.Client, route: Route, cast: Cast) -> tuple[int, str]:
    """(status, body text) of an anonymous call."""
    method, path = route
    seat_map = "seat" in path or "{layout_id}" in path
    path = path.replace("{concert_id}", cast.seated_concert_id if seat_map else cast.concert_id)
    path = path.replace("{layout_id}", cast.layout_id)
    if "{ticket_id}" in path:
        # The emailed link: the ticket's id with its key.
        assert isinstance(client, InProcessClient)
        ticket = _a_ticket(cast)
        key = client.owner.app.state.services.tickets.link_key(uuid.UUID(ticket))
        path = path.replace("{ticket_id}", ticket) + f"?key={key}"
    if route == ("*", "/static"):
        method, path = "GET", "/static/app.css"
    if path.endswith("/queue/draw"):
        # An on-sale of its own, unprotected: the cast's bookings go on as before.
        execute(
            cast.db,
            "INSERT INTO onsales (concert_id, opens_at, protected, rate_per_minute, seed, "
            "seed_hash) SELECT $1::uuid, now() + interval '1 day', false, 60, s, sha256(s) "
            "FROM (SELECT sha256('seed'::bytea) AS s) AS x ON CONFLICT DO NOTHING",
            cast.concert_id,
        )
    if route[1].endswith("/events"):
        with client.stream("GET", path) as stream:
            first = next(stream.iter_text())  # the snapshot of counts; then it would go on
            return stream.status_code, first
    if method == "POST" and path.endswith(("/register", "/login")):
        # Public, and still not a way in: a wrong password is a plain 401.
        body = {"email": "nobody@example.com", "password": "x" * 12}
        response = client.post(path, json=body)
    else:
        response = client.request(method, path)
    return response.status_code, response.text


@pytest.mark.parametrize("route", sorted(PUBLIC), ids=" ".join)
def test_public_routes_answer_anyone(client: httpx.Client, cast: Cast, route: Route) -> None:
    with client.visitor() as anonymous:
        status, text = _public_request(anonymous, route, cast)
    if route[1] == "/api/auth/register":
        assert status == 400, text  # "x" * 12 is too easy a password
    elif route[1] == "/api/auth/login":
        assert status == 401, text
    else:
        assert status == 200, (route, status)
    # Nothing of A's is in an answer to anyone.
    assert cast.booking_id not in text and cast.a_id not in text


@pytest.mark.parametrize("route", sorted(PROTECTED), ids=" ".join)
def test_protected_routes_refuse_anonymous_and_intruders(
    client: httpx.Client, cast: Cast, route: Route
) -> None:
    probe = PROTECTED[route]
    before = snapshot(cast.db)
    with client.visitor() as anonymous:
        refused = probe.anonymous(anonymous, cast)
    assert refused.status_code == probe.anonymous_status, (route, refused.text)
    assert cast.booking_id not in refused.text
    assert snapshot(cast.db) == before

    answered = probe.intruder(client, cast)
    assert answered.status_code == probe.intruder_status, (route, answered.text)
    if answered.headers.get("content-type", "").startswith("application/json"):
        body = answered.json()
        # An intruder's answer never carries A's booking, or A's identity.
        assert cast.booking_id not in answered.text
        if route != ("GET", "/api/auth/me"):
            assert cast.a_id not in answered.text or route == ("POST", "/api/bookings")
        else:
            assert body["userId"] == cast.b_id
    if probe.intruder_changes_nothing:
        assert snapshot(cast.db) == before
    probe.after(client, cast)
    # A's booking is still A's and still confirmed.
    mine = client.get(f"/api/bookings/{cast.a_id}", headers=cast.a).json()["data"]
    assert {b["id"]: b["status"] for b in mine}[cast.booking_id] == "CONFIRMED"
