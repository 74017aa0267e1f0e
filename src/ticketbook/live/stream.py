"""Server-Sent Events: one stream per open concert page.

Wire format (text/event-stream)::

    retry: 2000

    event: availability
    data: {"concertId": "...", "tierId": "...", "availableQuantity": 41}

The stream starts with the current count of every tier of the concert (so a reconnecting
client is never stale), then sends a tier's count whenever it changes, at most once per
``coalesce_s`` per stream, plus a comment line every ``heartbeat_s`` so proxies keep the
connection open and a vanished client is noticed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import orjson

from ticketbook.live.hub import AvailabilityHub, Subscription
from ticketbook.observability.metrics import LIVE_STREAMS

RETRY_MS = 2000
HEARTBEAT_S = 15.0
COALESCE_S = 0.25


def availability_event(concert_id: str, tier_id: str, available: int) -> bytes:
    data = orjson.dumps(
        {"concertId": concert_id, "tierId": tier_id, "availableQuantity": available}
    )
    return b"event: availability\ndata: " + data + b"\n\n"


async def availability_stream(
    hub: AvailabilityHub,
    subscription: Subscription,
    snapshot: Iterable[tuple[str, int]],
    *,
    heartbeat_s: float = HEARTBEAT_S,
    coalesce_s: float = COALESCE_S,
) -> AsyncIterator[bytes]:
    """``subscription`` was taken before ``snapshot`` was read, so no change falls between
    the two. The stream ends (and unsubscribes) when the client goes away or the hub closes."""
    concert_id = subscription.concert_id
    LIVE_STREAMS.inc()
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        yield b"".join(availability_event(concert_id, t, n) for t, n in snapshot)
        while True:
            changes = await subscription.changes(heartbeat_s)
            if changes is None:
                return
            if not changes:
                yield b": keep-alive\n\n"
                continue
            yield b"".join(availability_event(concert_id, t, n) for t, n in changes.items())
            await asyncio.sleep(coalesce_s)
    finally:
        LIVE_STREAMS.dec()
        hub.unsubscribe(subscription)
