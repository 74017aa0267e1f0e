"""The waiting room of a protected on-sale (docs/queue.md).

Everyone who joins before the on-sale opens is put in a random order by the draw (draw.py);
later arrivals queue behind them in arrival order. The queue is let in at the organizer's
rate by a frontier computed, not stored per visitor:

    admitted_through(now) = rate_base_count + floor((now - rate_base_at) * rate / 60)

capped at the places handed out; a visitor at position p is admitted once p <= that. A status
poll reads the on-sale row (kept per process for up to a second) and the visitor's own entry
by its primary key: O(1) whatever the queue's length, and no write, except once per visitor,
when the frontier is first found past their place (``admitted_at``, which starts the
admission window: the token's expiry is admitted_at + admission_window_s).

The booking gate (``require_admission``) costs a dictionary lookup for tiers of unprotected
concerts: the tiers of protected on-sales are kept per process and re-read at most once a
second, so a concert protected (or released) takes effect within a second everywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from ticketbook.auth.identity import Identity
from ticketbook.auth.tokens import TokenSigner
from ticketbook.db.pool import Database
from ticketbook.domain.errors import Conflict, Forbidden, NotFound, QueueRequired
from ticketbook.domain.schemas import DrawRecord, OnSale, Place, QueueStatus
from ticketbook.queue import draw as drawing
from ticketbook.queue import queries, tokens

# How long a process trusts what it read of an on-sale, and of which tiers are protected.
CACHE_TTL_S = 1.0
# Join ids are 64 random bits: a clash in one queue is a retry, not an error.
JOIN_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class _Cached:
    at: float
    row: asyncpg.Record | None
    # The database's clock minus this host's, when the row was read: what decides (the
    # frontier, the draw's opening, the gate) runs on the database's time.
    skew: timedelta


def _skew(db_now: datetime) -> timedelta:
    return db_now - datetime.now(UTC)


def reach_time(row: Any, position: int) -> datetime:
    """When the frontier reached (or will reach) ``position``: positions up to the last
    re-base count from it (``rate_base_at``), later ones at the rate from there."""
    steps = position - row["rate_base_count"]
    base: datetime = row["rate_base_at"]
    if steps <= 0:
        return base
    return base + timedelta(seconds=steps * 60 / row["rate_per_minute"])


def admission_expiry(row: Any, position: int, admitted_at: datetime) -> datetime:
    """An admission lasts the window from when the visitor's turn came (or, if earlier, from
    when they were first found admitted), to the whole second the token carries."""
    start = min(reach_time(row, position), admitted_at)
    expires = start + timedelta(seconds=row["admission_window_s"])
    return datetime.fromtimestamp(math.floor(expires.timestamp()), UTC)


def admitted_through(row: Any, now: datetime) -> int:
    """Positions let in at ``now``: the frontier, capped at the places handed out."""
    if row["drawn_at"] is None or row["rate_base_at"] is None:
        return 0
    elapsed = max(0.0, (now - row["rate_base_at"]).total_seconds())
    frontier = row["rate_base_count"] + math.floor(elapsed * row["rate_per_minute"] / 60)
    return int(min(frontier, row["next_position"] - 1))


def seconds_until(row: Any, position: int, now: datetime) -> int:
    """When the frontier reaches ``position`` (0 when it has)."""
    if row["rate_base_at"] is None or position <= row["rate_base_count"]:
        return 0
    return max(0, math.ceil((reach_time(row, position) - now).total_seconds()))


def _onsale(row: asyncpg.Record, early_joiners: int | None = None) -> OnSale:
    drawn = row["drawn_at"] is not None
    return OnSale(
        concert_id=row["concert_id"],
        opens_at=row["opens_at"],
        protected=row["protected"],
        rate_per_minute=row["rate_per_minute"],
        admission_window_s=row["admission_window_s"],
        seed_hash=bytes(row["seed_hash"]).hex(),
        drawn_at=row["drawn_at"],
        early_count=row["early_count"],
        queued=row["next_position"] - 1 if drawn else (early_joiners or 0),
    )


def _place(entry: asyncpg.Record) -> Place:
    return Place(
        concert_id=entry["concert_id"],
        join_id=entry["join_id"],
        joined_at=entry["joined_at"],
        early=entry["early"],
        position=entry["position"],
    )


class WaitingRoom:
    def __init__(
        self,
        db: Database,
        signer: TokenSigner,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_ttl_s: float = CACHE_TTL_S,
    ) -> None:
        self._db = db
        self._signer = signer
        self._clock = clock
        self._ttl = cache_ttl_s
        self._onsales: dict[uuid.UUID, _Cached] = {}
        self._protected: dict[uuid.UUID, tuple[uuid.UUID, datetime]] = {}
        self._protected_at = -math.inf
        self._protected_skew = timedelta(0)
        self._protected_lock = asyncio.Lock()
        # Drawn records, immutable snapshots: the record and its JSON answer's bytes and ETag.
        self._records: dict[uuid.UUID, tuple[DrawRecord, bytes, str]] = {}
        # The draw in flight in this process, per concert: nobody else here starts one.
        self._drawing: dict[uuid.UUID, asyncio.Task[bool]] = {}

    def forget_cached(self) -> None:
        """Drop what this process remembers (tests that change rows by hand call it)."""
        self._onsales.clear()
        self._protected_at = -math.inf
        self._records.clear()

    # -- the organizer's side -----------------------------------------------------------------

    async def set_onsale(
        self,
        concert_id: uuid.UUID,
        *,
        opens_at: datetime,
        protected: bool,
        rate_per_minute: int,
        window_s: int = 600,
        by: Identity | None,
    ) -> OnSale:
        """Set or change the concert's on-sale (its organizer; ``by=None``: the operator).
        The secret seed is drawn when the on-sale is first set and never changes (nor its
        published hash): a change of rate, window or opening keeps it. Moving the opening
        is refused once it has passed (or drawn), and moving it to now or earlier once anyone
        has joined."""
        if opens_at.tzinfo is None:
            raise ValueError("opens_at must be timezone-aware")
        if rate_per_minute < 1:
            raise ValueError("rate_per_minute must be positive")
        async with self._db.connection() as conn, conn.transaction():
            concert = await conn.fetchrow(queries.CONCERT_SQL, concert_id)
            if concert is None:
                raise NotFound("Concert not found")
            if by is not None and concert["organizer_id"] != by.user_id:
                raise Forbidden("Only the concert's organizer can set its on-sale")
            current = await conn.fetchrow(queries.ONSALE_SQL + " FOR UPDATE", concert_id)
            if current is not None and current["opens_at"] != opens_at:
                if current["drawn_at"] is not None:
                    raise Conflict("The draw has happened: the on-sale time can no longer change")
                if current["opens_at"] <= current["db_now"]:
                    raise Conflict("The on-sale has opened: its time can no longer change")
                if opens_at <= current["db_now"] and await conn.fetchval(
                    queries.EARLY_COUNT_SQL, concert_id
                ):
                    raise Conflict(
                        "People have joined the queue: the on-sale can't be moved to the past"
                    )
            row = await conn.fetchrow(
                queries.UPSERT_ONSALE_SQL,
                concert_id,
                opens_at,
                protected,
                rate_per_minute,
                window_s,
                drawing.new_seed(),
            )
            early = await conn.fetchval(queries.EARLY_COUNT_SQL, concert_id)
        assert row is not None
        self._onsales.pop(concert_id, None)
        self._protected_at = -math.inf
        return _onsale(row, early)

    async def onsale(self, concert_id: uuid.UUID) -> OnSale | None:
        row = await self._db.fetchrow(queries.ONSALE_SQL, concert_id)
        if row is None:
            return None
        early = await self._db.fetchval(queries.EARLY_COUNT_SQL, concert_id)
        return _onsale(row, early)

    # -- the on-sale row, cached ----------------------------------------------------------------

    async def _cached(self, concert_id: uuid.UUID, *, fresh: bool = False) -> _Cached:
        cached = self._onsales.get(concert_id)
        now = time.monotonic()
        if not fresh and cached is not None and now - cached.at < self._ttl:
            return cached
        row = await self._db.fetchrow(queries.ONSALE_SQL, concert_id)
        if len(self._onsales) > 10_000:
            self._onsales.clear()
        skew = _skew(row["db_now"]) if row is not None else timedelta(0)
        cached = self._onsales[concert_id] = _Cached(now, row, skew)
        return cached

    async def _row(self, concert_id: uuid.UUID, *, fresh: bool = False) -> asyncpg.Record | None:
        return (await self._cached(concert_id, fresh=fresh)).row

    async def _drawn(self, concert_id: uuid.UUID) -> tuple[asyncpg.Record | None, datetime]:
        """The on-sale and the database's time now, drawn first if it is open and wasn't yet
        (the lazy draw). When a draw is already running (here or elsewhere) it is not waited
        for: the row comes back undrawn, and its callers answer "waiting for the draw"."""
        cached = await self._cached(concert_id)
        row = cached.row
        now = self._clock() + cached.skew
        if row is not None and row["drawn_at"] is None and now >= row["opens_at"]:
            if concert_id in self._drawing:
                return row, now
            if await self._draw(concert_id):
                cached = await self._cached(concert_id, fresh=True)
                row, now = cached.row, self._clock() + cached.skew
        return row, now

    async def _drawn_row(self, concert_id: uuid.UUID) -> asyncpg.Record | None:
        return (await self._drawn(concert_id))[0]

    # -- the draw -------------------------------------------------------------------------------

    async def _draw(self, concert_id: uuid.UUID, *, wait: bool = False) -> bool:
        """Draw once, across every process. One draw in flight per concert in this process
        (the others here await it with ``wait``, or don't wait); across processes a
        transaction lock, tried (``wait=False``: False at once when another draw holds it)
        or waited for. False when it wasn't drawn by this call (drawn already, not open, or
        another draw is running and ``wait`` is false)."""
        task = self._drawing.get(concert_id)
        if task is not None:
            if not wait:
                return False
            await asyncio.shield(task)
            return False
        task = asyncio.ensure_future(self._draw_once(concert_id, wait=wait))
        self._drawing[concert_id] = task

        def finished(_: asyncio.Task[bool]) -> None:
            if self._drawing.get(concert_id) is task:
                del self._drawing[concert_id]

        task.add_done_callback(finished)
        # Shielded: a caller that goes away (a closed SSE stream) doesn't cancel the draw.
        return await asyncio.shield(task)

    async def _draw_once(self, concert_id: uuid.UUID, *, wait: bool) -> bool:
        async with self._db.connection() as conn, conn.transaction():
            if wait:
                await conn.execute(drawing.DRAW_LOCK_SQL, concert_id)
            elif not await conn.fetchval(drawing.TRY_DRAW_LOCK_SQL, concert_id):
                return False
            seed = await conn.fetchval(drawing.LOCK_FOR_DRAW_SQL, concert_id)
            if seed is None:
                return False
            await conn.execute(drawing.ASSIGN_POSITIONS_SQL, concert_id, seed)
            await conn.execute(drawing.MARK_DRAWN_SQL, concert_id)
        self._onsales.pop(concert_id, None)
        return True

    async def draw(self, concert_id: uuid.UUID) -> DrawRecord:
        """Draw now if the on-sale has opened (idempotent), and give the record. Conflict
        before the opening time; NotFound without an on-sale."""
        row = await self._db.fetchrow(queries.ONSALE_SQL, concert_id)
        if row is None:
            raise NotFound("This concert has no on-sale")
        if row["drawn_at"] is None:
            if row["db_now"] < row["opens_at"]:
                raise Conflict("The on-sale has not opened yet: the draw happens at opensAt")
            await self._draw(concert_id, wait=True)
        return await self.draw_record(concert_id)

    async def draw_record(self, concert_id: uuid.UUID) -> DrawRecord:
        """The published record: before the draw only the seed's hash and the opening time;
        after it the seed, the early joiners' ids (sorted) and their order, as the draw
        recorded them (a snapshot: entries that go later don't change it). No account ids."""
        return (await self._record(concert_id))[0]

    async def draw_record_json(self, concert_id: uuid.UUID) -> tuple[bytes, str, bool]:
        """The record as the API's JSON answer (``{success, data}``), encoded once per drawn
        record and process, with its ETag, and whether it is final (drawn)."""
        record, body, etag = await self._record(concert_id)
        return body, etag, record.drawn

    async def _record(self, concert_id: uuid.UUID) -> tuple[DrawRecord, bytes, str]:
        kept = self._records.get(concert_id)
        if kept is not None:
            return kept
        row = await self._drawn_row(concert_id)
        if row is None:
            raise NotFound("This concert has no on-sale")
        base: dict[str, Any] = {
            "concert_id": concert_id,
            "opens_at": row["opens_at"],
            "seed_hash": bytes(row["seed_hash"]).hex(),
        }
        snapshot = (
            await self._db.fetchrow(queries.RECORD_SQL, concert_id) if row["drawn_at"] else None
        )
        if snapshot is None or snapshot["drawn_at"] is None:
            record = DrawRecord(
                **base,
                drawn=False,
                seed=None,
                drawn_at=None,
                early_count=None,
                join_ids=[],
                order=[],
            )
            return (record, *_encoded(record))
        ordered = list(snapshot["draw_order"])
        record = DrawRecord(
            **base,
            drawn=True,
            seed=bytes(snapshot["seed"]).hex(),
            drawn_at=snapshot["drawn_at"],
            early_count=snapshot["early_count"],
            join_ids=sorted(ordered),
            order=ordered,
        )
        kept = (record, *_encoded(record))
        # A drawn record never changes: keep it (and its bytes) for good.
        if len(self._records) > 100:
            self._records.clear()
        self._records[concert_id] = kept
        return kept

    # -- the visitor's side ---------------------------------------------------------------------

    async def join(self, concert_id: uuid.UUID, user_id: uuid.UUID) -> Place:
        """A place in the queue for this identity; the same place again if it has one.
        Before the on-sale opens the place is drawn at the opening; after it, it is the next
        in arrival order. NotFound without an on-sale; Conflict when it isn't protected."""
        row = await self._drawn_row(concert_id)
        if row is None:
            raise NotFound("This concert has no waiting room")
        if not row["protected"]:
            raise Conflict("This concert's on-sale has no waiting room: book directly")
        existing = await self._db.fetchrow(queries.ENTRY_SQL, concert_id, user_id)
        if existing is not None:
            return _place(existing)
        for _ in range(JOIN_ATTEMPTS):
            entry = await self._join_once(concert_id, user_id)
            if entry is not None:
                return _place(entry)
        raise Conflict("Could not join the queue; try again")

    async def _join_once(self, concert_id: uuid.UUID, user_id: uuid.UUID) -> asyncpg.Record | None:
        join_id = drawing.new_join_id()
        async with self._db.connection() as conn, conn.transaction():
            guard = await conn.fetchrow(queries.JOIN_GUARD_SQL, concert_id)
            if guard is None:
                raise NotFound("This concert has no waiting room")
            if guard["drawn_at"] is None and not guard["open"]:
                entry = await conn.fetchrow(queries.EARLY_JOIN_SQL, concert_id, user_id, join_id)
                # Nothing inserted: this identity's place (a concurrent join), or a join id
                # clash (None: try again with another).
                return entry or await conn.fetchrow(queries.ENTRY_SQL, concert_id, user_id)
        if guard["drawn_at"] is None:
            # Wait for the draw (in this process without holding a connection); a draw running
            # elsewhere holds the on-sale row, which the lock below waits for.
            await self._draw(concert_id, wait=True)
        try:
            async with self._db.connection() as conn, conn.transaction():
                drawn_at = await conn.fetchval(queries.LATE_LOCK_SQL, concert_id)
                entry = await conn.fetchrow(queries.ENTRY_SQL, concert_id, user_id)
                if entry is not None:
                    return entry
                if drawn_at is None:
                    # Not drawn after all (not open on the database's clock yet): an early
                    # place, which the draw (waiting for this lock) will include.
                    entry = await conn.fetchrow(
                        queries.EARLY_JOIN_SQL, concert_id, user_id, join_id
                    )
                    return entry or await conn.fetchrow(queries.ENTRY_SQL, concert_id, user_id)
                entry = await conn.fetchrow(queries.LATE_JOIN_SQL, concert_id, user_id, join_id)
        except asyncpg.UniqueViolationError:
            return None
        self._onsales.pop(concert_id, None)
        return entry

    async def status(self, concert_id: uuid.UUID, user_id: uuid.UUID) -> QueueStatus:
        """Where this identity stands; admitted once the frontier reaches its place, with
        an admission token (the first such call starts the admission window)."""
        row, now = await self._drawn(concert_id)
        empty: dict[str, Any] = {
            "concert_id": concert_id,
            "opens_at": None,
            "seed_hash": None,
            "seed": None,
            "drawn_at": None,
            "join_id": None,
            "position": None,
            "ahead": None,
            "admitted_through": None,
            "rate_per_minute": None,
            "estimated_wait_s": None,
            "admission_token": None,
            "admission_expires_at": None,
        }
        if row is None or not row["protected"]:
            return QueueStatus(state="not_protected", **empty)
        drawn = row["drawn_at"] is not None
        through = admitted_through(row, now) if drawn else None
        public = {
            **empty,
            "opens_at": row["opens_at"],
            "seed_hash": bytes(row["seed_hash"]).hex(),
            "seed": bytes(row["seed"]).hex() if drawn else None,
            "drawn_at": row["drawn_at"],
            "admitted_through": through,
            "rate_per_minute": row["rate_per_minute"],
        }
        entry = await self._db.fetchrow(queries.ENTRY_SQL, concert_id, user_id)
        if entry is None:
            return QueueStatus(state="not_joined", **public)
        public["join_id"] = entry["join_id"]
        position = entry["position"]
        if position is None or through is None:
            wait = max(0, math.ceil((row["opens_at"] - now).total_seconds()))
            return QueueStatus(state="waiting_for_draw", **{**public, "estimated_wait_s": wait})
        public["position"] = position
        if position > through:
            return QueueStatus(
                state="waiting",
                **{
                    **public,
                    "ahead": position - through - 1,
                    "estimated_wait_s": seconds_until(row, position, now),
                },
            )
        admitted_at = entry["admitted_at"]
        if admitted_at is None:
            admitted_at = await self._db.fetchval(queries.ADMIT_SQL, concert_id, user_id)
            if admitted_at is None:  # a concurrent poll wrote it first
                again = await self._db.fetchrow(queries.ENTRY_SQL, concert_id, user_id)
                admitted_at = again["admitted_at"] if again is not None else now
        expires_at = admission_expiry(row, position, admitted_at)
        token = (
            tokens.issue(self._signer, concert_id, user_id, expires_at)
            if now < expires_at
            else None
        )
        return QueueStatus(
            state="admitted",
            **{
                **public,
                "ahead": 0,
                "estimated_wait_s": 0,
                "admission_token": token,
                "admission_expires_at": expires_at,
            },
        )

    # -- the booking gate -----------------------------------------------------------------------

    async def _protected_tiers(self) -> dict[uuid.UUID, tuple[uuid.UUID, datetime]]:
        if time.monotonic() - self._protected_at < self._ttl:
            return self._protected
        async with self._protected_lock:
            if time.monotonic() - self._protected_at >= self._ttl:
                rows = await self._db.fetch(queries.PROTECTED_TIERS_SQL)
                self._protected = {r["tier_id"]: (r["concert_id"], r["opens_at"]) for r in rows}
                if rows:
                    self._protected_skew = _skew(rows[0]["db_now"])
                self._protected_at = time.monotonic()
        return self._protected

    async def require_admission(
        self, user_id: uuid.UUID, tier_id: uuid.UUID, token: str | None
    ) -> None:
        """QueueRequired unless the tier's concert is unprotected, or ``token`` is a genuine,
        unexpired admission to that concert for this identity (and the on-sale has opened)."""
        protected = await self._protected_tiers()
        found = protected.get(tier_id)
        if found is None:
            return
        concert_id, opens_at = found
        now = self._clock() + self._protected_skew
        if now < opens_at:
            raise QueueRequired(
                "This concert goes on sale at "
                f"{opens_at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}: "
                "join its waiting room"
            )
        if not token:
            raise QueueRequired("This on-sale has a waiting room: join the queue to book")
        admission = tokens.read(self._signer, token)
        if admission is None:
            raise QueueRequired("That admission is not valid: join the queue to book")
        if admission.concert_id != concert_id:
            raise QueueRequired("That admission is for another concert")
        if admission.user_id != user_id:
            raise QueueRequired("That admission belongs to someone else")
        if now >= admission.expires_at:
            raise QueueRequired("Your admission has expired; the place is not given back")


def _encoded(record: DrawRecord) -> tuple[bytes, str]:
    body = orjson.dumps(
        {"success": True, "data": record.model_dump(mode="json", by_alias=True)},
        option=orjson.OPT_UTC_Z,
    )
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'
