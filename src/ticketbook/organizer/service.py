"""What organizers do: create concerts with their tiers, watch their sales, export them.

An organizer sees only the concerts they created; anyone else asking gets 403 (404 when the
concert does not exist at all). The SQL is in ``organizer/queries.py``.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from ticketbook.auth.identity import Identity
from ticketbook.catalog import service as catalog
from ticketbook.db.pool import Database
from ticketbook.domain.errors import Forbidden, InvalidInput, NotFound
from ticketbook.domain.schemas import Concert, ConcertSales, NewConcert, TierSales
from ticketbook.organizer import queries

EXPORT_COLUMNS = (
    "booking_id",
    "created_at",
    "tier_type",
    "quantity",
    "unit_price_cents",
    "total_cents",
    "currency",
    "status",
)


def _check_text(**fields: str) -> None:
    # PostgreSQL text can't hold NUL, and no name needs a control character.
    for name, value in fields.items():
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in value) or not value.strip():
            raise InvalidInput(f"{name} must be printable text")


async def create_concert(db: Database, organizer: Identity, new: NewConcert) -> Concert:
    if new.date.tzinfo is None:
        raise InvalidInput(
            "date needs a UTC offset, e.g. 2027-06-01T20:00:00Z or 2027-06-01T20:00:00-04:00 "
            "(timezone names the venue's zone the pages show it in)"
        )
    try:
        # The database stores UTC: 9999-12-31T23:59-01:00 is in the year 10000 there.
        starts_at = new.date.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("date is out of range") from None
    if starts_at <= datetime.now(UTC):
        raise InvalidInput("date must be in the future")
    types = [t.tier_type for t in new.ticket_tiers]
    if len(set(types)) != len(types):
        raise InvalidInput("each tier type may appear once per concert")
    _check_text(name=new.name, artist=new.artist, venue=new.venue)
    if new.description:
        _check_text(description=new.description)
    async with db.connection() as conn, conn.transaction():
        concert_id: uuid.UUID = await conn.fetchval(
            queries.INSERT_CONCERT_SQL,
            new.name.strip(),
            new.artist.strip(),
            new.venue.strip(),
            new.description,
            starts_at,
            organizer.user_id,
            new.timezone,
        )
        await conn.executemany(
            queries.INSERT_TIER_SQL,
            [
                (concert_id, t.tier_type, t.price_cents, new.currency, t.total_quantity)
                for t in new.ticket_tiers
            ],
        )
    concert = await catalog.get_concert(db, concert_id)
    assert concert is not None
    return concert


async def _owned(db: Database, organizer: Identity, concert_id: uuid.UUID) -> Any:
    row = await db.fetchrow(queries.OWNER_SQL, concert_id)
    if row is None:
        raise NotFound("Concert not found")
    if row["organizer_id"] != organizer.user_id:
        raise Forbidden("Only the concert's organizer can see its sales")
    return row


async def _sales(db: Database, concert: Any) -> ConcertSales:
    tiers = [
        TierSales(
            tier_id=r["id"],
            tier_type=r["tier_type"],
            price_cents=r["price_cents"],
            total_quantity=r["total_quantity"],
            available_quantity=r["available_quantity"],
            held_quantity=r["held"],
            sold_quantity=r["sold"],
            revenue_cents=r["revenue"],
            currency=r["currency"],
        )
        for r in await db.fetch(queries.TIER_SALES_SQL, concert["id"])
    ]
    return ConcertSales(
        concert_id=concert["id"],
        name=concert["name"],
        date=concert["starts_at"],
        tiers=tiers,
        sold_quantity=sum(t.sold_quantity for t in tiers),
        revenue_cents=sum(t.revenue_cents for t in tiers),
    )


async def concert_sales(db: Database, organizer: Identity, concert_id: uuid.UUID) -> ConcertSales:
    return await _sales(db, await _owned(db, organizer, concert_id))


async def my_sales(db: Database, organizer: Identity) -> list[ConcertSales]:
    return [await _sales(db, c) for c in await db.fetch(queries.MY_CONCERTS_SQL, organizer.user_id)]


async def export_rows(
    db: Database, organizer: Identity, concert_id: uuid.UUID
) -> AsyncIterator[str]:
    """The concert's paid bookings as CSV text in chunks of 1000 rows (ownership checked
    first). The rows are read in one fetch: a concert's export fits in memory."""
    await _owned(db, organizer, concert_id)
    rows = await db.fetch(queries.EXPORT_SQL, concert_id)

    async def chunks() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        for i, r in enumerate(rows, 1):
            writer.writerow(
                (
                    r["id"],
                    r["created_at"].astimezone(UTC).isoformat(),
                    r["tier_type"],
                    r["quantity"],
                    r["unit_price_cents"],
                    r["total_cents"],
                    r["currency"],
                    r["status"],
                )
            )
            if i % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return chunks()
