"""Catalog reads: concerts with their tiers and live availability. The SQL is in
``catalog/queries.py``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ticketbook.catalog import queries
from ticketbook.db.pool import Database
from ticketbook.domain.schemas import Concert, format_money


def _assemble(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Concerts in their wire shape (the `Concert` schema, camelCase), built as plain dicts:
    the listing is the hottest read, and building models for it costs more than the query."""
    grouped: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        concert = grouped.get(row["id"])
        if concert is None:
            concert = grouped[row["id"]] = {
                "id": str(row["id"]),
                "name": row["name"],
                "artist": row["artist"],
                "venue": row["venue"],
                "description": row["description"],
                "date": row["starts_at"],
                "timezone": row["timezone"],
                "createdAt": row["created_at"],
                "updatedAt": row["updated_at"],
                "ticketTiers": [],
                "hasAvailableTickets": False,
                "lowestPriceCents": None,
                "layoutId": str(row["layout_id"]) if row["layout_id"] else None,
            }
        concert["ticketTiers"].append(
            {
                "id": str(row["tier_id"]),
                "concertId": concert["id"],
                "tierType": row["tier_type"],
                "priceCents": row["price_cents"],
                "price": format_money(row["price_cents"]),
                "currency": row["currency"],
                "totalQuantity": row["total_quantity"],
                "availableQuantity": row["available_quantity"],
                "zone": row["zone"],
                "zoneName": row["zone_name"],
                "createdAt": row["tier_created_at"],
                "updatedAt": row["tier_updated_at"],
            }
        )
        if row["available_quantity"] > 0:
            concert["hasAvailableTickets"] = True
        lowest = concert["lowestPriceCents"]
        if lowest is None or row["price_cents"] < lowest:
            concert["lowestPriceCents"] = row["price_cents"]
    return list(grouped.values())


async def upcoming_wire(db: Database) -> list[dict[str, Any]]:
    """Upcoming concerts in the API's JSON shape."""
    return _assemble(await db.fetch(queries.LIST_UPCOMING_SQL))


async def concert_wire(db: Database, concert_id: uuid.UUID) -> dict[str, Any] | None:
    concerts = _assemble(await db.fetch(queries.GET_CONCERT_SQL, concert_id))
    return concerts[0] if concerts else None


def availability_wire(concert: dict[str, Any]) -> dict[str, Any]:
    """A concert's live counts alone (`ConcertAvailability`), from its wire shape."""
    return {
        "concertId": concert["id"],
        "concertName": concert["name"],
        "tiers": [
            {
                "tierId": tier["id"],
                "tierType": tier["tierType"],
                "availableQuantity": tier["availableQuantity"],
                "totalQuantity": tier["totalQuantity"],
                "price": tier["price"],
            }
            for tier in concert["ticketTiers"]
        ],
    }


async def list_upcoming(db: Database) -> list[Concert]:
    return [Concert.model_validate(c) for c in await upcoming_wire(db)]


async def get_concert(db: Database, concert_id: uuid.UUID) -> Concert | None:
    concert = await concert_wire(db, concert_id)
    return None if concert is None else Concert.model_validate(concert)
