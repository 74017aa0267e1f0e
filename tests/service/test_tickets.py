"""The Tickets service on a real PostgreSQL: a confirmed booking's tickets with codes that
verify under the concert's key, who sees which ticket, transfers (and what they refuse), a
cancel racing a transfer, key rotation, and the PDF parsed back with pypdf."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pypdf import PdfReader

from tests.service.test_query_plans import access_paths, describe, explain
from tests.support.inprocess import app_settings
from tests.support.inventory import execute, fetch, fetchval, make_concert
from tests.support.seating import seated_concert
from ticketbook.auth import queries as auth_queries
from ticketbook.auth.identity import Identity
from ticketbook.booking.queries import CANCEL_SQL
from ticketbook.db.pool import retry_deadlocked
from ticketbook.domain.enums import Role, ScanOutcome
from ticketbook.domain.errors import ConcertStarted, InvalidInput, NotFound
from ticketbook.mail import queries as mail_queries
from ticketbook.seating.demo_layouts import section_block
from ticketbook.services import AppServices, open_services
from ticketbook.tickets import codes
from ticketbook.tickets import queries as ticket_queries
from ticketbook.tickets.downloads import render_pdf
from ticketbook.tickets.pdf import tickets_pdf
from ticketbook.tickets.service import (
    AccountRequired,
    TicketRevoked,
    TicketStatus,
    TicketUsed,
    rotate_key,
)

PASSWORD = "a decent passphrase 42"


def _run(db_url: str, tmp_path: Path, scene: Callable[[AppServices], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            return await scene(services)

    return asyncio.run(main())


async def _account(services: AppServices, prefix: str = "fan") -> Identity:
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
    user_id, _ = await services.accounts.create_account(email, PASSWORD)
    return Identity(user_id, Role.FAN, email)


async def _book(
    services: AppServices, user: uuid.UUID, tier: str | uuid.UUID, quantity: int = 1, **kw: Any
) -> uuid.UUID:
    result = await services.engine.book(
        user_id=user, tier_id=uuid.UUID(str(tier)), quantity=quantity, key=uuid.uuid4(), **kw
    )
    assert result.booking is not None and result.booking.status == "CONFIRMED", result
    return result.booking.id


def test_a_confirmed_booking_has_one_ticket_per_admission_with_a_verifying_code(
    db_url: str, tmp_path: Path
) -> None:
    concert = make_concert(db_url, {"GA": 10}, timezone="America/New_York")

    async def scene(services: AppServices) -> Any:
        fan = await _account(services)
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"], 3)
        return booking, await services.tickets.for_booking(booking, fan.user_id), services

    _, found, services = _run(db_url, tmp_path, scene)
    assert [t.admission for t in found.tickets] == [1, 2, 3]
    concert_id = uuid.UUID(concert["id"])
    for ticket in found.tickets:
        assert ticket.status is TicketStatus.VALID and ticket.code is not None
        assert len(ticket.code) == 154  # GA: docs/tickets.md
        claim = services.ticket_keys.verify(ticket.code, concert_id, 1)
        assert claim.ticket_id == ticket.id and claim.seat is None
        assert ticket.tier_name == "General admission" and ticket.seat_label is None
        # The venue's clock, named by its zone.
        assert ticket.venue_time.endswith(("EST", "EDT"))
    assert len({t.code for t in found.tickets}) == 3


def test_nobody_else_sees_a_booking_or_its_tickets(db_url: str, tmp_path: Path) -> None:
    concert = make_concert(db_url, {"GA": 10})

    async def scene(services: AppServices) -> None:
        fan, stranger = await _account(services), await _account(services)
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"])
        with pytest.raises(NotFound):
            await services.tickets.for_booking(booking, stranger.user_id)
        with pytest.raises(NotFound):
            await services.tickets.for_booking(uuid.uuid4(), fan.user_id)

    _run(db_url, tmp_path, scene)


def test_a_seated_ticket_names_its_seat_and_its_pdf_says_so(db_url: str, tmp_path: Path) -> None:
    concert = seated_concert(db_url, tmp_path, section_block(3, 6))
    tier = concert["zones"]["standard"]

    async def scene(services: AppServices) -> Any:
        fan = await _account(services)
        booking = await _book(services, fan.user_id, tier, 2, seats=("S:B:3", "S:B:4"))
        return await services.tickets.for_booking(booking, fan.user_id)

    found = _run(db_url, tmp_path, scene)
    seats = [t.seat for t in found.tickets]
    assert seats == ["S:B:3", "S:B:4"]
    first = found.tickets[0]
    assert first.seat_label is not None and "row B, seat 3" in first.seat_label
    assert first.code is not None and len(first.code) == 162  # 95 + 5 bytes ("S:B:3"), base32
    claim, _, _ = codes.read(first.code)
    assert claim.seat == "S:B:3"

    reader = PdfReader(io.BytesIO(tickets_pdf(found.tickets)))
    assert len(reader.pages) == 2
    text = reader.pages[0].extract_text()
    assert first.concert_name in text
    assert "row B, seat 3" in text
    assert first.holder in text
    assert first.code in "".join(text.split())


def test_a_transfer_revokes_the_old_ticket_and_issues_the_new_holder_one(
    db_url: str, tmp_path: Path
) -> None:
    concert = make_concert(db_url, {"GA": 10})
    recipient_email = f"friend-{uuid.uuid4().hex[:8]}@example.com"

    async def scene(services: AppServices) -> Any:
        fan = await _account(services)
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"], 2)
        before = await services.tickets.for_booking(booking, fan.user_id)
        ticket = before.tickets[0]
        done = await services.tickets.transfer(
            ticket_id=ticket.id,
            sender=fan,
            email=recipient_email.upper(),  # stored normalized
            name="  Alex   Friend ",
            address="198.51.100.7",
        )
        mine = await services.tickets.for_booking(booking, fan.user_id)
        theirs = await services.tickets.for_booking(booking, done.to_user_id)
        received = await services.tickets.received(done.to_user_id)
        # Gone from the old holder: transferring it again is refused.
        with pytest.raises(TicketRevoked):
            await services.tickets.transfer(
                ticket_id=ticket.id, sender=fan, email="x@example.com", name="X", address=None
            )
        # And the new holder's ticket is not the old holder's to give.
        with pytest.raises(NotFound):
            await services.tickets.transfer(
                ticket_id=done.to_ticket_id,
                sender=fan,
                email="x@example.com",
                name="X",
                address=None,
            )
        return fan, ticket, done, mine, theirs, received

    fan, ticket, done, mine, theirs, received = _run(db_url, tmp_path, scene)
    assert done.account_created and done.email == recipient_email and done.name == "Alex Friend"
    old = next(t for t in mine.tickets if t.admission == ticket.admission)
    assert old.status is TicketStatus.REVOKED and old.code is None
    assert old.transferred_to == "Alex Friend"
    assert [t.status for t in mine.tickets] == [TicketStatus.REVOKED, TicketStatus.VALID]
    assert [t.id for t in theirs.tickets] == [done.to_ticket_id] == [t.id for t in received]
    new = theirs.tickets[0]
    assert new.holder == "Alex Friend" and new.code is not None and new.code != ticket.code
    assert new.admission == ticket.admission and new.seat == ticket.seat
    rows = fetch(
        db_url,
        "SELECT kind, to_address, ticket_id FROM email_outbox WHERE kind = 'ticket_transferred'",
    )
    assert [(r["to_address"], r["ticket_id"]) for r in rows] == [
        (recipient_email, done.to_ticket_id)
    ]
    logged = fetch(db_url, "SELECT from_user_id, to_user_id FROM ticket_transfers")
    assert [(r["from_user_id"], r["to_user_id"]) for r in logged] == [
        (fan.user_id, done.to_user_id)
    ]
    # The new account has an email and a hash that no password matches.
    account = fetch(db_url, "SELECT role, password_hash FROM users WHERE id = $1", done.to_user_id)
    assert account[0]["role"] == "fan" and account[0]["password_hash"].startswith("!")


def test_a_transfer_to_an_existing_account_uses_it(db_url: str, tmp_path: Path) -> None:
    concert = make_concert(db_url, {"GA": 10})

    async def scene(services: AppServices) -> Any:
        fan, friend = await _account(services), await _account(services, "friend")
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"])
        ticket = (await services.tickets.for_booking(booking, fan.user_id)).tickets[0]
        done = await services.tickets.transfer(
            ticket_id=ticket.id, sender=fan, email=friend.email or "", name="F", address=None
        )
        return friend, done

    friend, done = _run(db_url, tmp_path, scene)
    assert done.to_user_id == friend.user_id and not done.account_created


def test_what_a_transfer_refuses(db_url: str, tmp_path: Path) -> None:
    concert = make_concert(db_url, {"GA": 10})

    async def scene(services: AppServices) -> None:
        fan = await _account(services)
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"], 3)
        used, cancelled_later, started = (
            await services.tickets.for_booking(booking, fan.user_id)
        ).tickets

        def give(ticket_id: uuid.UUID, sender: Identity = fan, **kw: str) -> Awaitable[Any]:
            body = {"email": "friend@example.com", "name": "Friend", **kw}
            return services.tickets.transfer(
                ticket_id=ticket_id, sender=sender, address=None, **body
            )

        with pytest.raises(AccountRequired):  # guests have no email to answer for a transfer
            await give(used.id, Identity(fan.user_id, Role.GUEST))
        with pytest.raises(InvalidInput):
            await give(used.id, email=fan.email or "")
        with pytest.raises(InvalidInput):
            await give(used.id, email="not an email")
        with pytest.raises(InvalidInput):
            await give(used.id, name="   ")
        with pytest.raises(NotFound):
            await give(uuid.uuid4())
        # Checked in: its admission has entered.
        await services.db.execute(
            "INSERT INTO checkins (booking_id, admission, ticket_id, concert_id, gate, scan_id)"
            " SELECT booking_id, admission, id, concert_id, 'Gate 1', gen_random_uuid()"
            " FROM tickets WHERE id = $1",
            used.id,
        )
        with pytest.raises(TicketUsed):
            await give(used.id)
        assert (await services.tickets.ticket(used.id)).status is TicketStatus.USED  # type: ignore[union-attr]
        # The concert has started.
        await services.db.execute(
            "UPDATE concerts SET starts_at = $2 WHERE id = $1",
            uuid.UUID(concert["id"]),
            datetime.now(UTC) - timedelta(minutes=5),
        )
        with pytest.raises(ConcertStarted):
            await give(started.id)
        # Cancelled: its tickets are revoked by the cancel's own statement.
        await services.db.execute(
            "UPDATE concerts SET starts_at = $2 WHERE id = $1",
            uuid.UUID(concert["id"]),
            datetime.now(UTC) + timedelta(days=5),
        )
        await services.engine.cancel(user_id=fan.user_id, booking_id=booking)
        with pytest.raises(TicketRevoked):
            await give(cancelled_later.id)

    _run(db_url, tmp_path, scene)
    assert fetchval(db_url, "SELECT count(*) FROM ticket_transfers") == 0


async def _blocked(services: AppServices, count: int = 1) -> None:
    """Until ``count`` sessions on this test's database wait for a lock."""
    for _ in range(500):
        waiting = await services.db.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("nothing waited for a lock")


def _live_tickets_of_unconfirmed_bookings(db_url: str) -> int:
    live: int = fetchval(
        db_url,
        "SELECT count(*) FROM tickets t JOIN bookings b ON b.id = t.booking_id"
        " WHERE t.revoked_at IS NULL AND b.status <> 'CONFIRMED'",
    )
    return live


def test_a_cancel_racing_a_transfer_leaves_no_live_ticket(db_url: str, tmp_path: Path) -> None:
    """The transfer holds the booking row FOR SHARE: a cancel waits for it, then its trigger
    revokes the new ticket too. Both orders, each forced: the first one holds its
    transaction open until the second waits for it."""
    concert = make_concert(db_url, {"GA": 100})

    async def scene(services: AppServices) -> list[str]:
        fan = await _account(services)
        outcomes = []

        def give(ticket_id: uuid.UUID) -> Awaitable[Any]:
            return services.tickets.transfer(
                ticket_id=ticket_id, sender=fan, email="racer@example.com", name="R", address=None
            )

        # Transfer first: held inside its transaction (a third session locks the ticket, so
        # the transfer has the booking FOR SHARE and waits for the ticket); the cancel comes
        # and waits for the booking; the ticket is let go, the transfer commits, the cancel
        # goes on and revokes the new ticket too.
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"])
        ticket = (await services.tickets.for_booking(booking, fan.user_id)).tickets[0]
        async with services.db.connection() as blocker:
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute("SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE", ticket.id)
            transfer = asyncio.ensure_future(give(ticket.id))
            await _blocked(services)
            cancel = asyncio.ensure_future(
                services.engine.cancel(user_id=fan.user_id, booking_id=booking)
            )
            await _blocked(services, 2)
            await tx.rollback()
        done = await transfer  # no exception: it went through
        assert (await cancel).status == "CANCELLED"
        outcomes.append("transfer, then cancel")
        new = await services.tickets.ticket(done.to_ticket_id)
        assert new is not None and new.status is TicketStatus.REVOKED

        # Cancel first: its statement done, its transaction open; the transfer waits for the
        # booking, then finds the ticket revoked by the cancel's trigger.
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"])
        ticket = (await services.tickets.for_booking(booking, fan.user_id)).tickets[0]
        async with services.db.connection() as canceller:
            tx = canceller.transaction()
            await tx.start()
            assert await canceller.fetchrow(CANCEL_SQL, booking, fan.user_id) is not None
            transfer = asyncio.ensure_future(give(ticket.id))
            await _blocked(services)
            await tx.commit()
        with pytest.raises(TicketRevoked):
            await transfer
        outcomes.append("cancel, then transfer")
        return outcomes

    assert _run(db_url, tmp_path, scene) == ["transfer, then cancel", "cancel, then transfer"]
    assert _live_tickets_of_unconfirmed_bookings(db_url) == 0
    assert fetchval(db_url, "SELECT count(*) FROM ticket_transfers") == 1


def test_control_without_the_booking_lock_a_cancel_leaves_the_new_ticket_live(
    db_url: str, tmp_path: Path
) -> None:
    """The bug the transfer's FOR SHARE on the booking prevents: the same statements without
    it. The cancel's trigger waits for the old ticket, which the transfer then revokes; the
    new ticket isn't in the trigger's snapshot, so it stays live on a cancelled booking."""
    concert = make_concert(db_url, {"GA": 10})

    async def scene(services: AppServices) -> None:
        fan = await _account(services)
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"])
        ticket = (await services.tickets.for_booking(booking, fan.user_id)).tickets[0]
        async with services.db.connection() as conn:
            tx = conn.transaction()
            await tx.start()
            await conn.fetchrow(ticket_queries.LOCK_TICKET_SQL, ticket.id)  # no booking lock
            cancel = asyncio.ensure_future(
                services.engine.cancel(user_id=fan.user_id, booking_id=booking)
            )
            await _blocked(services)  # the cancel's trigger waits for the ticket
            await conn.fetchval(ticket_queries.TRANSFER_SQL, ticket.id, fan.user_id, "R")
            await tx.commit()
        assert (await cancel).status == "CANCELLED"

    _run(db_url, tmp_path, scene)
    assert _live_tickets_of_unconfirmed_bookings(db_url) == 1


def test_a_transfer_waiting_for_a_check_in_in_flight_is_refused(
    db_url: str, tmp_path: Path
) -> None:
    """A scan holds the ticket FOR SHARE and inserts its checkins row; the transfer's FOR
    UPDATE waits for it, and must then see the check-in (its own statement after the lock:
    the lock's snapshot is from before the wait)."""
    concert = make_concert(db_url, {"GA": 10})

    async def scene(services: AppServices) -> None:
        fan = await _account(services)
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"])
        ticket = (await services.tickets.for_booking(booking, fan.user_id)).tickets[0]
        async with services.db.connection() as door:
            tx = door.transaction()
            await tx.start()
            await door.execute("SELECT 1 FROM tickets WHERE id = $1 FOR SHARE", ticket.id)
            await door.execute(
                "INSERT INTO checkins (booking_id, admission, ticket_id, concert_id, gate,"
                " scan_id) SELECT booking_id, admission, id, concert_id, 'Gate 1',"
                " gen_random_uuid() FROM tickets WHERE id = $1",
                ticket.id,
            )
            transfer = asyncio.ensure_future(
                services.tickets.transfer(
                    ticket_id=ticket.id, sender=fan, email="f@example.com", name="F", address=None
                )
            )
            await _blocked(services)
            await tx.commit()
        with pytest.raises(TicketUsed):
            await transfer

    _run(db_url, tmp_path, scene)
    assert fetchval(db_url, "SELECT count(*) FROM ticket_transfers") == 0


def test_a_scan_racing_a_transfer_never_both_admits_and_transfers(
    db_url: str, tmp_path: Path
) -> None:
    """The door's real scan against a transfer of the same ticket, many rounds: either the
    scan admits and the transfer is refused (TICKET_USED), or the transfer goes through and
    the old code answers REVOKED. Never both."""
    concert = make_concert(db_url, {"GA": 200})
    concert_id = uuid.UUID(concert["id"])

    async def scene(services: AppServices) -> Counter[str]:
        seen: Counter[str] = Counter()
        for _ in range(40):
            fan = await _account(services)  # one each: a fan's tickets per concert are capped
            booking = await _book(services, fan.user_id, concert["tiers"]["GA"])
            ticket = (await services.tickets.for_booking(booking, fan.user_id)).tickets[0]
            assert ticket.code is not None
            scan = services.checkin.scan(
                concert_id=concert_id,
                code=ticket.code,
                gate="Gate 1",
                scan_id=uuid.uuid4(),
                staff_id=None,
            )
            transfer = services.tickets.transfer(
                ticket_id=ticket.id, sender=fan, email="racer@example.com", name="R", address=None
            )
            answer, given = await asyncio.gather(scan, transfer, return_exceptions=True)
            assert not isinstance(answer, BaseException), answer
            if isinstance(given, BaseException):
                assert isinstance(given, TicketUsed), given
                assert answer.outcome == ScanOutcome.ADMIT
                seen["admitted"] += 1
            else:
                assert answer.outcome == ScanOutcome.REVOKED, answer
                seen["transferred"] += 1
        return seen

    seen = _run(db_url, tmp_path, scene)
    assert sum(seen.values()) == 40, seen
    assert fetchval(db_url, "SELECT count(*) FROM ticket_transfers") == seen["transferred"]


def test_rotating_a_key_changes_every_code_and_the_old_ones_stop_verifying(
    db_url: str, tmp_path: Path
) -> None:
    concert = make_concert(db_url, {"GA": 10})
    concert_id = uuid.UUID(concert["id"])

    async def scene(services: AppServices) -> Any:
        fan = await _account(services)
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"])
        before = (await services.tickets.for_booking(booking, fan.user_id)).tickets[0]
        version = await rotate_key(services.db, concert_id)
        after = (await services.tickets.for_booking(booking, fan.user_id)).tickets[0]
        with pytest.raises(NotFound):
            await rotate_key(services.db, uuid.uuid4())
        return before, after, version, services

    before, after, version, services = _run(db_url, tmp_path, scene)
    assert version == 2 and before.code != after.code
    assert services.ticket_keys.verify(after.code, concert_id, 2).ticket_id == after.id
    with pytest.raises(codes.InvalidCode):
        services.ticket_keys.verify(before.code, concert_id, 2)


def test_the_pdf_is_drawn_off_the_event_loop(db_url: str, tmp_path: Path) -> None:
    """fpdf2 is pure Python (about 110 ms for 10 tickets): render_pdf runs it in a thread, so
    the loop goes on serving meanwhile. Control: drawn inline, the loop stands still."""
    concert = make_concert(db_url, {"GA": 10})

    async def scene(services: AppServices) -> tuple[int, int]:
        fan = await _account(services)
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"], 2)
        tickets = (await services.tickets.for_booking(booking, fan.user_id)).tickets * 10
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.001)
                ticks += 1

        running = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        before = ticks
        tickets_pdf(tickets, title="inline")
        inline = ticks - before
        before = ticks
        await render_pdf(tickets, title="threaded")
        threaded = ticks - before
        running.cancel()
        return inline, threaded

    inline, threaded = _run(db_url, tmp_path, scene)
    assert inline == 0
    assert threaded >= 3, threaded


# -- the ticket views' plans ---------------------------------------------------------------

VIEW_FILL_SQL = """
INSERT INTO users (role, email, password_hash)
SELECT 'fan', 'fan' || i || '@example.com', 'x' FROM generate_series(1, 2000) AS i;
INSERT INTO concerts (name, artist, venue, starts_at)
SELECT 'Concert ' || i, 'Artist', 'Venue', now() + make_interval(days => i)
  FROM generate_series(1, 200) AS i;
INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency, total_quantity)
SELECT id, 'GA', 1000, 'USD', 1000 FROM concerts;
-- Tickets set-based, not row by row through the issuing trigger.
ALTER TABLE bookings DISABLE TRIGGER tb_issue_tickets_on_insert;
WITH t AS (SELECT id, concert_id, row_number() OVER () AS n FROM ticket_tiers),
     u AS (SELECT id, row_number() OVER () AS n FROM users)
INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents, total_cents,
                      currency, status, hold_expires_at)
SELECT u.id, t.concert_id, t.id, 4, 1000, 4000, 'USD', 'CONFIRMED', now()
  FROM generate_series(1, 8000) AS i
  JOIN t ON t.n = 1 + i % 200
  JOIN u ON u.n = 1 + i % 2000;
ALTER TABLE bookings ENABLE TRIGGER tb_issue_tickets_on_insert;
INSERT INTO tickets (booking_id, concert_id, tier_id, admission, holder_id)
SELECT b.id, b.concert_id, b.tier_id, n, b.user_id
  FROM bookings b CROSS JOIN generate_series(1, 4) AS n;
-- Every tenth ticket given away: revoked, and a new one for another fan.
WITH given AS (
    UPDATE tickets SET revoked_at = now(), revoked_reason = 'transferred'
     WHERE admission = 1 AND random() < 0.4
 RETURNING *
), made AS (
    INSERT INTO tickets (booking_id, concert_id, tier_id, admission, holder_id, holder_name,
                         transferred_from)
    SELECT g.booking_id, g.concert_id, g.tier_id, g.admission,
           (SELECT id FROM users WHERE email = 'fan1@example.com'), 'Friend', g.id
      FROM given g
    RETURNING id, transferred_from, concert_id
)
INSERT INTO ticket_transfers (concert_id, from_ticket_id, to_ticket_id, from_user_id,
                              to_user_id)
SELECT m.concert_id, m.transferred_from, m.id, o.holder_id,
       (SELECT id FROM users WHERE email = 'fan1@example.com')
  FROM made m JOIN tickets o ON o.id = m.transferred_from;
ANALYZE;
"""


@pytest.fixture(scope="module")
def viewed_db(shared_db: str) -> str:
    """32,000 tickets and 3,200 transfers (EXPLAIN runs nothing, so no test changes it)."""
    execute(shared_db, VIEW_FILL_SQL)
    return shared_db


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
def test_the_ticket_views_read_through_indexes(viewed_db: str, mode: str) -> None:
    """Every ticket view joins the ticket it was given as (tickets.transferred_from), and a
    transferred ticket's email reads who gave it (ticket_transfers.to_ticket_id)."""
    given = fetch(
        viewed_db,
        "SELECT t.id, t.booking_id, o.holder_id FROM tickets t"
        " JOIN tickets o ON o.id = t.transferred_from LIMIT 1",
    )[0]
    plans = {
        "booking": explain(
            viewed_db,
            ticket_queries.TICKETS_OF_BOOKING_SQL,
            given["booking_id"],
            given["holder_id"],
            mode=mode,
        ),
        "ticket": explain(viewed_db, ticket_queries.TICKET_SQL, given["id"], mode=mode),
    }
    for name, plan in plans.items():
        text = f"{name} {describe(plan)}"
        paths = set(access_paths(plan, "tickets"))
        assert "Seq Scan" not in paths, text
        assert "uq_tickets_transferred_from" in paths, text
    sender = explain(viewed_db, mail_queries.TRANSFER_SENDER_SQL, given["id"], mode=mode)
    assert access_paths(sender, "ticket_transfers") == ["uq_ticket_transfers_to_ticket_id"], (
        describe(sender)
    )
    assert set(access_paths(sender, "users")) == {"pk_users"}, describe(sender)


def test_a_ticket_given_away_hides_when_its_new_holder_went_in_and_a_pdf_says_no_of_n(
    db_url: str, tmp_path: Path
) -> None:
    concert = make_concert(db_url, {"GA": 10})

    async def scene(services: AppServices) -> Any:
        fan = await _account(services)
        booking = await _book(services, fan.user_id, concert["tiers"]["GA"], 3)
        third = (await services.tickets.for_booking(booking, fan.user_id)).tickets[2]
        done = await services.tickets.transfer(
            ticket_id=third.id, sender=fan, email="new@example.com", name="New", address=None
        )
        await services.db.execute(
            "INSERT INTO checkins (booking_id, admission, ticket_id, concert_id, gate, scan_id)"
            " SELECT booking_id, admission, id, concert_id, 'North', gen_random_uuid()"
            " FROM tickets WHERE id = $1",
            done.to_ticket_id,
        )
        old = (await services.tickets.for_booking(booking, fan.user_id)).tickets[2]
        new = await services.tickets.ticket(done.to_ticket_id)
        return old, new

    old, new = _run(db_url, tmp_path, scene)
    assert old.status is TicketStatus.REVOKED and old.transferred_to == "New"
    assert old.used_at is None and old.used_gate is None
    assert new is not None and new.status is TicketStatus.USED
    assert new.used_at is not None and new.used_gate == "North"
    text = PdfReader(io.BytesIO(tickets_pdf([new]))).pages[0].extract_text()
    assert "admission 3" in text and "of 1" not in text


@pytest.mark.parametrize("retrying", [True, False], ids=["settle-retries", "control-no-retry"])
def test_a_settle_racing_a_guests_adoption_deadlocks_once_then_settles_as_the_accounts(
    db_url: str, tmp_path: Path, retrying: bool
) -> None:
    """docs/tickets.md, "Known limits": the adoption locks the guest row FOR UPDATE, then
    moves the guest's bookings; a settle in between confirms a booking (its row locked), and
    the issuing trigger's tickets reference the guest, whose foreign-key check waits for the
    guest row. Opposite orders: PostgreSQL aborts the one that waited first, the settle, and
    the adoption commits. The engine runs the settle again (db.pool.retry_deadlocked): the
    booking is then the account's, and confirmed with the account's ticket. The control,
    without the retry, leaves it PENDING with no ticket."""
    concert = make_concert(db_url, {"GA": 10})

    async def scene(services: AppServices) -> tuple[str, str, uuid.UUID]:
        guest = uuid.uuid4()
        await services.db.execute("INSERT INTO users (id, role) VALUES ($1, 'guest')", guest)
        account = await _account(services)
        booking: uuid.UUID = await services.db.fetchval(
            "INSERT INTO bookings (user_id, concert_id, tier_id, quantity, unit_price_cents,"
            " total_cents, currency, status, hold_expires_at)"
            " VALUES ($1, $2, $3, 1, 1000, 1000, 'USD', 'PENDING', now() + interval '5 min')"
            " RETURNING id",
            guest,
            uuid.UUID(concert["id"]),
            uuid.UUID(concert["tiers"]["GA"]),
        )

        async def settle_once() -> None:
            async with services.db.connection() as conn, conn.transaction():
                await conn.execute(
                    "UPDATE bookings SET status = 'CONFIRMED' WHERE id = $1 AND status = 'PENDING'",
                    booking,
                )

        async def settle() -> str:
            try:
                await (retry_deadlocked(settle_once) if retrying else settle_once())
            except asyncpg.DeadlockDetectedError:
                return "deadlock"
            return "committed"

        async with services.db.connection() as conn:
            tx = conn.transaction()
            await tx.start()
            assert await conn.fetchval(auth_queries.LOCK_GUEST_SQL, guest) == guest
            settling = asyncio.ensure_future(settle())
            await _blocked(services)  # the trigger's foreign-key check waits for the guest
            try:
                await conn.execute(
                    auth_queries.MOVE_BOOKINGS_SQL, guest, account.user_id, [booking]
                )
                await tx.commit()
                adoption = "committed"
            except asyncpg.DeadlockDetectedError:
                await tx.rollback()
                adoption = "deadlock"
        return adoption, await settling, account.user_id

    adoption, settle, account_id = _run(db_url, tmp_path, scene)
    [row] = fetch(db_url, "SELECT status, user_id FROM bookings")
    assert adoption == "committed" and row["user_id"] == account_id
    if retrying:
        assert settle == "committed" and row["status"] == "CONFIRMED"
        assert [t["holder_id"] for t in fetch(db_url, "SELECT holder_id FROM tickets")] == [
            account_id
        ]
    else:
        assert settle == "deadlock" and row["status"] == "PENDING"
        assert fetchval(db_url, "SELECT count(*) FROM tickets") == 0
