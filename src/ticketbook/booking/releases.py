"""Wakes the requests that wait for held tickets of a tier when tickets come back.

A request that finds a tier short only because payments are in flight waits for them (see
``BookingEngine``), holding no lock and no connection. It is woken at once when a payment
fails, a hold expires or a booking is cancelled in this process (``released``), and within
the live hub's poll interval when that happens in another process (``on_counts``, fed by
the hub's notifications). As many waiters are woken as tickets came back, first come first
served; a waiter that finds nothing after all waits again.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque

# (concert id, tier id) -> tickets left, as the live hub announces them.
Counts = dict[tuple[str, str], int]


class TierReleases:
    def __init__(self) -> None:
        self._waiters: dict[uuid.UUID, deque[asyncio.Future[None]]] = {}

    def released(self, tier_id: uuid.UUID, tickets: int) -> None:
        """``tickets`` came back to ``tier_id``: wake that many waiters (at least one)."""
        waiters = self._waiters.get(tier_id)
        woken = 0
        while waiters and woken < max(1, tickets):
            future = waiters.popleft()
            if not future.done():
                future.set_result(None)
                woken += 1
        if waiters is not None and not waiters:
            self._waiters.pop(tier_id, None)

    def on_counts(self, changes: Counts) -> None:
        """The live hub's announcement of new counts (any process's changes)."""
        for (_concert_id, tier_id), available in changes.items():
            if available > 0:
                with contextlib.suppress(ValueError):
                    self.released(uuid.UUID(tier_id), available)

    async def wait(self, tier_id: uuid.UUID, timeout_s: float) -> None:
        """Until tickets of ``tier_id`` come back, or ``timeout_s`` passes."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(tier_id, deque())
        waiters.append(future)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await future
        finally:
            if not future.done():
                future.cancel()
            with contextlib.suppress(ValueError):
                waiters.remove(future)
            if not waiters and self._waiters.get(tier_id) is waiters:
                del self._waiters[tier_id]

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())
