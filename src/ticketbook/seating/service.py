"""Layouts and seated concerts: store a layout, seat a concert on one with a price per zone,
and read a concert's seats for the map.

Seating a concert makes one SEATED ticket tier per price zone (its stock counts the zone's
free seats) and one `concert_seats` row per seat. Both are only replaced while no booking
was ever made for those seats: a seat that was sold keeps its identity for good.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from ticketbook.booking import seat_queries
from ticketbook.db.pool import Database
from ticketbook.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from ticketbook.seating import queries
from ticketbook.seating.layout import LayoutError, layout_document, parse_layout
from ticketbook.seating.model import Layout
from ticketbook.seating.states import SeatState, encode_states

SEAT_COLUMNS = ("concert_id", "ordinal", "code", "tier_id", "section", "row_no", "position")


@dataclass(frozen=True)
class StoredLayout:
    id: uuid.UUID
    version: int
    layout: Layout
    organizer_id: uuid.UUID | None

    @property
    def etag(self) -> str:
        return f'"layout-{self.id}-{self.version}"'


def parse(document: object) -> Layout:
    try:
        return parse_layout(document)
    except LayoutError as exc:
        raise InvalidInput(f"invalid layout: {exc}") from None


def _json(document: dict[str, Any]) -> str:
    return orjson.dumps(document).decode()


async def create_layout(
    db: Database, layout: Layout, *, organizer_id: uuid.UUID | None = None
) -> StoredLayout:
    row = await db.fetchrow(
        queries.INSERT_LAYOUT_SQL,
        layout.name,
        organizer_id,
        _json(layout_document(layout)),
        len(layout.seats),
    )
    assert row is not None
    return StoredLayout(row["id"], row["version"], layout, organizer_id)


async def replace_layout(
    db: Database, layout_id: uuid.UUID, layout: Layout, *, organizer_id: uuid.UUID | None = None
) -> StoredLayout:
    """The layout's new version; the concerts seated on it get its seats, unless one of them
    has bookings for its seats (then nothing changes: 409)."""
    async with db.connection() as conn, conn.transaction():
        current = await conn.fetchrow(queries.GET_LAYOUT_SQL + " FOR UPDATE", layout_id)
        if current is None:
            raise NotFound("Layout not found")
        _check_owner(current["organizer_id"], organizer_id)
        concerts = await conn.fetch(queries.CONCERTS_ON_LAYOUT_SQL, layout_id)
        sold = [c["name"] for c in concerts if c["has_bookings"]]
        if sold:
            raise Conflict(
                "This layout's seats have been booked for " + ", ".join(sold) + "; a layout "
                "whose seats were sold can't be replaced (create a new layout instead)"
            )
        row = await conn.fetchrow(
            queries.REPLACE_LAYOUT_SQL,
            layout_id,
            layout.name,
            _json(layout_document(layout)),
            len(layout.seats),
        )
        for concert in concerts:
            prices = {
                t["zone"]: (t["price_cents"], t["currency"])
                for t in await conn.fetch(queries.ZONE_TIERS_SQL, concert["id"])
            }
            missing = sorted({s.zone for s in layout.seats} - prices.keys())
            if missing:
                raise Conflict(
                    f"{concert['name']} has no price for zone(s) {', '.join(missing)}: seat it "
                    "again with a price for every zone"
                )
            await _seat(conn, concert["id"], layout_id, layout, prices)
    assert row is not None
    return StoredLayout(row["id"], row["version"], layout, current["organizer_id"])


def _check_owner(owner: uuid.UUID | None, organizer_id: uuid.UUID | None) -> None:
    if organizer_id is not None and owner is not None and owner != organizer_id:
        raise Forbidden("This layout belongs to another organizer")


# Parsed layouts by (id, version): a 60,000-seat layout takes over a second to parse, and it
# only changes with its version.
MAX_CACHED = 64
_layouts: dict[tuple[uuid.UUID, int], StoredLayout] = {}


async def get_layout(db: Database, layout_id: uuid.UUID) -> StoredLayout:
    version = await db.fetchval(queries.LAYOUT_VERSION_SQL, layout_id)
    if version is None:
        raise NotFound("Layout not found")
    cached = _layouts.get((layout_id, version))
    if cached is not None:
        return cached
    row = await db.fetchrow(queries.GET_LAYOUT_SQL, layout_id)
    if row is None:
        raise NotFound("Layout not found")
    stored = _stored(row)
    if len(_layouts) >= MAX_CACHED:
        _layouts.clear()
    _layouts[(stored.id, stored.version)] = stored
    return stored


def _stored(row: asyncpg.Record) -> StoredLayout:
    document = row["document"]
    if isinstance(document, str):
        document = orjson.loads(document)
    return StoredLayout(row["id"], row["version"], parse_layout(document), row["organizer_id"])


async def seat_concert(
    db: Database,
    concert_id: uuid.UUID,
    layout_id: uuid.UUID,
    prices_cents: dict[str, int],
    currency: str,
    *,
    organizer_id: uuid.UUID | None = None,
) -> None:
    """Seat the concert on the layout, a price per zone (every zone with seats needs one)."""
    stored = await get_layout(db, layout_id)
    _check_owner(stored.organizer_id, organizer_id)
    zones = {s.zone for s in stored.layout.seats}
    missing, unknown = sorted(zones - prices_cents.keys()), sorted(prices_cents.keys() - zones)
    if missing:
        raise InvalidInput(f"a price is needed for zone(s) {', '.join(missing)}")
    if unknown:
        raise InvalidInput(f"the layout has no seats in zone(s) {', '.join(unknown)}")
    if any(p < 0 for p in prices_cents.values()):
        raise InvalidInput("prices can't be negative")
    async with db.connection() as conn, conn.transaction():
        concert = await conn.fetchrow(queries.LOCK_CONCERT_SQL, concert_id)
        if concert is None:
            raise NotFound("Concert not found")
        if organizer_id is not None and concert["organizer_id"] != organizer_id:
            raise Forbidden("Only the concert's organizer can seat it")
        prices = {zone: (cents, currency) for zone, cents in prices_cents.items()}
        await _seat(conn, concert_id, layout_id, stored.layout, prices)


async def store_and_seat(
    conn: asyncpg.Connection,
    concert_id: uuid.UUID,
    layout: Layout,
    prices_cents: dict[str, int],
    currency: str,
) -> uuid.UUID:
    """Store the layout and seat the concert on it, in the caller's transaction (the demo
    data's load); return the layout's id."""
    layout_id: uuid.UUID = await conn.fetchval(
        queries.INSERT_LAYOUT_SQL,
        layout.name,
        None,
        _json(layout_document(layout)),
        len(layout.seats),
    )
    prices = {zone: (cents, currency) for zone, cents in prices_cents.items()}
    await _seat(conn, concert_id, layout_id, layout, prices)
    return layout_id


async def _seat(
    conn: asyncpg.Connection,
    concert_id: uuid.UUID,
    layout_id: uuid.UUID,
    layout: Layout,
    prices: dict[str, tuple[int, str]],
) -> None:
    tiers = await conn.fetch(queries.SEATED_TIERS_SQL, concert_id)
    if any(t["has_bookings"] for t in tiers):
        raise Conflict(
            "Seats of this concert have been booked: its seating can't be replaced any more"
        )
    await conn.execute(queries.DELETE_SEATED_TIERS_SQL, concert_id)
    names = {z.key: z.name for z in layout.zones}
    counts: dict[str, int] = {}
    for seat in layout.seats:
        counts[seat.zone] = counts.get(seat.zone, 0) + 1
    tier_of: dict[str, uuid.UUID] = {}
    for zone, count in sorted(counts.items()):
        cents, currency = prices[zone]
        tier_of[zone] = await conn.fetchval(
            queries.INSERT_SEATED_TIER_SQL, concert_id, cents, currency, count, zone, names[zone]
        )
    await conn.copy_records_to_table(
        "concert_seats",
        records=_seat_rows(concert_id, layout, tier_of),
        columns=(*SEAT_COLUMNS, "distance"),
    )
    await conn.execute(queries.SET_CONCERT_LAYOUT_SQL, concert_id, layout_id)
    # Thousands of rows at once: fresh statistics, so the seat statements are planned for
    # them now, not after autovacuum gets round to the table.
    await conn.execute(queries.ANALYZE_SEATS_SQL)


def _seat_rows(
    concert_id: uuid.UUID, layout: Layout, tier_of: dict[str, uuid.UUID]
) -> list[tuple[Any, ...]]:
    stage = layout.stage.centre
    rows: list[tuple[Any, ...]] = []
    row_no = 0
    ordinal = 0
    for section in layout.sections:
        for row in section.rows:
            for seat in row.seats:
                distance = math.hypot(seat.x - stage.x, seat.y - stage.y)
                rows.append(
                    (
                        concert_id,
                        ordinal,
                        seat.code,
                        tier_of[seat.zone],
                        seat.section,
                        row_no,
                        seat.position,
                        distance,
                    )
                )
                ordinal += 1
            row_no += 1
    return rows


@dataclass(frozen=True)
class ZoneTier:
    tier_id: uuid.UUID
    zone: str
    name: str
    price_cents: int
    currency: str
    total: int
    available: int


@dataclass(frozen=True)
class ConcertSeating:
    concert_id: uuid.UUID
    layout: StoredLayout
    zones: tuple[ZoneTier, ...]


async def concert_seating(db: Database, concert_id: uuid.UUID) -> ConcertSeating | None:
    """The concert's layout and zone tiers; None when it sells no reserved seats."""
    row = await db.fetchrow(queries.CONCERT_SEATING_SQL, concert_id)
    if row is None:
        raise NotFound("Concert not found")
    if row["layout_id"] is None:
        return None
    stored = await get_layout(db, row["layout_id"])
    zones = tuple(
        ZoneTier(
            r["id"],
            r["zone"],
            r["zone_name"],
            r["price_cents"],
            r["currency"],
            r["total_quantity"],
            r["available_quantity"],
        )
        for r in await db.fetch(queries.ZONE_TIERS_SQL, concert_id)
    )
    return ConcertSeating(concert_id, stored, zones)


@dataclass(frozen=True)
class SeatStates:
    encoded: bytes  # seating/states.py's encoding
    count: int
    layout_version: int
    read_at: float


# Many open maps poll the same concert's states: each process reads them at most this often
# per concert, so a map is at most this much staler than its poll.
STATES_FRESH_S = 0.25
_states_cache: dict[uuid.UUID, SeatStates] = {}


async def seat_states(db: Database, concert_id: uuid.UUID) -> SeatStates:
    """Every seat's state in ordinal order, encoded; NotFound for a concert without seats.
    One read per concert at a time in a process: the maps that ask meanwhile share it."""
    cached = _states_cache.get(concert_id)
    if cached is not None and time.monotonic() - cached.read_at < STATES_FRESH_S:
        return cached
    reading = _states_reads.get(concert_id)
    if reading is None:
        reading = asyncio.ensure_future(_read_states(db, concert_id))
        _states_reads[concert_id] = reading
        reading.add_done_callback(functools.partial(_read_done, concert_id))
    return await asyncio.shield(reading)


_states_reads: dict[uuid.UUID, asyncio.Future[SeatStates]] = {}


def _read_done(concert_id: uuid.UUID, reading: asyncio.Future[SeatStates]) -> None:
    if _states_reads.get(concert_id) is not reading:
        return  # forgotten while it ran: its answer may predate the change, so not kept
    del _states_reads[concert_id]
    if reading.cancelled() or reading.exception() is not None:
        return
    if len(_states_cache) > MAX_CACHED:
        _states_cache.clear()
    _states_cache[concert_id] = reading.result()


def forget_states(changes: Mapping[tuple[str, str], int]) -> None:
    """The live channel's listener: a concert whose counts changed is read afresh by the next
    map that asks, not answered from a read that began before the change."""
    for concert_id in {uuid.UUID(concert) for concert, _tier in changes}:
        _states_cache.pop(concert_id, None)
        _states_reads.pop(concert_id, None)


async def _read_states(db: Database, concert_id: uuid.UUID) -> SeatStates:
    row = await db.fetchrow(seat_queries.SEAT_STATES_SQL, concert_id)
    if row is None:
        raise NotFound("Concert not found")
    if row["states"] is None:
        raise NotFound("This concert has no reserved seats")
    states = SeatStates(
        encode_states(row["states"].encode().translate(DIGIT_TO_STATE)),
        len(row["states"]),
        row["layout_version"],
        time.monotonic(),
    )
    return states


# The statement spells each seat's state as a digit; the encoder takes one byte per seat.
DIGIT_TO_STATE = bytes.maketrans(b"0123", bytes(SeatState))
