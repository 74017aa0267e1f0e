"""One LISTEN connection per app process, fanned out to the open pages' event streams.

How a count reaches every open concert page, whichever process or host took the booking:

1. **Publish.** Exactly one process in the whole deployment is the *publisher*: the one whose
   listen connection holds the session advisory lock ``PUBLISHER_LOCK_ID``. Every
   ``poll_interval_s`` it reads the availability of every upcoming tier (one indexed query),
   compares it with its previous read, and sends the tiers that changed with ``pg_notify`` on
   ``CHANNEL``, as few notifications as fit. When its connection or process dies, PostgreSQL
   releases the lock and another process takes over within ``CLAIM_INTERVAL_S``; the new
   publisher first announces every tier, so nothing that changed during the handover is lost.
2. **Listen.** Every process LISTENs on ``CHANNEL`` on the same dedicated connection (never a
   pooled one: LISTEN and session locks need a session of their own, and must bypass PgBouncer
   in transaction mode) and hands each tier's new count to the subscriptions of its concert.
3. **Coalesce.** A subscription keeps only the latest count per tier, so a client that reads
   slowly, or a tier that sells hundreds of tickets a second, never builds a backlog.

Why not a trigger that NOTIFYs from the booking transaction itself: PostgreSQL serialises the
commits of all transactions that sent a NOTIFY (a database-wide lock held through the commit's
WAL flush). Measured on this machine, concurrent single-row updates of different tiers dropped
from ~7,000-8,000/s to ~1,400-4,700/s with such a trigger, depending on concurrency. Polling
costs one small query per interval, whatever the booking rate. See docs/pages.md.

If the connection drops, the hub reconnects with backoff and re-reads the current counts for
every concert someone is watching, so no page stays stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import asyncpg
import orjson

from ticketbook.background import cancel_and_wait
from ticketbook.db.locks import JobLock
from ticketbook.db.urls import asyncpg_dsn
from ticketbook.observability.metrics import LIVE_CHANGES, LIVE_LISTENING, LIVE_PUBLISHING
from ticketbook.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "ticketbook_availability"
PUBLISHER_LOCK_ID = JobLock.LIVE_PUBLISHER
CLAIM_INTERVAL_S = 1.0
QUERY_TIMEOUT_S = 5.0
# pg_notify payloads must stay under 8000 bytes.
MAX_PAYLOAD_BYTES = 7000

UPCOMING_TIERS_SQL = """
SELECT t.concert_id::text AS concert_id, t.id::text AS tier_id, t.available_quantity
  FROM ticket_tiers t
  JOIN concerts c ON c.id = t.concert_id
 WHERE c.starts_at >= now()
"""

WATCHED_TIERS_SQL = """
SELECT t.concert_id::text AS concert_id, t.id::text AS tier_id, t.available_quantity
  FROM ticket_tiers t
 WHERE t.concert_id = ANY($1::uuid[])
"""

# (concert id, tier id) -> tickets left
Counts = dict[tuple[str, str], int]


class Subscription:
    """One open stream's view of one concert: the latest count of each tier that changed."""

    def __init__(self, concert_id: str) -> None:
        self.concert_id = concert_id
        self._pending: dict[str, int] = {}
        self._wakeup = asyncio.Event()
        self.closed = False

    def push(self, tier_id: str, available: int) -> None:
        self._pending[tier_id] = available
        self._wakeup.set()

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()

    async def changes(self, timeout_s: float) -> dict[str, int] | None:
        """Counts that changed since the last call ({} after ``timeout_s`` without any);
        None once the subscription is closed."""
        if not self.closed and not self._pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._wakeup.wait()
        self._wakeup.clear()
        if self.closed:
            return None
        batch, self._pending = self._pending, {}
        return batch


def encode_changes(changes: Counts) -> list[str]:
    """Notification payloads, each a JSON list of {concertId, tierId, availableQuantity}."""
    payloads: list[str] = []
    items: list[bytes] = []
    size = 2
    for (concert_id, tier_id), available in changes.items():
        item = orjson.dumps(
            {"concertId": concert_id, "tierId": tier_id, "availableQuantity": available}
        )
        if items and size + len(item) + 1 > MAX_PAYLOAD_BYTES:
            payloads.append("[" + b",".join(items).decode() + "]")
            items, size = [], 2
        items.append(item)
        size += len(item) + 1
    if items:
        payloads.append("[" + b",".join(items).decode() + "]")
    return payloads


def decode_changes(payload: str) -> Counts:
    changes: Counts = {}
    for item in orjson.loads(payload):
        changes[(str(item["concertId"]), str(item["tierId"]))] = int(item["availableQuantity"])
    return changes


class AvailabilityHub:
    def __init__(
        self,
        dsn: str,
        *,
        poll_interval_s: float = 0.2,
        connect_timeout_s: float = 5.0,
        publish: bool = True,
    ) -> None:
        self._dsn = dsn
        self._poll_interval_s = poll_interval_s
        self._connect_timeout_s = connect_timeout_s
        self._publish_allowed = publish
        self._subscriptions: dict[str, set[Subscription]] = {}
        # Called with every batch of changed counts (the booking engine's waiters).
        self._listeners: list[Callable[[Counts], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self.is_publisher = False
        self.connected = asyncio.Event()
        # Set by ``close_streams`` (the server is shutting down): what streams that follow no
        # concert's counts (the waiting room's) wait on, so they end at once too.
        self.shutting_down = asyncio.Event()
        self._restore_signals: Callable[[], None] | None = None

    # -- subscriptions ----------------------------------------------------------------------

    def subscribe(self, concert_id: str) -> Subscription:
        subscription = Subscription(concert_id)
        self._subscriptions.setdefault(concert_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.close()
        watchers = self._subscriptions.get(subscription.concert_id)
        if watchers is not None:
            watchers.discard(subscription)
            if not watchers:
                del self._subscriptions[subscription.concert_id]

    def add_listener(self, listener: Callable[[Counts], None]) -> None:
        """Call ``listener`` with every batch of changed counts this process hears of."""
        self._listeners.append(listener)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscriptions.values())

    def _deliver(self, changes: Counts) -> None:
        for (concert_id, tier_id), available in changes.items():
            for subscription in self._subscriptions.get(concert_id, ()):
                subscription.push(tier_id, available)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if not self._subscriptions and not self._listeners:
            return
        try:
            changes = decode_changes(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("live: ignoring a malformed notification: %.200s", payload)
            return
        self._deliver(changes)
        for listener in self._listeners:
            try:
                listener(changes)
            except Exception:  # one listener's bug must not stop the pages' counts
                log.exception("live: a listener failed")

    def close_streams(self) -> None:
        """End every open stream (the server is shutting down; clients will reconnect)."""
        self.shutting_down.set()
        for watchers in list(self._subscriptions.values()):
            for subscription in list(watchers):
                subscription.close()

    async def wait_shutdown(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s``; True if the server started shutting down meanwhile.
        Unlike a subscription, nothing else wakes it: one wakeup per stream, at shutdown."""
        if not self.shutting_down.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self.shutting_down.wait()
        return self.shutting_down.is_set()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self.shutting_down.clear()
        self._task = asyncio.create_task(self._run(), name="ticketbook-live")

    async def stop(self) -> None:
        self.close_streams()
        if self._restore_signals is not None:
            self._restore_signals()
            self._restore_signals = None
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    def close_streams_on_exit_signals(self) -> None:
        """On SIGTERM/SIGINT, end the open streams first, then let the server handle the signal.

        uvicorn waits (up to its graceful timeout) for open responses before it shuts down,
        and an event stream never ends by itself. Only wraps a handler a server installed.
        """
        loop = asyncio.get_running_loop()
        previous: dict[int, Any] = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                handler = signal.getsignal(sig)
            except ValueError:  # pragma: no cover - not the main thread
                return
            if not callable(handler):
                continue

            def on_signal(
                signum: int, frame: FrameType | None, _next: Callable[..., Any] = handler
            ) -> None:
                loop.call_soon_threadsafe(self.close_streams)
                _next(signum, frame)

            try:
                signal.signal(sig, on_signal)
            except ValueError:  # pragma: no cover - not the main thread
                return
            previous[sig] = handler

        def restore() -> None:
            for sig, handler in previous.items():
                with contextlib.suppress(ValueError):
                    signal.signal(sig, handler)

        self._restore_signals = restore

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                conn = await asyncpg.connect(
                    self._dsn,
                    timeout=self._connect_timeout_s,
                    server_settings={"application_name": "ticketbook-live"},
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live: cannot connect for LISTEN (%r); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.2
            self._conn = conn
            try:
                await self._serve(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live: listen connection lost (%r); reconnecting", exc)
            finally:
                self.connected.clear()
                self.is_publisher = False
                LIVE_LISTENING.set(0)
                LIVE_PUBLISHING.set(0)
                self._conn = None
                await _close(conn)
            await asyncio.sleep(backoff)

    async def _serve(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(CHANNEL, self._on_notify)
        self.connected.set()
        LIVE_LISTENING.set(1)
        await self._resync(conn)
        previous: Counts | None = None
        next_claim = 0.0
        while not lost.is_set():
            if self._publish_allowed and not self.is_publisher and time.monotonic() >= next_claim:
                next_claim = time.monotonic() + CLAIM_INTERVAL_S
                claimed = await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", PUBLISHER_LOCK_ID, timeout=QUERY_TIMEOUT_S
                )
                self.is_publisher = bool(claimed)
                LIVE_PUBLISHING.set(1 if self.is_publisher else 0)
                if self.is_publisher:
                    log.info("live: this process now publishes availability changes")
                    previous = None  # announce everything once: changes in the handover count
            if self.is_publisher:
                previous = await self._publish(conn, previous)
                wait = self._poll_interval_s
            elif self._publish_allowed:
                wait = max(0.0, next_claim - time.monotonic())
            else:
                await conn.fetchval("SELECT 1", timeout=QUERY_TIMEOUT_S)  # keepalive
                wait = CLAIM_INTERVAL_S
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await lost.wait()

    async def _publish(self, conn: asyncpg.Connection, previous: Counts | None) -> Counts:
        rows = await conn.fetch(UPCOMING_TIERS_SQL, timeout=QUERY_TIMEOUT_S)
        current: Counts = {(r["concert_id"], r["tier_id"]): r["available_quantity"] for r in rows}
        if previous is None:
            changed = current
        else:
            changed = {k: v for k, v in current.items() if previous.get(k) != v}
        if changed:
            LIVE_CHANGES.inc(len(changed))
            await conn.execute(
                "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
                CHANNEL,
                encode_changes(changed),
                timeout=QUERY_TIMEOUT_S,
            )
        return current

    async def _resync(self, conn: asyncpg.Connection) -> None:
        """After (re)connecting: notifications sent while we were away are lost, so re-read the
        counts of every concert someone is watching."""
        watched = list(self._subscriptions)
        if not watched:
            return
        rows = await conn.fetch(WATCHED_TIERS_SQL, watched, timeout=QUERY_TIMEOUT_S)
        self._deliver({(r["concert_id"], r["tier_id"]): r["available_quantity"] for r in rows})


async def _close(conn: asyncpg.Connection) -> None:
    try:
        async with asyncio.timeout(2.0):
            await conn.close()
    except Exception:
        conn.terminate()


async def start_live_hub(dsn: str, settings: Settings) -> AvailabilityHub:
    """The app process's hub, started (it connects in the background and keeps retrying)."""
    hub = AvailabilityHub(
        asyncpg_dsn(settings.live_database_url or dsn),
        poll_interval_s=settings.live_poll_interval_s,
        connect_timeout_s=settings.connect_timeout_s,
    )
    await hub.start()
    hub.close_streams_on_exit_signals()
    return hub
