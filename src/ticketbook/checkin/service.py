"""The door: a scanned code is verified here and recorded in the database in one statement,
so each admission is let in once however many gates scan it at the same moment; offline
scanners get a bundle to decide alone and sync their scans later (docs/checkin.md).

The code is read before anything else: another concert's is WRONG_EVENT, a malformed one or
a bad signature INVALID, with no ticket looked up. The database then decides the rest in
``queries.SCAN_SQL``: an unknown ticket INVALID, a code signed under an older key or a
cancelled or transferred ticket REVOKED, the admission's first entry ADMIT, any later one
ALREADY_USED. Every scan is kept with its answer, and a scan id answers the same twice.

Door staff: an organizer grants an account check-in rights for one of their concerts (the
operator's command, for any concert). The SQL is in ``checkin/queries.py``.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson

from ticketbook.auth.emails import normalize_email
from ticketbook.auth.identity import Identity
from ticketbook.checkin import queries
from ticketbook.db.pool import Database
from ticketbook.domain.enums import ScanOutcome, TicketRevocation
from ticketbook.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from ticketbook.domain.schemas import (
    CheckinConflict,
    ConflictScan,
    GateEntry,
    ScanAnswer,
    ScanTicket,
    StaffMember,
    SyncAnswer,
    SyncRequest,
)
from ticketbook.tickets import codes
from ticketbook.tickets.keys import TicketKeys

NOT_STAFF = "Only this concert's door staff (or its organizer) can check its tickets in"
# /checkin lists the concerts started this long ago too: staff open it after the doors open.
STARTED_WITHIN_HOURS = 12


@dataclass(frozen=True, slots=True)
class OfflineScan:
    """A scan a device made and answered while offline, synced later."""

    scan_id: uuid.UUID
    code: str
    gate: str
    scanned_at: datetime  # the device's clock, with its UTC offset
    offline_outcome: ScanOutcome | str  # what the device answered


def offline_scans(body: SyncRequest) -> list[OfflineScan]:
    """A sync request's scans, as the desk takes them (the API's and the page's route)."""
    return [
        OfflineScan(
            scan_id=s.scan_id,
            code=s.code,
            gate=s.gate,
            scanned_at=s.scanned_at,
            offline_outcome=s.offline_outcome,
        )
        for s in body.scans
    ]


def admission_key(booking_id: uuid.UUID, admission: int) -> str:
    """An admission's opaque key in the bundle: the same for every ticket that carries it (a
    transfer's old and new), without the booking id (12 base64url characters, 72 bits)."""
    digest = hashlib.sha256(b"tb-admission:" + booking_id.bytes + admission.to_bytes(4)).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def bundle_etag(bundle: dict[str, Any]) -> str:
    """The bundle's ETag: a hash of everything in it but the moment it was read, so a device
    that already holds the same list gets a 304 instead of the list again."""
    content = {k: v for k, v in bundle.items() if k != "generatedAt"}
    return '"' + hashlib.sha256(orjson.dumps(content)).hexdigest()[:32] + '"'


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What the code alone says: an outcome already (WRONG_EVENT, INVALID) or its claim."""

    outcome: ScanOutcome | None
    claim: codes.TicketClaim | None
    reason: str = ""


def masked_email(email: str) -> str:
    """j***@example.com: enough for staff to match a face to a booking, not to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def holder_label(name: str | None, email: str | None) -> str:
    if name:
        return name
    return masked_email(email) if email else "Guest"


def seat_label(code: str) -> str:
    """B:F:12 → Section B, row F, seat 12 (the seat code's keys, as its layout names them)."""
    parts = code.split(":")
    if len(parts) != 3:
        return code
    return f"Section {parts[0]}, row {parts[1]}, seat {parts[2]}"


def tier_label(tier_type: str, zone_name: str | None) -> str:
    return zone_name or tier_type


def iso(moment: datetime) -> str:
    """UTC, as pydantic writes it (the bundle is built by hand, for its size)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local(moment: datetime, timezone: str) -> datetime:
    try:
        return moment.astimezone(ZoneInfo(timezone))
    except (ValueError, KeyError):  # a zone this host's database lacks
        return moment.astimezone(UTC)


_REVOKED_BECAUSE = {
    TicketRevocation.CANCELLED: "Revoked: this booking was cancelled",
    TicketRevocation.TRANSFERRED: "Revoked: this ticket was transferred",
}


def _message(
    outcome: ScanOutcome,
    *,
    row: asyncpg.Record | None,
    verdict: _Verdict,
    timezone: str,
) -> str:
    if outcome is ScanOutcome.WRONG_EVENT:
        return "Wrong event: this ticket is for another concert"
    if outcome is ScanOutcome.INVALID:
        return f"Invalid: {verdict.reason or 'no such ticket'}"
    assert row is not None
    if outcome is ScanOutcome.ADMIT:
        where = (
            seat_label(row["seat"])
            if row["seat"]
            else tier_label(row["tier_type"], row["zone_name"])
        )
        return f"Admit: {where}"
    if outcome is ScanOutcome.ALREADY_USED:
        if row["first_gate"] is None:
            return "Already used"
        at = _local(row["first_at"], timezone)
        today = _local(datetime.now(UTC), timezone).date()
        when = at.strftime("%H:%M") if at.date() == today else at.strftime("%a %d %b, %H:%M")
        return f"Already used at {row['first_gate']}, {when}"
    assert verdict.claim is not None
    if verdict.claim.key_version < row["key_version"]:
        return "Revoked: this code was replaced by a newer one"
    reason = row["revoked_reason"]
    return _REVOKED_BECAUSE.get(reason, "Revoked: this ticket is no longer valid")


def _staff_member(row: asyncpg.Record) -> StaffMember:
    return StaffMember(
        user_id=row["user_id"],
        email=row["email"],
        granted_at=row["created_at"],
        granted_by=row["granted_by"],
    )


class CheckinDesk:
    """Check-in for every concert, on one pool (built once, in services.py)."""

    def __init__(self, db: Database, keys: TicketKeys) -> None:
        self._db = db
        self._keys = keys

    # -- who may scan ----------------------------------------------------------------------

    async def may_scan(self, user_id: uuid.UUID, concert_id: uuid.UUID) -> bool:
        """The concert's door staff, or its organizer."""
        return bool(await self._db.fetchval(queries.MAY_SCAN_SQL, user_id, concert_id))

    async def scannable_concerts(
        self, user_id: uuid.UUID, *, started_within_hours: int = STARTED_WITHIN_HOURS
    ) -> list[asyncpg.Record]:
        """The concerts the account may scan, upcoming or started within the last hours, in
        one query (id, name, artist, venue, starts_at, timezone)."""
        return list(
            await self._db.fetch(queries.SCANNABLE_CONCERTS_SQL, user_id, started_within_hours)
        )

    async def authorize(self, user_id: uuid.UUID, concert_id: uuid.UUID) -> None:
        """NotFound for no such concert; Forbidden for anyone not allowed to scan it."""
        row = await self._db.fetchrow(queries.MAY_SCAN_SQL, user_id, concert_id)
        if row is None:
            raise NotFound("Concert not found")
        if not row["allowed"]:
            raise Forbidden(NOT_STAFF)

    # -- scanning --------------------------------------------------------------------------

    def _verdict(self, code: str, concert_id: uuid.UUID) -> _Verdict:
        try:
            claim, _payload, _signature = codes.read(code)
        except codes.InvalidCode:
            return _Verdict(ScanOutcome.INVALID, None, "not a TicketBook ticket code")
        # The claim first: another concert's code says so even unverified (we hold its key,
        # but a door can only say "not this concert" either way).
        if not claim.is_for(concert_id):
            return _Verdict(ScanOutcome.WRONG_EVENT, None)
        # Verified under the key version it names, so a genuine code of a rotated-out key can
        # be told (REVOKED: replaced) from a forged one (INVALID); the database compares the
        # version with the concert's current one in the same statement that records the scan.
        public_key = self._keys.signing_key(concert_id, claim.key_version).public_key()
        try:
            codes.verify(code, public_key)
        except codes.InvalidCode:
            return _Verdict(
                ScanOutcome.INVALID,
                None,
                "the code's signature does not verify (forged or altered)",
            )
        return _Verdict(None, claim)

    async def scan(
        self,
        *,
        concert_id: uuid.UUID,
        code: str,
        gate: str,
        scan_id: uuid.UUID,
        staff_id: uuid.UUID | None,
        device: str | None = None,
    ) -> ScanAnswer:
        """One scan, online. ``staff_id`` must be the concert's staff or organizer (Forbidden
        otherwise; None is a trusted caller, as the tests); NotFound for no such concert."""
        return await self._scan(
            concert_id=concert_id,
            code=code,
            gate=gate,
            scan_id=scan_id,
            staff_id=staff_id,
            device=device,
            offline_outcome=None,
            scanned_at=None,
        )

    async def _scan(
        self,
        *,
        concert_id: uuid.UUID,
        code: str,
        gate: str,
        scan_id: uuid.UUID,
        staff_id: uuid.UUID | None,
        device: str | None,
        offline_outcome: ScanOutcome | None,
        scanned_at: datetime | None,
    ) -> ScanAnswer:
        verdict = self._verdict(code, concert_id)
        claim = verdict.claim
        arguments = (
            scan_id,
            concert_id,
            claim.ticket_id if claim else None,
            claim.key_version if claim else None,
            gate,
            device,
            staff_id,
            verdict.outcome.value if verdict.outcome else None,
            offline_outcome.value if offline_outcome else None,
            scanned_at,
        )
        row = await self._db.fetchrow(queries.SCAN_SQL, *arguments)
        if row is None:
            raise NotFound("Concert not found")
        if not row["allowed"]:
            raise Forbidden(NOT_STAFF)
        outcome_text = row["outcome"] or row["prior_outcome"]
        lost_race = outcome_text is None or (
            outcome_text == ScanOutcome.ALREADY_USED and row["first_gate"] is None
        )
        if lost_race:
            # Another statement committed what this one's snapshot couldn't see: the same
            # scan id at once (a retry racing its original), or the admission's winning
            # entry. Running the statement again reads both and writes nothing new.
            row = await self._db.fetchrow(queries.SCAN_SQL, *arguments)
            assert row is not None
            outcome_text = row["outcome"] or row["prior_outcome"]
        if row["prior_outcome"] is not None and (
            row["prior_concert_id"] != concert_id or row["prior_ticket_id"] != row["ticket_id"]
        ):
            raise Conflict("This scanId was already used for another scan; send a fresh one")
        outcome = ScanOutcome(outcome_text)
        ticket = None
        if row["ticket_id"] is not None:
            ticket = ScanTicket(
                ticket_id=row["ticket_id"],
                seat=row["seat"],
                tier=tier_label(row["tier_type"], row["zone_name"]),
                holder=holder_label(row["holder_name"], row["holder_email"]),
            )
        first = None
        if outcome is ScanOutcome.ALREADY_USED and row["first_gate"] is not None:
            first = GateEntry(
                gate=row["first_gate"], at=row["first_at"], device=row["first_device"]
            )
        return ScanAnswer(
            scan_id=scan_id,
            outcome=outcome,
            message=_message(outcome, row=row, verdict=verdict, timezone=row["timezone"]),
            ticket=ticket,
            first_admitted=first,
            gate_count=row["gate_count"],
        )

    # -- offline ---------------------------------------------------------------------------

    async def bundle(self, concert_id: uuid.UUID) -> dict[str, Any]:
        """What a scanner keeps to decide offline (CheckinBundle's JSON; built by hand, since
        a stadium's is tens of thousands of tickets). One consistent snapshot."""
        async with (
            self._db.connection() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            concert = await conn.fetchrow(queries.CONCERT_SQL, concert_id)
            if concert is None:
                raise NotFound("Concert not found")
            tickets = await conn.fetch(queries.LIVE_TICKETS_SQL, concert_id)
            revoked = await conn.fetch(queries.REVOKED_TICKETS_SQL, concert_id)
            admitted = await conn.fetch(queries.ADMITTED_SQL, concert_id)
            generated_at = await conn.fetchval("SELECT now()")
        version = concert["ticket_key_version"]
        public_key = self._keys.public_key(concert_id, version)
        return {
            "concertId": str(concert_id),
            "concertName": concert["name"],
            "startsAt": iso(concert["starts_at"]),
            "timezone": concert["timezone"],
            "keyVersion": version,
            "publicKey": base64.urlsafe_b64encode(public_key).rstrip(b"=").decode(),
            "tickets": [
                {
                    "ticketId": str(t["id"]),
                    "admissionKey": admission_key(t["booking_id"], t["admission"]),
                    "seat": t["seat"],
                    "tier": tier_label(t["tier_type"], t["zone_name"]),
                    "holder": holder_label(t["holder_name"], t["holder_email"]),
                }
                for t in tickets
            ],
            "revoked": [str(r["id"]) for r in revoked],
            "admitted": [
                {
                    "ticketId": str(a["ticket_id"]),
                    "admissionKey": admission_key(a["booking_id"], a["admission"]),
                    "gate": a["gate"],
                    "at": iso(a["admitted_at"]),
                }
                for a in admitted
            ],
            "generatedAt": iso(generated_at),
        }

    async def sync(
        self,
        *,
        concert_id: uuid.UUID,
        staff_id: uuid.UUID | None,
        device: str,
        scans: Sequence[OfflineScan],
    ) -> dict[str, Any]:
        """Record a device's offline scans (each idempotent by its scan id), earliest first, so
        within one sync the first scan of an admission is the one let in (across devices, the
        first synced wins); answers are in the order sent. SyncAnswer's JSON, with every
        conflict of the concert so far."""
        if staff_id is not None:
            await self.authorize(staff_id, concert_id)
        checked = [(scan, _offline_outcome(scan), _aware(scan.scanned_at)) for scan in scans]
        answers: dict[uuid.UUID, ScanAnswer] = {}
        for scan, offline_outcome, scanned_at in sorted(checked, key=lambda c: c[2]):
            if scan.scan_id in answers:
                continue
            answers[scan.scan_id] = await self._scan(
                concert_id=concert_id,
                code=scan.code,
                gate=scan.gate,
                scan_id=scan.scan_id,
                staff_id=staff_id,
                device=device,
                offline_outcome=offline_outcome,
                scanned_at=scanned_at,
            )
        answer = SyncAnswer(
            recorded=[answers[scan.scan_id] for scan in scans],
            conflicts=await self.conflicts(concert_id),
        )
        return answer.model_dump(mode="json")

    async def conflicts(self, concert_id: uuid.UUID) -> list[CheckinConflict]:
        """Scans a device answered ADMIT offline that the server refused (ALREADY_USED,
        REVOKED, INVALID), one conflict per admission (per code when it names no ticket),
        with the entry recorded, if any, and every such scan."""
        found: dict[object, CheckinConflict] = {}
        for r in await self._db.fetch(queries.CONFLICTS_SQL, concert_id):
            key: object = (
                (r["booking_id"], r["admission"]) if r["booking_id"] is not None else r["scan_id"]
            )
            if key not in found:
                admitted = None
                if r["first_gate"] is not None:
                    admitted = GateEntry(
                        gate=r["first_gate"], at=r["first_at"], device=r["first_device"]
                    )
                found[key] = CheckinConflict(
                    ticket_id=r["ticket_id"],
                    seat=r["seat"],
                    holder=(
                        holder_label(r["holder_name"], r["holder_email"])
                        if r["ticket_id"] is not None
                        else None
                    ),
                    admitted=admitted,
                    also_admitted=[],
                )
            found[key].also_admitted.append(
                ConflictScan(
                    gate=r["gate"],
                    at=r["scanned_at"],
                    device=r["device"],
                    outcome=ScanOutcome(r["outcome"]),
                )
            )
        return list(found.values())

    async def gate_counts(self, concert_id: uuid.UUID) -> dict[str, int]:
        """Admitted per gate."""
        rows = await self._db.fetch(queries.GATE_COUNTS_SQL, concert_id)
        return {r["gate"]: r["admitted"] for r in rows}

    # -- door staff ------------------------------------------------------------------------

    async def grant(self, *, concert_id: uuid.UUID, email: str, by: Identity | None) -> StaffMember:
        """Give the account with ``email`` check-in rights for the concert. ``by`` is the
        concert's organizer (Forbidden for anyone else), None the operator's command."""
        await self._manager(concert_id, by)
        account = await self._account(email)
        await self._db.execute(
            queries.GRANT_SQL, concert_id, account["id"], by.user_id if by else None
        )
        row = await self._db.fetchrow(queries.STAFF_MEMBER_SQL, concert_id, account["id"])
        if row is None:  # the account or concert was deleted in between
            raise NotFound("Concert or account not found")
        return _staff_member(row)

    async def revoke(
        self,
        *,
        concert_id: uuid.UUID,
        by: Identity | None,
        user_id: uuid.UUID | None = None,
        email: str | None = None,
    ) -> StaffMember:
        """Take the rights back (by account id or email); NotFound if they had none."""
        await self._manager(concert_id, by)
        if user_id is None:
            if email is None:
                raise InvalidInput("Name the staff member by account id or email")
            user_id = (await self._account(email))["id"]
        row = await self._db.fetchrow(queries.REVOKE_SQL, concert_id, user_id)
        if row is None:
            raise NotFound("That account is not door staff of this concert")
        return _staff_member(row)

    async def staff(self, *, concert_id: uuid.UUID, by: Identity | None) -> list[StaffMember]:
        await self._manager(concert_id, by)
        return [_staff_member(r) for r in await self._db.fetch(queries.STAFF_SQL, concert_id)]

    async def _manager(self, concert_id: uuid.UUID, by: Identity | None) -> None:
        concert = await self._db.fetchrow(queries.CONCERT_SQL, concert_id)
        if concert is None:
            raise NotFound("Concert not found")
        if by is not None and concert["organizer_id"] != by.user_id:
            raise Forbidden("Only the concert's organizer can manage its door staff")

    async def _account(self, email: str) -> asyncpg.Record:
        normalized = normalize_email(email)
        account = await self._db.fetchrow(queries.ACCOUNT_SQL, normalized)
        if account is None:
            raise NotFound(
                f"No account with the email {normalized}: they register first, then you "
                "grant them check-in"
            )
        return account


def _offline_outcome(scan: OfflineScan) -> ScanOutcome:
    try:
        return ScanOutcome(scan.offline_outcome)
    except ValueError:
        known = ", ".join(o.value for o in ScanOutcome)
        raise InvalidInput(f"offlineOutcome must be one of {known}") from None


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput("scannedAt needs a UTC offset, e.g. 2027-06-01T20:05:00Z")
    return moment
