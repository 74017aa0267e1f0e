"""Seated concerts for tests: a concert with a GA tier and a layout's seats."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from tests.support.inprocess import app_settings
from tests.support.inventory import fetch, make_concert
from ticketbook.seating import service as seating
from ticketbook.seating.model import Layout
from ticketbook.services import open_services

PRICE_CENTS = 5000


def seated_concert(db_url: str, tmp_path: Path, layout: Layout) -> dict[str, Any]:
    """A concert with a GA tier and the layout's seats, every zone at PRICE_CENTS; its id,
    tier ids (``tiers``), seated tier ids by zone key (``zones``) and ``layout_id``."""
    concert = make_concert(db_url, {"GA": 10})

    async def seat() -> uuid.UUID:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            stored = await seating.create_layout(services.db, layout)
            await seating.seat_concert(
                services.db,
                uuid.UUID(concert["id"]),
                stored.id,
                {
                    z.key: PRICE_CENTS
                    for z in layout.zones
                    if any(s.zone == z.key for s in layout.seats)
                },
                "USD",
            )
            return stored.id

    layout_id = asyncio.run(seat())
    tiers = fetch(
        db_url,
        "SELECT zone, id FROM ticket_tiers WHERE concert_id = $1 AND zone IS NOT NULL",
        uuid.UUID(concert["id"]),
    )
    return {**concert, "zones": {r["zone"]: r["id"] for r in tiers}, "layout_id": layout_id}
