"""The asyncpg connection pool every request and job shares, behind a bounded wait."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import orjson

from ticketbook.observability.metrics import POOL_IN_USE, POOL_TIMEOUTS, POOL_WAITING
from ticketbook.settings import Settings

log = logging.getLogger(__name__)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


def server_defaults(settings: Settings) -> dict[str, str]:
    """The session settings every connection needs, spelled as `pg_settings.setting` shows them."""
    return {
        "default_transaction_isolation": "read committed",
        "lock_timeout": str(settings.lock_timeout_ms),
        "statement_timeout": str(settings.statement_timeout_ms),
        "idle_in_transaction_session_timeout": "30000",
    }


def session_settings(settings: Settings, *, read_only: bool = False) -> dict[str, str]:
    # Sent as startup parameters, so no extra round trip per transaction. PgBouncer refuses
    # startup parameters it doesn't track (it passes application_name on), so behind it the
    # others come from the role or database instead (ALTER ROLE ... SET lock_timeout ...; see
    # docs/operations.md) and `open_database` checks them.
    if settings.pgbouncer:
        return {"application_name": "ticketbook"}
    values = {**server_defaults(settings), "application_name": "ticketbook"}
    if read_only:
        values["default_transaction_read_only"] = "on"
    return values


async def settings_mismatches(conn: asyncpg.Connection, settings: Settings) -> list[str]:
    """Session settings the server applies that differ from what TicketBook is configured for."""
    expected = server_defaults(settings)
    rows = await conn.fetch(
        "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])", list(expected)
    )
    return [
        f"{row['name']} = {row['setting']!r} (want {expected[row['name']]!r})"
        for row in rows
        if row["setting"] != expected[row["name"]]
    ]


class StatelessConnection(asyncpg.Connection):
    """A pooled connection released without asyncpg's reset query.

    asyncpg sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every
    release: one extra round trip per statement here. The app keeps no session state on pooled
    connections (transaction-scoped advisory locks only, no cursors, no LISTEN, no SET), which
    is also what PgBouncer's transaction mode requires. An open transaction is still rolled
    back on release.
    """

    def get_reset_query(self) -> str:
        return ""


async def create_pool(
    dsn: str, settings: Settings, *, read_only: bool = False, **overrides: Any
) -> asyncpg.Pool:
    options: dict[str, Any] = {
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_max_size,
        # 0 behind PgBouncer: asyncpg then sends unnamed statements, parsed and executed
        # before one Sync, so they never outlive the server connection PgBouncer lent.
        "statement_cache_size": settings.statement_cache_size,
        "server_settings": session_settings(settings, read_only=read_only),
        "init": _init_connection,
        "connection_class": StatelessConnection,
        "timeout": settings.connect_timeout_s,
    }
    options.update(overrides)
    pool: asyncpg.Pool = await asyncpg.create_pool(dsn, **options)
    return pool


# What an unreachable or restarting server raises on connect (a missing socket file is an
# OSError, a server still starting is CannotConnectNowError).
UNREACHABLE_ERRORS = (OSError, asyncpg.CannotConnectNowError, asyncpg.PostgresConnectionError)


async def create_pool_when_reachable(
    dsn: str, settings: Settings, *, read_only: bool = False
) -> asyncpg.Pool:
    """The pool, once the server answers: a worker started during a database outage (the
    supervisor restarting one, say) waits up to ``startup_database_wait_s`` for it to return
    rather than failing its start-up, which would stop every worker with it."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + settings.startup_database_wait_s
    backoff = 0.2
    while True:
        try:
            return await create_pool(dsn, settings, read_only=read_only)
        except UNREACHABLE_ERRORS as exc:
            remaining = give_up - loop.time()
            if remaining <= 0:
                raise
            log.warning("database unreachable at start-up (%r); retrying in %.1fs", exc, backoff)
            await asyncio.sleep(min(backoff, remaining))
            backoff = min(backoff * 2, 2.0)


T = TypeVar("T")


async def retry_deadlocked(
    attempt: Callable[[], Awaitable[T]], retries: int = 2, pause_s: float = 0.05
) -> T:
    """``attempt()``, again up to ``retries`` times when PostgreSQL aborted it to break a
    deadlock (SQLSTATE 40P01). Only for a statement or transaction that changed nothing when
    aborted and decides afresh when run again (a conditional UPDATE, say). It waits
    ``pause_s`` first: run again at once, it can take the contested row before the
    transaction it gave way to does, and deadlock with it a second time."""
    for tries_left in range(retries, -1, -1):
        try:
            return await attempt()
        except asyncpg.DeadlockDetectedError:
            if not tries_left:
                raise
            log.warning("a statement was chosen to break a deadlock; running it again")
            await asyncio.sleep(pause_s)
    raise AssertionError("unreachable")


class PoolExhausted(TimeoutError):
    """Every connection stayed busy for the whole acquire timeout."""


class Database:
    """The pool with a bounded wait: when all connections are busy a caller gets
    PoolExhausted (answered as 503) after ``acquire_timeout_s`` instead of queueing forever."""

    def __init__(self, pool: asyncpg.Pool, acquire_timeout_s: float) -> None:
        self.pool = pool
        self.acquire_timeout_s = acquire_timeout_s

    @asynccontextmanager
    async def connection(
        self, acquire_timeout_s: float | None = None
    ) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; ``acquire_timeout_s`` overrides the pool's bound on the wait."""
        timeout = self.acquire_timeout_s if acquire_timeout_s is None else acquire_timeout_s
        POOL_WAITING.inc()
        try:
            conn = await self.pool.acquire(timeout=timeout)
        except TimeoutError:
            POOL_TIMEOUTS.inc()
            raise PoolExhausted(f"no database connection free within {timeout}s") from None
        finally:
            POOL_WAITING.dec()
        POOL_IN_USE.inc()
        try:
            yield conn
        finally:
            POOL_IN_USE.dec()
            await self.pool.release(conn)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.connection() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows

    async def fetchrow(
        self, sql: str, *args: Any, acquire_timeout_s: float | None = None
    ) -> asyncpg.Record | None:
        async with self.connection(acquire_timeout_s) as conn:
            row: asyncpg.Record | None = await conn.fetchrow(sql, *args)
            return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        async with self.connection() as conn:
            status: str = await conn.execute(sql, *args)
            return status

    async def close(self) -> None:
        await self.pool.close()


async def open_database(dsn: str, settings: Settings, *, read_only: bool = False) -> Database:
    """The pool for ``dsn``. ``read_only``: a replica's pool, for reads that may lag a little;
    a write through it fails (on the primary too), unless PgBouncer stands in between."""
    database = Database(
        await create_pool_when_reachable(dsn, settings, read_only=read_only),
        settings.pool_acquire_timeout_s,
    )
    if settings.pgbouncer:
        async with database.connection() as conn:
            mismatches = await settings_mismatches(conn, settings)
        if mismatches:
            log.warning(
                "behind PgBouncer the role's settings apply, and they differ: %s. Set them "
                "with ALTER ROLE ... SET (docs/operations.md, Behind PgBouncer)",
                "; ".join(mismatches),
            )
    return database
