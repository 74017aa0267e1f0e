"""Catalog reads: concerts with their tiers and live availability."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ticketbook.db.pool import Database
from ticketbook.domain.schemas import Concert, TicketTier, format_money

TIER_ORDER = "array_position(ARRAY['VIP','FRONT_ROW','GA'], t.tier_type)"

_CONCERT_COLUMNS = """
    c.id, c.name, c.artist, c.venue, c.description, c.starts_at,
    t.id AS tier_id, t.tier_type, t.price_cents, t.currency, t.total_quantity,
    t.available_quantity
"""

# Upcoming concerts, soonest first (ix_concerts_starts_at), tiers by concert (uq on concert_id).
LIST_UPCOMING_SQL = f"""
SELECT {_CONCERT_COLUMNS}
  FROM concerts c
  JOIN ticket_tiers t ON t.concert_id = c.id
 WHERE c.starts_at >= now()
 ORDER BY c.starts_at, c.id, {TIER_ORDER}
"""

GET_CONCERT_SQL = f"""
SELECT {_CONCERT_COLUMNS}
  FROM concerts c
  JOIN ticket_tiers t ON t.concert_id = c.id
 WHERE c.id = $1
 ORDER BY {TIER_ORDER}
"""


def _assemble(rows: Iterable[Mapping[str, Any]]) -> list[Concert]:
    grouped: dict[uuid.UUID, tuple[Mapping[str, Any], list[TicketTier]]] = {}
    for row in rows:
        entry = grouped.setdefault(row["id"], (row, []))
        entry[1].append(
            TicketTier(
                id=row["tier_id"],
                concert_id=row["id"],
                tier_type=row["tier_type"],
                price_cents=row["price_cents"],
                price=format_money(row["price_cents"]),
                currency=row["currency"],
                total_quantity=row["total_quantity"],
                available_quantity=row["available_quantity"],
            )
        )
    return [
        Concert(
            id=head["id"],
            name=head["name"],
            artist=head["artist"],
            venue=head["venue"],
            description=head["description"],
            date=head["starts_at"],
            ticket_tiers=tiers,
            has_available_tickets=any(t.available_quantity > 0 for t in tiers),
            lowest_price_cents=min((t.price_cents for t in tiers), default=None),
        )
        for head, tiers in grouped.values()
    ]


async def list_upcoming(db: Database) -> list[Concert]:
    return _assemble(await db.fetch(LIST_UPCOMING_SQL))


async def get_concert(db: Database, concert_id: uuid.UUID) -> Concert | None:
    concerts = _assemble(await db.fetch(GET_CONCERT_SQL, concert_id))
    return concerts[0] if concerts else None
