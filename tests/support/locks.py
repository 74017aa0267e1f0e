"""A tier's stock locks held from outside the app, as a long transaction elsewhere would."""

from __future__ import annotations

import asyncio
import threading
import uuid

import asyncpg


class RowLock:
    """Holds every stock row lock of the tier from outside the app, as a long transaction
    would: a hold finds no unlocked slot, so its locked pass waits for them."""

    def __init__(self, url: str, tier_id: str) -> None:
        self.url, self.tier_id = url, tier_id
        self.locked = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._hold()), daemon=True)

    async def _hold(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT 1 FROM tier_stock WHERE tier_id = $1 ORDER BY slot FOR UPDATE",
                    uuid.UUID(self.tier_id),
                )
                self.locked.set()
                await asyncio.to_thread(self.release.wait, 30)
        finally:
            await conn.close()

    def __enter__(self) -> RowLock:
        self.thread.start()
        assert self.locked.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self.thread.join(10)


def lock_waiters(url: str) -> int:
    """How many sessions of this database wait on a lock right now (as a booking does that
    waits behind a RowLock)."""
    from tests.support.inventory import fetchval

    count: int = fetchval(
        url,
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return count
