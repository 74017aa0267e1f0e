"""The seat states each process shares between the maps that poll (seating/service.py): the
live channel's news of a change makes the next read a fresh one."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.support.inprocess import app_settings
from tests.support.seating import seated_concert
from ticketbook.seating import service as seating
from ticketbook.seating.demo_layouts import section_block
from ticketbook.seating.states import SeatState, decode_states
from ticketbook.services import open_services


def test_a_change_heard_on_the_live_channel_is_read_afresh(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kept for an hour, so that only forgetting can make the second read see the sale.
    monkeypatch.setattr(seating, "STATES_FRESH_S", 3600.0)
    concert = seated_concert(db_url, tmp_path, section_block(2, 4))
    concert_id = uuid.UUID(concert["id"])
    tier = concert["zones"]["standard"]

    async def scene() -> list[list[SeatState]]:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            before = await seating.seat_states(services.db, concert_id)
            fan = await services.db.fetchval(
                "INSERT INTO users (role) VALUES ('guest') RETURNING id"
            )
            booked = await services.engine.book(
                user_id=fan, tier_id=tier, quantity=1, key=uuid.uuid4(), seats=("S:A:1",)
            )
            assert booked.booking is not None, booked
            kept = await seating.seat_states(services.db, concert_id)
            # A read that began before the news is not shared with the maps that ask after.
            in_flight = asyncio.ensure_future(seating.seat_states(services.db, concert_id))
            seating.forget_states({(concert["id"], str(tier)): 0})
            after = await seating.seat_states(services.db, concert_id)
            await in_flight
            return [decode_states(s.encoded, s.count) for s in (before, kept, after)]

    before, kept, after = asyncio.run(scene())
    assert before[0] is SeatState.FREE
    assert kept == before  # the shared read, from before the sale
    assert after[0] is SeatState.SOLD
    assert after[1:] == before[1:]
