"""The door's desk on a real PostgreSQL: every outcome of a scan (forged, altered, revoked,
duplicate, wrong-concert and rotated-key codes), a scan id answered once, the two-gate race
(and its control run: the same harness against SCAN_SQL without its guard admits twice),
offline syncs and their conflicts, the bundle, door staff through the service and the CLI,
doctor's ticket checks, and the scan statement's plan.

Bookings are made and confirmed by the booking engine, so their tickets are the ones the
database's triggers issue (migration 0007).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.service.test_query_plans import access_paths, describe, explain, nodes
from tests.support.inprocess import app_settings, environment
from tests.support.inventory import doctor, execute, fetch, fetchval, make_concert
from ticketbook.auth.identity import Identity
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.checkin import queries
from ticketbook.checkin.service import CheckinDesk, OfflineScan
from ticketbook.cli.main import main
from ticketbook.db.pool import Database, create_pool, session_settings
from ticketbook.domain.enums import Role, ScanOutcome
from ticketbook.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from ticketbook.domain.schemas import ScanAnswer
from ticketbook.services import AppServices, open_services
from ticketbook.settings import Settings
from ticketbook.tickets import codes
from ticketbook.tickets.keys import TicketKeys

ADMIT, ALREADY_USED = ScanOutcome.ADMIT, ScanOutcome.ALREADY_USED
REVOKED, INVALID, WRONG_EVENT = ScanOutcome.REVOKED, ScanOutcome.INVALID, ScanOutcome.WRONG_EVENT
ZONE = "America/New_York"
SCAN_SQL_ORIGINAL = queries.SCAN_SQL


@dataclass
class Door:
    """A concert with booked tickets, and the services to scan them."""

    services: AppServices
    concert_id: uuid.UUID
    tiers: dict[str, uuid.UUID]

    @property
    def desk(self) -> CheckinDesk:
        return self.services.checkin

    async def account(self, prefix: str = "fan", role: Role = Role.FAN) -> uuid.UUID:
        user_id: uuid.UUID = await self.services.db.fetchval(
            "INSERT INTO users (role, email, password_hash) VALUES ($1, $2, 'x') RETURNING id",
            role.value,
            f"{prefix}-{uuid.uuid4().hex[:8]}@example.com",
        )
        return user_id

    async def book(
        self, quantity: int = 1, tier: str = "GA", user_id: uuid.UUID | None = None
    ) -> list[tuple[uuid.UUID, str]]:
        """A confirmed booking's tickets: [(ticket id, code)], in admission order."""
        user_id = user_id or await self.account()
        result = await self.services.engine.book(
            user_id=user_id, tier_id=self.tiers[tier], quantity=quantity, key=uuid.uuid4()
        )
        assert result.outcome is BookingOutcome.CONFIRMED, result
        assert result.booking is not None
        rows = await self.services.db.fetch(
            "SELECT id, tier_id, seat FROM tickets WHERE booking_id = $1 ORDER BY admission",
            result.booking.id,
        )
        return [(r["id"], self.code(r["id"], r["tier_id"], r["seat"])) for r in rows]

    def code(
        self,
        ticket_id: uuid.UUID,
        tier_id: uuid.UUID,
        seat: str | None = None,
        *,
        version: int = 1,
        keys: TicketKeys | None = None,
        concert_id: uuid.UUID | None = None,
    ) -> str:
        return (keys or self.services.ticket_keys).code(
            concert_id=concert_id or self.concert_id,
            key_version=version,
            ticket_id=ticket_id,
            tier_id=tier_id,
            seat=seat,
        )

    async def scan(
        self, code: str, gate: str = "Gate 1", scan_id: uuid.UUID | None = None, **kw: Any
    ) -> ScanAnswer:
        return await self.desk.scan(
            concert_id=kw.pop("concert_id", self.concert_id),
            code=code,
            gate=gate,
            scan_id=scan_id or uuid.uuid4(),
            staff_id=kw.pop("staff_id", None),
            **kw,
        )

    async def other_concert(self) -> uuid.UUID:
        concert_id, _ = await new_concert(self.services.db, {"GA": 5})
        return concert_id


async def new_concert(
    db: Database, tiers: dict[str, int], timezone: str = "UTC"
) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """make_concert's concert, from inside a running loop."""
    concert_id: uuid.UUID = await db.fetchval(
        "INSERT INTO concerts (name, artist, venue, starts_at, timezone)"
        " VALUES ('Door test', 'Artist', 'Venue', now() + interval '30 days', $1) RETURNING id",
        timezone,
    )
    ids = {}
    for tier_type, quantity in tiers.items():
        ids[tier_type] = await db.fetchval(
            "INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency,"
            " total_quantity) VALUES ($1, $2, 1000, 'USD', $3) RETURNING id",
            concert_id,
            tier_type,
            quantity,
        )
    return concert_id, ids


@contextlib.asynccontextmanager
async def door(db_url: str, tmp_path: Path, **tiers: int) -> AsyncIterator[Door]:
    async with open_services(
        app_settings(tmp_path), database_url=db_url, run_background_jobs=False
    ) as services:
        concert_id, ids = await new_concert(services.db, tiers or {"GA": 50, "VIP": 10}, ZONE)
        yield Door(services, concert_id, ids)


def checkins(db_url: str) -> int:
    return int(fetchval(db_url, "SELECT count(*) FROM checkins"))


# -- outcomes ---------------------------------------------------------------------------------


def test_a_ticket_is_admitted_once_then_already_used_with_the_first_gate_and_time(
    db_url: str, tmp_path: Path
) -> None:
    async def run() -> tuple[ScanAnswer, ScanAnswer, ScanAnswer]:
        async with door(db_url, tmp_path) as d:
            (ticket_id, code), (_, other) = await d.book(2, "VIP")
            first = await d.scan(code, "Gate 1", device="phone-1")
            again = await d.scan(code, "Gate 2")
            next_one = await d.scan(other, "Gate 1")
            assert first.ticket is not None and first.ticket.ticket_id == ticket_id
            return first, again, next_one

    first, again, next_one = asyncio.run(run())
    assert first.outcome is ADMIT
    assert first.message == "Admit: VIP"
    assert first.ticket is not None and first.ticket.tier == "VIP"
    assert first.ticket.holder.startswith("f***@example.com"[:4])
    assert first.first_admitted is None
    assert first.gate_count == 1
    assert again.outcome is ALREADY_USED
    assert again.gate_count == 0  # nobody admitted at Gate 2
    admitted_at = fetchval(db_url, "SELECT admitted_at FROM checkins")
    assert again.first_admitted is not None
    assert again.first_admitted.gate == "Gate 1"
    assert again.first_admitted.at == admitted_at
    assert again.first_admitted.device == "phone-1"
    local = admitted_at.astimezone(ZoneInfo(ZONE)).strftime("%H:%M")
    assert again.message == f"Already used at Gate 1, {local}"
    assert next_one.outcome is ADMIT and next_one.gate_count == 2
    assert checkins(db_url) == 2
    outcomes = fetch(db_url, "SELECT outcome, gate FROM checkin_scans ORDER BY recorded_at")
    assert [(r["outcome"], r["gate"]) for r in outcomes] == [
        ("ADMIT", "Gate 1"),
        ("ALREADY_USED", "Gate 2"),
        ("ADMIT", "Gate 1"),
    ]
    assert doctor(db_url).violations == 0


def test_the_same_scan_id_twice_is_one_entry_and_the_first_answer(
    db_url: str, tmp_path: Path
) -> None:
    async def run() -> list[ScanAnswer]:
        async with door(db_url, tmp_path) as d:
            (_, code), (_, other) = await d.book(2)
            scan_id = uuid.uuid4()
            answers = [await d.scan(code, "Gate 1", scan_id) for _ in range(3)]
            # A retry racing its original: still one entry, one answer.
            racing_id = uuid.uuid4()
            answers += await asyncio.gather(*(d.scan(other, "Gate 3", racing_id) for _ in range(8)))
            with pytest.raises(Conflict):
                await d.scan(other, "Gate 1", scan_id)  # another code under a used scan id
            return answers

    answers = asyncio.run(run())
    assert [a.outcome for a in answers[:3]] == [ADMIT] * 3
    assert {a.gate_count for a in answers[:3]} == {1}
    assert [a.outcome for a in answers[3:]] == [ADMIT] * 8
    assert checkins(db_url) == 2
    assert fetchval(db_url, "SELECT count(*) FROM checkin_scans") == 2


def test_a_code_signed_with_another_key_is_invalid(db_url: str, tmp_path: Path) -> None:
    async def run() -> ScanAnswer:
        async with door(db_url, tmp_path) as d:
            [(ticket_id, _)] = await d.book()
            forged = d.code(ticket_id, d.tiers["GA"], keys=TicketKeys("someone else's secret"))
            return await d.scan(forged)

    answer = asyncio.run(run())
    assert answer.outcome is INVALID
    assert "signature" in answer.message and answer.ticket is None
    assert checkins(db_url) == 0
    scan = fetch(db_url, "SELECT outcome, ticket_id FROM checkin_scans")
    assert [(r["outcome"], r["ticket_id"]) for r in scan] == [("INVALID", None)]


def _flipped(code: str, i: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    other = alphabet[(alphabet.index(code[i]) + 1) % len(alphabet)]
    return code[:i] + other + code[i + 1 :]


def test_a_code_with_any_one_character_flipped_never_admits(db_url: str, tmp_path: Path) -> None:
    """Every position of a general-admission code (its base32 has no spare bits): one flipped
    character is INVALID, or WRONG_EVENT where it lands in the concert's id."""

    async def run() -> tuple[list[tuple[int, ScanAnswer]], ScanAnswer]:
        async with door(db_url, tmp_path) as d:
            [(_, code)] = await d.book()
            altered = [(i, await d.scan(_flipped(code, i))) for i in range(2, len(code))]
            return altered, await d.scan(code)

    altered, genuine = asyncio.run(run())
    assert len(altered) == 152
    for i, answer in altered:
        # The concert id's first 8 bytes are bits 24..87 of the payload: characters 4..17
        # after "TB" (a character straddling a boundary may change either side).
        expected = {WRONG_EVENT, INVALID} if 6 <= i <= 19 else {INVALID}
        assert answer.outcome in expected, (i, answer)
        assert answer.ticket is None
    assert Counter(a.outcome for _, a in altered)[INVALID] > 130
    assert genuine.outcome is ADMIT
    assert checkins(db_url) == 1


def test_garbage_and_unknown_tickets_are_invalid(db_url: str, tmp_path: Path) -> None:
    async def run() -> list[ScanAnswer]:
        async with door(db_url, tmp_path) as d:
            [(_, code)] = await d.book()
            unknown = d.code(uuid.uuid4(), d.tiers["GA"])  # signed, but no such ticket
            return [
                await d.scan("hello"),
                await d.scan("TB" + "A" * 10),
                await d.scan(code + "AAAAAAAA"),
                await d.scan("x" * 500),
                await d.scan(unknown),
                await d.scan(code.lower()),  # scanners may type lower case: still the code
            ]

    *bad, unknown, lower = asyncio.run(run())
    assert [a.outcome for a in bad] == [INVALID] * 4
    assert all(a.message.startswith("Invalid:") and a.ticket is None for a in bad)
    assert unknown.outcome is INVALID and unknown.message == "Invalid: no such ticket"
    assert lower.outcome is ADMIT


def test_a_cancelled_booking_and_a_transferred_ticket_are_revoked(
    db_url: str, tmp_path: Path
) -> None:
    async def run() -> tuple[ScanAnswer, ScanAnswer, ScanAnswer]:
        async with door(db_url, tmp_path) as d:
            fan = await d.account()
            [(_, cancelled)] = await d.book(1, user_id=fan)
            booking_id = await d.services.db.fetchval(
                "SELECT booking_id FROM tickets WHERE holder_id = $1", fan
            )
            await d.services.engine.cancel(user_id=fan, booking_id=booking_id)
            (given, transferred), (_, kept) = await d.book(2)
            await d.services.db.execute(
                "UPDATE tickets SET revoked_at = now(), revoked_reason = 'transferred'"
                " WHERE id = $1",
                given,
            )
            return await d.scan(cancelled), await d.scan(transferred), await d.scan(kept)

    cancelled, transferred, kept = asyncio.run(run())
    assert cancelled.outcome is REVOKED
    assert cancelled.message == "Revoked: this booking was cancelled"
    assert cancelled.ticket is not None
    assert transferred.outcome is REVOKED
    assert transferred.message == "Revoked: this ticket was transferred"
    assert kept.outcome is ADMIT
    assert checkins(db_url) == 1


TRANSFER_SQL = (
    "WITH gone AS (UPDATE tickets SET revoked_at = now(),"
    " revoked_reason = 'transferred' WHERE id = $1 RETURNING *)"
    " INSERT INTO tickets (booking_id, concert_id, tier_id, admission, seat,"
    " holder_id, holder_name, transferred_from)"
    " SELECT booking_id, concert_id, tier_id, admission, seat, holder_id,"
    " 'Ada Lovelace', id FROM gone RETURNING id"
)


def test_an_admission_enters_once_whichever_ticket_carries_it(db_url: str, tmp_path: Path) -> None:
    """A ticket admitted, then transferred (a new ticket for the same admission): the new
    holder's code is ALREADY_USED, not a second entry."""

    async def run() -> tuple[ScanAnswer, ScanAnswer]:
        async with door(db_url, tmp_path) as d:
            [(old, code)] = await d.book()
            first = await d.scan(code, "North")
            new = await d.services.db.fetchval(TRANSFER_SQL, old)
            return first, await d.scan(d.code(new, d.tiers["GA"]), "South")

    first, second = asyncio.run(run())
    assert first.outcome is ADMIT
    assert second.outcome is ALREADY_USED
    assert second.first_admitted is not None and second.first_admitted.gate == "North"
    assert second.ticket is not None and second.ticket.holder == "Ada Lovelace"
    assert checkins(db_url) == 1


def test_another_concerts_code_is_wrong_event(db_url: str, tmp_path: Path) -> None:
    async def run() -> tuple[ScanAnswer, ScanAnswer]:
        async with door(db_url, tmp_path) as d:
            [(_, code)] = await d.book()
            other = await d.other_concert()
            wrong = await d.scan(code, concert_id=other)
            # A code of ours made for another concert's id, with this ticket's id.
            ticket_id = await d.services.db.fetchval("SELECT id FROM tickets")
            elsewhere = d.code(ticket_id, d.tiers["GA"], concert_id=other)
            return wrong, await d.scan(elsewhere)

    wrong, elsewhere = asyncio.run(run())
    assert wrong.outcome is WRONG_EVENT and wrong.ticket is None
    assert wrong.message == "Wrong event: this ticket is for another concert"
    assert elsewhere.outcome is WRONG_EVENT
    assert checkins(db_url) == 0


def test_a_rotated_key_revokes_the_old_codes_and_admits_the_new(
    db_url: str, tmp_path: Path
) -> None:
    async def run() -> list[ScanAnswer]:
        async with door(db_url, tmp_path) as d:
            [(ticket_id, old)] = await d.book()
            await d.services.db.execute(
                "UPDATE concerts SET ticket_key_version = 2 WHERE id = $1", d.concert_id
            )
            new = d.code(ticket_id, d.tiers["GA"], version=2)
            # Signed under a version the concert hasn't reached: nobody could have issued it.
            ahead = d.code(ticket_id, d.tiers["GA"], version=3)
            return [await d.scan(old), await d.scan(ahead), await d.scan(new)]

    old, ahead, new = asyncio.run(run())
    assert old.outcome is REVOKED
    assert old.message == "Revoked: this code was replaced by a newer one"
    assert ahead.outcome is INVALID
    assert new.outcome is ADMIT
    assert checkins(db_url) == 1


# -- who may scan --------------------------------------------------------------------------


def test_only_the_concerts_staff_and_organizer_may_scan(db_url: str, tmp_path: Path) -> None:
    async def run() -> None:
        async with door(db_url, tmp_path) as d:
            [(_, code)] = await d.book()
            organizer = await d.account("org", Role.ORGANIZER)
            rival = await d.account("rival", Role.ORGANIZER)
            staff = await d.account("staff")
            stranger = await d.account("stranger")
            await d.services.db.execute(
                "UPDATE concerts SET organizer_id = $1 WHERE id = $2", organizer, d.concert_id
            )
            rival_concert = await d.other_concert()
            await d.services.db.execute(
                "UPDATE concerts SET organizer_id = $1 WHERE id = $2", rival, rival_concert
            )
            owner = Identity(organizer, Role.ORGANIZER, "org@example.com")
            staff_email = await d.services.db.fetchval(
                "SELECT email FROM users WHERE id = $1", staff
            )
            member = await d.desk.grant(concert_id=d.concert_id, email=staff_email, by=owner)
            assert member.user_id == staff and member.granted_by == organizer
            for nobody in (stranger, rival):
                assert not await d.desk.may_scan(nobody, d.concert_id)
                with pytest.raises(Forbidden):
                    await d.scan(code, staff_id=nobody)
                with pytest.raises(Forbidden):
                    await d.desk.authorize(nobody, d.concert_id)
                with pytest.raises(Forbidden):
                    await d.desk.sync(
                        concert_id=d.concert_id, staff_id=nobody, device="d", scans=[]
                    )
            assert await d.services.db.fetchval("SELECT count(*) FROM checkins") == 0
            assert await d.desk.may_scan(staff, d.concert_id)
            assert await d.desk.may_scan(organizer, d.concert_id)
            assert not await d.desk.may_scan(staff, rival_concert)
            assert (await d.scan(code, staff_id=staff)).outcome is ADMIT
            assert (await d.scan(code, staff_id=organizer)).outcome is ALREADY_USED
            staff_of = await d.services.db.fetchval("SELECT staff_id FROM checkins")
            assert staff_of == staff
            with pytest.raises(NotFound):
                await d.scan(code, staff_id=staff, concert_id=uuid.uuid4())
            with pytest.raises(NotFound):
                await d.desk.authorize(staff, uuid.uuid4())
            # Taken back: the next scan is refused at once.
            await d.desk.revoke(concert_id=d.concert_id, user_id=staff, by=owner)
            with pytest.raises(Forbidden):
                await d.scan(code, staff_id=staff)
            # Only the organizer manages the staff; an operator (by=None) any concert's.
            rival_identity = Identity(rival, Role.ORGANIZER, "rival@example.com")
            with pytest.raises(Forbidden):
                await d.desk.grant(concert_id=d.concert_id, email=staff_email, by=rival_identity)
            with pytest.raises(Forbidden):
                await d.desk.staff(concert_id=d.concert_id, by=rival_identity)
            with pytest.raises(NotFound):
                await d.desk.grant(concert_id=d.concert_id, email="nobody@example.com", by=owner)
            with pytest.raises(InvalidInput):
                await d.desk.grant(concert_id=d.concert_id, email="not an email", by=owner)
            with pytest.raises(NotFound):
                await d.desk.revoke(concert_id=d.concert_id, user_id=staff, by=owner)
            await d.desk.grant(concert_id=rival_concert, email=staff_email, by=None)
            assert await d.desk.may_scan(staff, rival_concert)

    asyncio.run(run())


# -- the two-gate race ------------------------------------------------------------------------

RACERS = 16  # scans of one ticket at once, half at each gate, each on its own connection
ROUNDS = 5


async def _racing_desk(
    db_url: str, keys: TicketKeys, **server_settings: str
) -> tuple[asyncpg.Pool, CheckinDesk]:
    # Every racer holds a connection of its own the moment the gate opens.
    settings = Settings()
    pool = await create_pool(
        db_url,
        settings,
        min_size=RACERS,
        max_size=RACERS,
        server_settings={**session_settings(settings), **server_settings},
    )
    return pool, CheckinDesk(Database(pool, 10.0), keys)


# Statements of this database waiting for a lock (the racers, on the gatekeeper's row lock).
WAITING = (
    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE NOT l.granted AND a.datname = current_database()"
)


async def _race(
    db_url: str,
    desk: CheckinDesk,
    concert_id: uuid.UUID,
    tickets: list[tuple[uuid.UUID, str]],
) -> list[list[ScanAnswer]]:
    """The race, one round per ticket: RACERS scans of its code at once, half at each gate;
    each round's answers. The real test and its control run this same harness.

    "At once" is held by the database: a gatekeeper connection locks the ticket's row (FOR
    UPDATE, which the scan's FOR SHARE waits for) until every racer's statement is waiting
    on it, then lets them all go. Each racer took its snapshot before it waited, so none of
    them can see another's entry: they overlap as fully as a race can (asyncio alone sends
    them one verify apart, about a scan's time, and a lock they wait for before their
    snapshot left the later ones seeing the first one's entry on two busy cores)."""
    gatekeeper = await asyncpg.connect(db_url)
    rounds = []
    try:
        for ticket_id, code in tickets:
            closed = gatekeeper.transaction()
            await closed.start()
            await gatekeeper.execute("SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE", ticket_id)

            async def scan(n: int, code: str = code) -> ScanAnswer:
                return await desk.scan(
                    concert_id=concert_id,
                    code=code,
                    gate=f"Gate {n % 2 + 1}",
                    scan_id=uuid.uuid4(),
                    staff_id=None,
                )

            tasks = [asyncio.create_task(scan(n)) for n in range(RACERS)]
            deadline = asyncio.get_running_loop().time() + 10
            while await gatekeeper.fetchval(WAITING) < RACERS:
                assert asyncio.get_running_loop().time() < deadline, "racers never queued"
                await asyncio.sleep(0.005)
            await closed.commit()  # the gate opens
            rounds.append(list(await asyncio.gather(*tasks)))
    finally:
        await gatekeeper.close()
    return rounds


def test_two_gates_scanning_one_ticket_at_the_same_moment_admit_it_once(
    db_url: str, tmp_path: Path
) -> None:
    async def run() -> list[Counter[ScanOutcome]]:
        async with door(db_url, tmp_path) as d:
            tickets = await d.book(ROUNDS)
            pool, desk = await _racing_desk(db_url, d.services.ticket_keys)
            try:
                rounds = await _race(db_url, desk, d.concert_id, tickets)
                for (ticket_id, _), answers in zip(tickets, rounds, strict=True):
                    # Even a loser that raced the winner names the winner's entry.
                    entry = await pool.fetchrow(
                        "SELECT gate, admitted_at FROM checkins WHERE ticket_id = $1", ticket_id
                    )
                    for a in answers:
                        assert a.ticket is not None and a.ticket.ticket_id == ticket_id
                        if a.outcome is ALREADY_USED:
                            assert a.first_admitted is not None
                            assert a.first_admitted.gate == entry["gate"]
                            assert a.first_admitted.at == entry["admitted_at"]
            finally:
                await pool.close()
            return [Counter(a.outcome for a in answers) for answers in rounds]

    rounds = asyncio.run(run())
    for outcomes in rounds:
        assert outcomes == {ADMIT: 1, ALREADY_USED: RACERS - 1}, outcomes
    assert checkins(db_url) == ROUNDS
    assert fetchval(db_url, "SELECT count(*) FROM checkin_scans") == ROUNDS * RACERS
    assert doctor(db_url).violations == 0


# The control's broken statement: SCAN_SQL with its guard taken out. The entry is inserted
# after a read (NOT EXISTS) instead of ON CONFLICT on the primary key, into a scratch
# schema's copy of checkins without that key (the search path puts it before public's).
GUARD = "ON CONFLICT (booking_id, admission) DO NOTHING"
READ_THEN_INSERT = (
    "WHERE NOT EXISTS (SELECT 1 FROM checkins x"
    " WHERE x.booking_id = l.booking_id AND x.admission = l.admission)"
)
SCRATCH = "tb_race_control"


def test_control_the_same_race_against_scan_sql_without_its_guard_admits_twice(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same harness against a deliberately broken copy of SCAN_SQL lets a ticket in more
    than once: the race test above can catch a statement that lost its guard. (The broken
    statement is right one scan at a time; only the race shows it.)"""
    assert SCAN_SQL_ORIGINAL.count(GUARD) == 1
    monkeypatch.setattr(queries, "SCAN_SQL", SCAN_SQL_ORIGINAL.replace(GUARD, READ_THEN_INSERT))

    async def run() -> tuple[list[int], list[ScanOutcome]]:
        async with door(db_url, tmp_path) as d:
            tickets = await d.book(ROUNDS + 1)
            await d.services.db.execute(
                f"CREATE SCHEMA {SCRATCH};"
                f" CREATE TABLE {SCRATCH}.checkins (LIKE public.checkins INCLUDING DEFAULTS)"
            )
            pool, desk = await _racing_desk(
                db_url, d.services.ticket_keys, search_path=f"{SCRATCH}, public"
            )
            try:
                (_, one), *racing = tickets
                sequential = [
                    (
                        await desk.scan(
                            concert_id=d.concert_id,
                            code=one,
                            gate="G",
                            scan_id=uuid.uuid4(),
                            staff_id=None,
                        )
                    ).outcome
                    for _ in range(2)
                ]
                rounds = await _race(db_url, desk, d.concert_id, racing)
            finally:
                await pool.close()
                await d.services.db.execute(f"DROP SCHEMA {SCRATCH} CASCADE")
            return [sum(a.outcome is ADMIT for a in answers) for answers in rounds], sequential

    admitted, sequential = asyncio.run(run())
    assert sequential == [ADMIT, ALREADY_USED]
    assert all(n >= 1 for n in admitted)
    assert max(admitted) > 1, admitted
    print(f"control: admitted {admitted} times in {ROUNDS} rounds of {RACERS} racers")


# -- offline ---------------------------------------------------------------------------------


def test_two_offline_devices_admitting_one_ticket_record_one_entry_and_a_conflict(
    db_url: str, tmp_path: Path
) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=30)

    def offline(code: str, gate: str, minutes: int) -> OfflineScan:
        return OfflineScan(uuid.uuid4(), code, gate, t0 + timedelta(minutes=minutes), "ADMIT")

    async def run() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with door(db_url, tmp_path) as d:
            (ticket_id, code), (_, other) = await d.book(2)
            north = [offline(code, "North", 1), offline(other, "North", 2)]
            south = [offline(code, "South", 3)]
            a = await d.desk.sync(concert_id=d.concert_id, staff_id=None, device="A", scans=north)
            b = await d.desk.sync(concert_id=d.concert_id, staff_id=None, device="B", scans=south)
            # A device re-sending its queue (its answer was lost) changes nothing.
            again = await d.desk.sync(
                concert_id=d.concert_id, staff_id=None, device="A", scans=north
            )
            later = await d.desk.sync(concert_id=d.concert_id, staff_id=None, device="C", scans=[])
            assert str(ticket_id) == b["conflicts"][0]["ticketId"]
            return a, b, again, later

    a, b, again, later = asyncio.run(run())
    assert [r["outcome"] for r in a["recorded"]] == ["ADMIT", "ADMIT"]
    assert a["conflicts"] == []
    assert [r["outcome"] for r in b["recorded"]] == ["ALREADY_USED"]
    assert b["recorded"][0]["firstAdmitted"]["gate"] == "North"
    [conflict] = b["conflicts"]
    assert conflict["admitted"]["gate"] == "North"
    assert conflict["admitted"]["device"] == "A"
    assert datetime.fromisoformat(conflict["admitted"]["at"]) == t0 + timedelta(minutes=1)
    [also] = conflict["alsoAdmitted"]
    assert (also["gate"], also["device"]) == ("South", "B")
    assert datetime.fromisoformat(also["at"]) == t0 + timedelta(minutes=3)
    assert conflict["holder"].endswith("***@example.com")
    # The same answers (the gate's count is today's, two admitted at North by now).
    assert [{**r, "gateCount": 0} for r in again["recorded"]] == [
        {**r, "gateCount": 0} for r in a["recorded"]
    ]
    assert again["conflicts"] == later["conflicts"] == b["conflicts"]
    assert checkins(db_url) == 2
    assert fetchval(db_url, "SELECT count(*) FROM checkin_scans") == 3
    assert doctor(db_url).violations == 0


def test_an_offline_admit_the_server_refuses_as_revoked_is_a_conflict_naming_it(
    db_url: str, tmp_path: Path
) -> None:
    """A transfer the device's bundle hadn't heard of: the new holder's code is let in online
    at one gate, the old code offline at another. The old code's sync is REVOKED, and the
    offline ADMIT is reported (it was only reported when the server said ALREADY_USED); a
    cancelled booking let in offline likewise, with no entry."""
    t0 = datetime.now(UTC) - timedelta(minutes=20)

    async def run() -> tuple[dict[str, Any], uuid.UUID]:
        async with door(db_url, tmp_path) as d:
            [(old, code)] = await d.book()
            [(cancelled_id, cancelled)] = await d.book()
            new = await d.services.db.fetchval(TRANSFER_SQL, old)
            assert (await d.scan(d.code(new, d.tiers["GA"]), "Main")).outcome is ADMIT
            await d.services.db.execute(
                "UPDATE tickets SET revoked_at = now(), revoked_reason = 'cancelled' WHERE id = $1",
                cancelled_id,
            )
            scans = [
                OfflineScan(uuid.uuid4(), code, "Side", t0, "ADMIT"),
                OfflineScan(uuid.uuid4(), cancelled, "Side", t0 + timedelta(minutes=1), "ADMIT"),
            ]
            answer = await d.desk.sync(
                concert_id=d.concert_id, staff_id=None, device="side-1", scans=scans
            )
            return answer, new

    answer, new = asyncio.run(run())
    assert [r["outcome"] for r in answer["recorded"]] == ["REVOKED", "REVOKED"]
    transferred, cancelled = answer["conflicts"]
    # The entry that let the admission in (online, after the offline scan: the first synced
    # wins) under the ticket that carries it now.
    assert transferred["ticketId"] == str(new) and transferred["holder"] == "Ada Lovelace"
    assert transferred["admitted"]["gate"] == "Main"
    [also] = transferred["alsoAdmitted"]
    assert (also["gate"], also["device"], also["outcome"]) == ("Side", "side-1", "REVOKED")
    assert cancelled["admitted"] is None
    assert [a["outcome"] for a in cancelled["alsoAdmitted"]] == ["REVOKED"]


def test_a_sync_checks_what_a_device_sends(db_url: str, tmp_path: Path) -> None:
    async def run() -> None:
        async with door(db_url, tmp_path) as d:
            [(_, code)] = await d.book()
            naive = OfflineScan(uuid.uuid4(), code, "G", datetime(2030, 1, 1), "ADMIT")
            with pytest.raises(InvalidInput, match="UTC offset"):
                await d.desk.sync(concert_id=d.concert_id, staff_id=None, device="A", scans=[naive])
            odd = OfflineScan(uuid.uuid4(), code, "G", datetime.now(UTC), "MAYBE")
            with pytest.raises(InvalidInput, match="offlineOutcome"):
                await d.desk.sync(concert_id=d.concert_id, staff_id=None, device="A", scans=[odd])
            # A device clock ahead of ours: the entry is dated now, not in the future.
            ahead = OfflineScan(
                uuid.uuid4(), code, "G", datetime.now(UTC) + timedelta(days=1), "ADMIT"
            )
            answer = await d.desk.sync(
                concert_id=d.concert_id, staff_id=None, device="A", scans=[ahead]
            )
            assert answer["recorded"][0]["outcome"] == "ADMIT"
            at = await d.services.db.fetchval("SELECT admitted_at FROM checkins")
            assert at <= datetime.now(UTC)

    asyncio.run(run())
    assert checkins(db_url) == 1


def test_the_bundle_holds_what_a_scanner_needs_offline(db_url: str, tmp_path: Path) -> None:
    async def run() -> tuple[dict[str, Any], list[tuple[uuid.UUID, str]], uuid.UUID]:
        async with door(db_url, tmp_path) as d:
            tickets = await d.book(3)
            guest = await d.services.db.fetchval("INSERT INTO users DEFAULT VALUES RETURNING id")
            [(guests, _)] = await d.book(1, "VIP", user_id=guest)
            await d.services.db.execute(
                "UPDATE tickets SET holder_name = 'Grace Hopper' WHERE id = $1", tickets[1][0]
            )
            await d.services.db.execute(
                "UPDATE tickets SET revoked_at = now(), revoked_reason = 'transferred'"
                " WHERE id = $1",
                tickets[2][0],
            )
            await d.scan(tickets[0][1], "Gate 7")
            return await d.desk.bundle(d.concert_id), tickets, guests

    bundle, tickets, guests = asyncio.run(run())
    by_id = {t["ticketId"]: t for t in bundle["tickets"]}
    assert set(by_id) == {str(tickets[0][0]), str(tickets[1][0]), str(guests)}
    assert by_id[str(tickets[0][0])]["holder"].endswith("***@example.com")
    assert by_id[str(tickets[0][0])]["holder"][1:4] == "***"
    assert by_id[str(tickets[1][0])]["holder"] == "Grace Hopper"
    assert by_id[str(guests)] == {
        "ticketId": str(guests),
        "admissionKey": by_id[str(guests)]["admissionKey"],
        "seat": None,
        "tier": "VIP",
        "holder": "Guest",
    }
    # One opaque key per admission (a device lets an admission in once, whichever ticket
    # carries it): distinct, short, and not the booking id.
    keys = [t["admissionKey"] for t in bundle["tickets"]]
    assert len(set(keys)) == 3 and all(len(k) == 12 for k in keys)
    booking_ids = fetch(db_url, "SELECT DISTINCT booking_id::text AS b FROM tickets")
    assert not any(
        r["b"] in str(bundle) or r["b"].replace("-", "") in str(bundle) for r in booking_ids
    )
    assert bundle["revoked"] == [str(tickets[2][0])]
    [admitted] = bundle["admitted"]
    assert admitted["ticketId"] == str(tickets[0][0]) and admitted["gate"] == "Gate 7"
    assert admitted["admissionKey"] == by_id[str(tickets[0][0])]["admissionKey"]
    assert bundle["timezone"] == ZONE and bundle["keyVersion"] == 1
    # The public key verifies the codes, offline: the scanner page's whole job.
    raw = base64.urlsafe_b64decode(bundle["publicKey"] + "=" * (-len(bundle["publicKey"]) % 4))
    assert len(raw) == 32
    claim = codes.verify(tickets[0][1], Ed25519PublicKey.from_public_bytes(raw))
    assert claim.ticket_id == tickets[0][0]
    assert bundle["generatedAt"].endswith("Z") and bundle["startsAt"].endswith("Z")
    assert set(bundle) == {
        "concertId",
        "concertName",
        "startsAt",
        "timezone",
        "keyVersion",
        "publicKey",
        "tickets",
        "revoked",
        "admitted",
        "generatedAt",
    }


def test_gate_counts_count_admissions_per_gate(db_url: str, tmp_path: Path) -> None:
    async def run() -> tuple[dict[str, int], list[ScanAnswer]]:
        async with door(db_url, tmp_path) as d:
            tickets = await d.book(5)
            answers = [
                await d.scan(code, gate) for (_, code), gate in zip(tickets, "AABAB", strict=True)
            ]
            answers.append(await d.scan(tickets[0][1], "B"))  # already used: not counted
            return await d.desk.gate_counts(d.concert_id), answers

    counts, answers = asyncio.run(run())
    assert counts == {"A": 3, "B": 2}
    assert [a.gate_count for a in answers] == [1, 2, 1, 3, 2, 2]


# -- the staff command ------------------------------------------------------------------------


def test_the_staff_command_grants_lists_and_revokes(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    concert_id = make_concert(db_url, {"GA": 5})["id"]
    email = f"door-{uuid.uuid4().hex[:6]}@example.com"
    user_id = fetchval(
        db_url,
        "INSERT INTO users (role, email, password_hash) VALUES ('fan', $1, 'x') RETURNING id",
        email,
    )
    env = {"DATABASE_URL": db_url, "TICKETBOOK_DATA_DIR": str(tmp_path)}
    with environment(env):
        assert main(["staff", "grant", concert_id, email.upper()]) == 0
        assert f"{email} ({user_id}) may check tickets in" in capsys.readouterr().out
        assert main(["staff", "grant", concert_id, email]) == 0  # twice: still one grant
        capsys.readouterr()
        assert main(["staff", "list", concert_id]) == 0
        listed = capsys.readouterr().out
        assert f"{email}\t{user_id}\t" in listed and "granted by the operator" in listed
        assert "1 door staff" in listed
        assert main(["staff", "revoke", concert_id, email]) == 0
        assert "may no longer" in capsys.readouterr().out
        assert main(["staff", "revoke", concert_id, email]) == 2
        assert "not door staff" in capsys.readouterr().err
        assert main(["staff", "grant", concert_id, "nobody@example.com"]) == 2
        assert "No account with the email nobody@example.com" in capsys.readouterr().err
        assert main(["staff", "grant", str(uuid.uuid4()), email]) == 2
        assert "Concert not found" in capsys.readouterr().err
        assert main(["staff", "list", concert_id]) == 0
        assert "0 door staff" in capsys.readouterr().out
    assert fetchval(db_url, "SELECT count(*) FROM checkin_staff") == 0


# -- doctor -----------------------------------------------------------------------------------


def test_doctor_finds_missing_unrevoked_and_misplaced_tickets(db_url: str, tmp_path: Path) -> None:
    async def run() -> list[tuple[uuid.UUID, str]]:
        async with door(db_url, tmp_path) as d:
            tickets = await d.book(3)
            await d.scan(tickets[0][1])
            return tickets

    tickets = asyncio.run(run())
    report = doctor(db_url)
    assert report.violations == 0, report.lines
    assert any("one live ticket per admission" in line for line in report.lines)
    other = make_concert(db_url, {"GA": 5})["id"]
    execute(db_url, "UPDATE checkins SET concert_id = $1", uuid.UUID(other))
    execute(
        db_url,
        "UPDATE tickets SET revoked_at = now(), revoked_reason = 'cancelled' WHERE id = $1",
        tickets[1][0],
    )
    report = doctor(db_url)
    assert any("don't have one live ticket per admission" in line for line in report.lines)
    assert any("check-ins are of a ticket of another concert" in line for line in report.lines)
    execute(db_url, "UPDATE tickets SET revoked_at = NULL, revoked_reason = NULL")
    # Cancelled behind the triggers' back: the booking is gone, its tickets still admit.
    execute(db_url, "ALTER TABLE bookings DISABLE TRIGGER tb_revoke_tickets")
    execute(db_url, "UPDATE bookings SET status = 'CANCELLED'")
    report = doctor(db_url)
    assert any("that aren't confirmed still have live tickets" in line for line in report.lines)
    assert any(
        "ticket triggers missing or disabled: tb_revoke_tickets" in line for line in report.lines
    )


# -- the plan --------------------------------------------------------------------------------

FILL_SQL = """
INSERT INTO users (role, email, password_hash)
SELECT 'fan', 'fan' || i || '@example.com', 'x' FROM generate_series(1, 2000) AS i;
INSERT INTO concerts (name, artist, venue, starts_at)
SELECT 'Concert ' || i, 'Artist', 'Venue', now() + make_interval(days => i)
  FROM generate_series(1, 3000) AS i;
INSERT INTO checkin_staff (concert_id, user_id)
SELECT c.id, u.id FROM concerts c JOIN users u ON u.email LIKE 'fan1%' AND random() < 0.05;
INSERT INTO ticket_tiers (concert_id, tier_type, price_cents, currency, total_quantity)
SELECT id, 'GA', 1000, 'USD', 1000 FROM concerts;
-- Tickets set-based, not row by row through the issuing trigger: seconds faster.
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
INSERT INTO checkin_scans (scan_id, concert_id, ticket_id, gate, outcome, scanned_at)
SELECT gen_random_uuid(), concert_id, id, 'Gate ' || (admission % 4), 'ADMIT', now()
  FROM tickets WHERE admission <= 2;
INSERT INTO checkins (booking_id, admission, ticket_id, concert_id, gate, scan_id)
SELECT t.booking_id, t.admission, t.id, t.concert_id, s.gate, s.scan_id
  FROM tickets t JOIN checkin_scans s ON s.ticket_id = t.id;
ANALYZE;
"""


@pytest.fixture(scope="module")
def scanned_db(shared_db: str) -> str:
    """32,000 tickets over 200 of 3,000 concerts, half of them scanned in (EXPLAIN runs
    nothing, so no test changes it)."""
    execute(shared_db, FILL_SQL)
    return shared_db


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
def test_the_scan_statement_reads_and_writes_through_indexes(scanned_db: str, mode: str) -> None:
    row = fetch(
        scanned_db,
        "SELECT t.id, t.concert_id, t.tier_id FROM tickets t LIMIT 1",
    )[0]
    args = (
        uuid.uuid4(),
        row["concert_id"],
        row["id"],
        1,
        "Gate 1",
        None,
        uuid.uuid4(),
        None,
        None,
        None,
    )
    plan = explain(scanned_db, queries.SCAN_SQL, *args, mode=mode)
    text = describe(plan)
    assert not [n for n in nodes(plan) if n["Node Type"] == "Seq Scan"], text
    assert set(access_paths(plan, "tickets")) == {"pk_tickets"}, text
    assert set(access_paths(plan, "concerts")) == {"pk_concerts"}, text
    # The entry by its admission; the gate's running count from the (concert, gate) index.
    assert set(access_paths(plan, "checkins")) == {"pk_checkins", "ix_checkins_concert_id_gate"}
    assert set(access_paths(plan, "checkin_scans")) == {"pk_checkin_scans"}, text
    assert set(access_paths(plan, "checkin_staff")) == {"pk_checkin_staff"}, text
    assert fetchval(scanned_db, "SELECT count(*) FROM checkins") == 16000  # nothing ran


def test_the_staff_check_uses_the_primary_keys(scanned_db: str) -> None:
    concert_id = fetchval(scanned_db, "SELECT id FROM concerts LIMIT 1")
    plan = explain(scanned_db, queries.MAY_SCAN_SQL, uuid.uuid4(), concert_id)
    text = describe(plan)
    assert access_paths(plan, "concerts") == ["pk_concerts"], text
    assert access_paths(plan, "checkin_staff") == ["pk_checkin_staff"], text
