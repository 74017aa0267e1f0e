"""The typed Python client (`ticketbook.client`), sync and async, against the in-process app:
every method, each answer read into the shared schemas, the booking outcomes as answers
(200, 402, 404, 409, 422) and the unexpected answers as `ApiError`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.http.conftest import AppFactory
from tests.support.accounts import PASSWORD, create_user_command, unique_email
from tests.support.inprocess import InProcessApp, InProcessClient, visitor_address
from tests.support.inventory import make_concert
from ticketbook.client import ApiError, AsyncTicketBookClient, BookingAnswer, TicketBookClient
from ticketbook.domain.enums import BookingStatus, Role, ScanOutcome, TierType
from ticketbook.domain.schemas import (
    AccountSession,
    Booking,
    BookingTickets,
    BookingWithDetails,
    CheckinBundle,
    Concert,
    ConcertAvailability,
    ConcertSales,
    GateCounts,
    GuestSession,
    NewConcert,
    NewTier,
    OfflineScanBody,
    ScanAnswer,
    StaffMember,
    SyncAnswer,
    TransferResult,
)

DECLINING = {
    "TICKETBOOK_PAYMENT_SUCCESS_RATE": "0",
    "TICKETBOOK_PAYMENT_TIMEOUT_SHARE": "0",
    "TICKETBOOK_PAYMENT_ERROR_SHARE": "0",
}


def new_concert(name: str = "Client Nights") -> NewConcert:
    return NewConcert(
        name=name,
        artist="The Typed",
        venue="Loopback Hall",
        date=datetime.now(UTC) + timedelta(days=60),
        timezone="Europe/London",
        ticket_tiers=[
            NewTier(tier_type=TierType.VIP, price_cents=10000, total_quantity=5),
            NewTier(tier_type=TierType.GA, price_cents=1000, total_quantity=50),
        ],
    )


def organizer_email(database_url: str) -> str:
    email = unique_email("organizer")
    made = create_user_command(database_url, email, "--organizer", "--password-stdin")
    assert made.returncode == 0, made.stderr
    return email


# --- sync ------------------------------------------------------------------------------------


def test_health_and_readiness(client: InProcessClient) -> None:
    api = TicketBookClient(http=client)
    health = api.health()
    assert (health.success, health.status, health.database) == (True, "ok", "reachable")
    ready = api.ready()
    assert ready.status == "ready" and ready.schema_revision == ready.expected_revision


def test_a_guest_browses_books_lists_and_cancels(client: InProcessClient, shared_db: str) -> None:
    made = make_concert(shared_db, {"VIP": 4, "GA": 10})
    api = TicketBookClient(http=client)

    session = api.guest()
    assert isinstance(session, GuestSession)
    assert (api.token, api.user_id) == (session.token, session.user_id)
    me = api.me()
    assert (me.user_id, me.role, me.email) == (session.user_id, Role.GUEST, None)

    listed = {c.id: c for c in api.concerts()}
    concert = listed[uuid.UUID(made["id"])]
    assert isinstance(concert, Concert)
    assert [t.tier_type for t in concert.ticket_tiers] == [TierType.VIP, TierType.GA]
    assert api.concert(made["id"]) == concert

    answer = api.book(made["tiers"]["GA"], 3)
    assert isinstance(answer, BookingAnswer) and answer.confirmed
    assert answer.status == 200 and answer.error is None and answer.message == "Booking confirmed"
    booking = answer.booking
    assert isinstance(booking, Booking)
    assert (booking.status, booking.quantity, booking.total_cents) == (
        BookingStatus.CONFIRMED,
        3,
        3000,
    )
    assert booking.user_id == session.user_id and str(booking.idempotency_key) == answer.key

    availability = api.availability(made["id"])
    assert isinstance(availability, ConcertAvailability)
    counts = {t.tier_type: t.available_quantity for t in availability.tiers}
    assert counts == {TierType.VIP: 4, TierType.GA: 7}

    # The same key again is the same answer, the same booking.
    again = api.book(made["tiers"]["GA"], 3, key=answer.key)
    assert (again.status, again.booking) == (200, booking)

    mine = api.my_bookings()
    assert [b.id for b in mine] == [booking.id]
    assert isinstance(mine[0], BookingWithDetails)
    assert mine[0].concert.id == concert.id and mine[0].ticket_tier.tier_type == TierType.GA

    cancelled = api.cancel(booking.id)
    assert (cancelled.id, cancelled.status) == (booking.id, BookingStatus.CANCELLED)
    assert api.concert(made["id"]).ticket_tiers[1].available_quantity == 10


def test_refusals_of_a_booking_are_answers(client: InProcessClient, shared_db: str) -> None:
    made = make_concert(shared_db, {"GA": 2})
    api = TicketBookClient(http=client)
    api.guest()

    sold_out = api.book(made["tiers"]["GA"], 3)
    assert (sold_out.status, sold_out.error, sold_out.booking) == (409, "SOLD_OUT", None)
    assert sold_out.message and not sold_out.confirmed

    unknown = api.book(uuid.uuid4(), 1)
    assert (unknown.status, unknown.error) == (404, "TIER_NOT_FOUND")

    first = api.book(made["tiers"]["GA"], 1)
    reused = api.book(made["tiers"]["GA"], 2, key=first.key)
    assert (reused.status, reused.error) == (422, "IDEMPOTENCY_KEY_REUSED")

    big = make_concert(shared_db, {"GA": 20})["tiers"]["GA"]
    assert api.book(big, 10).confirmed
    capped = api.book(big, 1)  # one fan holds at most 10 tickets per concert
    assert (capped.status, capped.error) == (409, "TICKET_LIMIT_REACHED")


def test_a_declined_payment_is_a_402_answer_with_its_booking(
    start_app: AppFactory, shared_db: str
) -> None:
    made = make_concert(shared_db, {"GA": 5})
    app = start_app(shared_db, **DECLINING)
    with app.client() as http:
        api = TicketBookClient(http=http)
        api.guest()
        answer = api.book(made["tiers"]["GA"], 2)
    assert (answer.status, answer.confirmed, answer.error) == (402, False, None)
    assert answer.booking is not None and answer.booking.status == BookingStatus.FAILED
    assert "Payment failed" in answer.message


def test_unexpected_answers_raise_api_error(client: InProcessClient, shared_db: str) -> None:
    made = make_concert(shared_db, {"GA": 5})
    api = TicketBookClient(http=client)

    with pytest.raises(ApiError) as unauthenticated:
        api.book(made["tiers"]["GA"], 1)  # no token yet
    assert (unauthenticated.value.status, unauthenticated.value.code) == (401, "UNAUTHENTICATED")

    with pytest.raises(ApiError) as missing:
        api.concert(uuid.uuid4())
    assert (missing.value.status, missing.value.code) == (404, "NOT_FOUND")
    assert missing.value.message == "Concert not found"

    api.guest()
    with pytest.raises(ApiError) as bad:
        api.book(made["tiers"]["GA"], 11)
    assert (bad.value.status, bad.value.code) == (400, "VALIDATION_ERROR")
    assert bad.value.details

    with pytest.raises(ApiError) as not_organizer:
        api.create_concert(new_concert())
    assert (not_organizer.value.status, not_organizer.value.code) == (403, "FORBIDDEN")

    with pytest.raises(ApiError) as guest_logout:
        api.logout()  # a guest token is no sign-in
    assert guest_logout.value.status == 400

    booking = api.book(made["tiers"]["GA"], 1).booking
    assert booking is not None
    other = TicketBookClient(http=client)
    other.guest()
    with pytest.raises(ApiError) as foreign:
        other.cancel(booking.id)
    assert (foreign.value.status, foreign.value.code) == (403, "FORBIDDEN")


def test_a_rate_limited_request_carries_retry_after(client: InProcessClient) -> None:
    # New guests are limited per address; this visitor's own address runs out of them.
    api = TicketBookClient(http=client)
    with pytest.raises(ApiError) as limited:
        for _ in range(100):
            api.guest()
    assert (limited.value.status, limited.value.code) == (429, "RATE_LIMITED")
    assert limited.value.retry_after is not None and limited.value.retry_after > 0


def test_a_non_api_body_is_still_an_api_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://proxy")
    with TicketBookClient(http=http) as api, pytest.raises(ApiError) as failed:
        api.concerts()
    assert (failed.value.status, failed.value.code) == (502, "HTTP_502")
    assert "Bad gateway" in failed.value.message
    http.close()


def test_accounts_register_login_logout(client: InProcessClient, shared_db: str) -> None:
    made = make_concert(shared_db, {"GA": 5})
    api = TicketBookClient(http=client)
    guest = api.guest()
    assert api.book(made["tiers"]["GA"], 1).confirmed

    email = unique_email()
    account = api.register(email, PASSWORD)
    assert isinstance(account, AccountSession)
    assert (account.email, account.role, account.moved_bookings) == (email, Role.FAN, 1)
    assert api.token == account.token and api.user_id == account.user_id != guest.user_id
    assert [b.user_id for b in api.my_bookings()] == [account.user_id]

    with pytest.raises(ApiError) as taken:
        TicketBookClient(http=client).register(email, PASSWORD)
    assert (taken.value.status, taken.value.code) == (409, "EMAIL_TAKEN")

    assert api.logout().success and api.token is None and api.user_id is None
    with pytest.raises(ApiError) as signed_out:
        TicketBookClient(http=client, token=account.token).me()
    assert signed_out.value.status == 401

    again = TicketBookClient(http=client)
    assert again.login(email, PASSWORD).user_id == account.user_id
    assert again.me().email == email
    with pytest.raises(ApiError) as wrong:
        TicketBookClient(http=client).login(email, "not the password at all")
    assert (wrong.value.status, wrong.value.code) == (401, "INVALID_CREDENTIALS")


def test_a_token_given_at_start_finds_its_own_bookings(
    client: InProcessClient, shared_db: str
) -> None:
    made = make_concert(shared_db, {"GA": 5})
    first = TicketBookClient(http=client)
    session = first.guest()
    booking = first.book(made["tiers"]["GA"], 2).booking
    assert booking is not None
    later = TicketBookClient(http=client, token=session.token)  # no user id: asks `me`
    assert [b.id for b in later.my_bookings()] == [booking.id]


def test_organizers_create_concerts_and_read_their_sales(
    client: InProcessClient, shared_db: str
) -> None:
    api = TicketBookClient(http=client)
    assert api.login(organizer_email(shared_db), PASSWORD).role == Role.ORGANIZER

    created = api.create_concert(new_concert())
    assert isinstance(created, Concert)
    assert (created.timezone, [t.tier_type for t in created.ticket_tiers]) == (
        "Europe/London",
        [TierType.VIP, TierType.GA],
    )
    fan = TicketBookClient(http=client.visitor())
    fan.guest()
    assert fan.book(created.ticket_tiers[1].id, 3).confirmed

    sales = api.sales(created.id)
    assert isinstance(sales, ConcertSales)
    assert (sales.concert_id, sales.sold_quantity, sales.revenue_cents) == (created.id, 3, 3000)
    assert [s.concert_id for s in api.organizer_concerts()] == [created.id]
    csv = api.sales_csv(created.id).splitlines()
    assert csv[0].startswith("booking_id,") and len(csv) == 2

    with pytest.raises(ApiError) as not_yours:
        fan.sales(created.id)
    assert not_yours.value.status == 403


def test_fans_read_and_transfer_tickets_and_door_staff_check_them_in(
    client: InProcessClient, shared_db: str
) -> None:
    boss = TicketBookClient(http=client)
    boss.login(organizer_email(shared_db), PASSWORD)
    created = boss.create_concert(new_concert("Door Nights"))
    door_email = unique_email("door")
    door = TicketBookClient(http=client.visitor())
    door.register(door_email, PASSWORD)
    member = boss.grant_staff(created.id, door_email)
    assert isinstance(member, StaffMember)
    assert (member.user_id, member.email, member.granted_by) == (
        door.user_id,
        door_email,
        boss.user_id,
    )
    assert boss.staff(created.id) == [member]

    fan = TicketBookClient(http=client.visitor())
    fan.guest()
    booking = fan.book(created.ticket_tiers[1].id, 3).booking
    assert booking is not None
    mine = fan.tickets(booking.id)
    assert isinstance(mine, BookingTickets)
    assert (mine.booking_id, mine.booking_status, mine.count) == (
        booking.id,
        BookingStatus.CONFIRMED,
        3,
    )
    first, second, third = mine.data
    assert [t.status for t in mine.data] == ["valid"] * 3
    assert all(t.code and t.qr_svg is None for t in mine.data)
    assert all(t.qr_svg and "<svg" in t.qr_svg for t in fan.tickets(booking.id, qr=True).data)
    assert fan.tickets_pdf(booking.id).startswith(b"%PDF")
    assert first.code and second.code and third.code

    friend = unique_email("friend")
    with pytest.raises(ApiError) as guest_transfer:
        fan.transfer(first.id, friend, "Sam Friend")  # guests can't transfer: sign in first
    assert guest_transfer.value.status == 403
    assert fan.register(unique_email(), PASSWORD).moved_bookings == 1
    done = fan.transfer(first.id, friend, "Sam Friend")
    assert isinstance(done, TransferResult)
    assert (done.from_ticket_id, done.email, done.name) == (first.id, friend, "Sam Friend")
    assert [t.status for t in fan.tickets(booking.id).data] == ["revoked", "valid", "valid"]

    admit = door.scan(created.id, second.code, "Gate 1")
    assert isinstance(admit, ScanAnswer) and admit.outcome == ScanOutcome.ADMIT
    assert admit.ticket is not None and admit.ticket.ticket_id == second.id
    assert admit.gate_count == 1
    used = door.scan(created.id, second.code, "Gate 2", device="north-1")
    assert used.outcome == ScanOutcome.ALREADY_USED
    assert used.first_admitted is not None and used.first_admitted.gate == "Gate 1"
    assert door.scan(created.id, first.code, "Gate 1").outcome == ScanOutcome.REVOKED
    # The same scan id again is the first answer, not a second entry.
    assert door.scan(created.id, second.code, "Gate 1", admit.scan_id).outcome == admit.outcome

    offline = door.bundle(created.id)
    assert isinstance(offline, CheckinBundle) and offline.concert_id == created.id
    assert first.id in offline.revoked and third.id in {t.ticket_id for t in offline.tickets}
    assert [a.ticket_id for a in offline.admitted] == [second.id]

    scanned = OfflineScanBody(
        scan_id=uuid.uuid4(),
        code=third.code,
        gate="East",
        scanned_at=datetime.now(UTC) - timedelta(minutes=1),
        offline_outcome=ScanOutcome.ADMIT,
    )
    synced = door.sync_scans(created.id, "east-1", [scanned])
    assert isinstance(synced, SyncAnswer) and synced.conflicts == []
    assert [(r.scan_id, r.outcome) for r in synced.recorded] == [
        (scanned.scan_id, ScanOutcome.ADMIT)
    ]
    counts = door.gates(created.id)
    assert isinstance(counts, GateCounts)
    assert (counts.gates, counts.admitted) == ({"Gate 1": 1, "East": 1}, 2)

    with pytest.raises(ApiError) as not_staff:
        fan.gates(created.id)
    assert (not_staff.value.status, not_staff.value.code) == (403, "FORBIDDEN")
    assert boss.revoke_staff(created.id, member.user_id).success
    assert boss.staff(created.id) == []
    with pytest.raises(ApiError) as revoked:
        door.scan(created.id, third.code, "Gate 1")
    assert revoked.value.status == 403


def test_a_client_from_a_base_url_owns_its_httpx_client() -> None:
    api = TicketBookClient("http://127.0.0.1:9/")
    assert str(api.http.base_url) == "http://127.0.0.1:9/"
    with api, pytest.raises(httpx.TransportError):
        api.health()  # nothing listens on the discard port: transport errors are httpx's
    assert api.http.is_closed
    with pytest.raises(TypeError):
        TicketBookClient()


def test_the_readme_walkthrough_runs(client: InProcessClient, shared_db: str) -> None:
    """README's five requests with the Python client, run as written against this app."""
    make_concert(shared_db, {"GA": 10}, starts_at=datetime.now(UTC) + timedelta(hours=1))
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    after = readme.split("<!-- walkthrough:python -->\n```python\n", 1)[1]
    code = after.split("```", 1)[0]
    server = 'TicketBookClient("http://127.0.0.1:8000")'
    assert server in code
    exec(code.replace(server, "TicketBookClient(http=client)"), {"client": client})


# --- async -----------------------------------------------------------------------------------


def test_the_async_client_does_the_same(shared_app: InProcessApp, shared_db: str) -> None:
    made = make_concert(shared_db, {"VIP": 1, "GA": 10})
    email, organizer = unique_email(), organizer_email(shared_db)

    async def scenario() -> None:
        headers = {"X-Forwarded-For": visitor_address()}
        async with shared_app.async_client(headers=headers) as http:
            api = AsyncTicketBookClient(http=http)
            assert (await api.health()).success and (await api.ready()).success
            session = await api.guest()
            assert (await api.me()).user_id == session.user_id == api.user_id

            concert = await api.concert(made["id"])
            assert concert.id in {c.id for c in await api.concerts()}
            assert [t.available_quantity for t in (await api.availability(made["id"])).tiers] == [
                1,
                10,
            ]

            answer = await api.book(made["tiers"]["VIP"], 1)
            assert answer.confirmed and answer.booking is not None
            sold_out = await api.book(made["tiers"]["VIP"], 1)
            assert (sold_out.status, sold_out.error) == (409, "SOLD_OUT")
            assert [b.id for b in await api.my_bookings()] == [answer.booking.id]
            cancelled = await api.cancel(answer.booking.id)
            assert cancelled.status == BookingStatus.CANCELLED

            account = await api.register(email, PASSWORD)
            assert account.moved_bookings == 1 and api.token == account.token
            assert (await api.logout()).success and api.token is None
            with pytest.raises(ApiError) as unauthenticated:
                await api.me()
            assert unauthenticated.value.status == 401
            assert (await api.login(email, PASSWORD)).user_id == account.user_id

            boss = AsyncTicketBookClient(http=http)
            await boss.login(organizer, PASSWORD)
            created = await boss.create_concert(new_concert("Async Nights"))
            sales = await boss.sales(created.id)
            assert (sales.concert_id, sales.sold_quantity) == (created.id, 0)
            assert created.id in {s.concert_id for s in await boss.organizer_concerts()}
            assert (await boss.sales_csv(created.id)).startswith("booking_id,")

    shared_app.run(scenario)


def test_the_async_client_reads_tickets_and_checks_them_in(
    shared_app: InProcessApp, shared_db: str
) -> None:
    organizer = organizer_email(shared_db)

    async def scenario() -> None:
        headers = {"X-Forwarded-For": visitor_address()}
        async with shared_app.async_client(headers=headers) as http:
            boss = AsyncTicketBookClient(http=http)
            await boss.login(organizer, PASSWORD)
            created = await boss.create_concert(new_concert("Async Door Nights"))
            fan = AsyncTicketBookClient(http=http)
            await fan.guest()
            booking = (await fan.book(created.ticket_tiers[0].id, 1)).booking
            assert booking is not None

            [ticket] = (await fan.tickets(booking.id, qr=True)).data
            assert ticket.code and ticket.qr_svg and ticket.status == "valid"
            assert (await fan.tickets_pdf(booking.id)).startswith(b"%PDF")

            # The organizer checks their own concert in without a grant.
            admit = await boss.scan(created.id, ticket.code, "Gate A")
            assert admit.outcome == ScanOutcome.ADMIT
            again = await boss.scan(created.id, ticket.code, "Gate A")
            assert again.outcome == ScanOutcome.ALREADY_USED
            assert (await boss.gates(created.id)).gates == {"Gate A": 1}
            assert [a.ticket_id for a in (await boss.bundle(created.id)).admitted] == [ticket.id]
            assert await boss.staff(created.id) == []

    shared_app.run(scenario)


def test_an_async_client_from_a_base_url_closes_its_own(shared_app: InProcessApp) -> None:
    async def scenario() -> bool:
        async with AsyncTicketBookClient("http://127.0.0.1:9") as api:
            with pytest.raises(httpx.TransportError):
                await api.health()
        return api.http.is_closed

    assert shared_app.run(scenario)
