"""The asyncpg connection pool every request and job shares, behind a bounded wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson

from ticketbook.config import Settings
from ticketbook.observability.metrics import POOL_IN_USE, POOL_TIMEOUTS, POOL_WAITING


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


def session_settings(settings: Settings) -> dict[str, str]:
    # Sent as startup parameters, so no extra round trip per transaction. Behind PgBouncer
    # (transaction mode) set the same on the role instead: ALTER ROLE ... SET lock_timeout ...
    return {
        "default_transaction_isolation": "read committed",
        "lock_timeout": str(settings.lock_timeout_ms),
        "statement_timeout": str(settings.statement_timeout_ms),
        "idle_in_transaction_session_timeout": "30000",
        "application_name": "ticketbook",
    }


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


async def create_pool(dsn: str, settings: Settings, **overrides: Any) -> asyncpg.Pool:
    options: dict[str, Any] = {
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_max_size,
        "statement_cache_size": settings.statement_cache_size,
        "server_settings": session_settings(settings),
        "init": _init_connection,
        "connection_class": StatelessConnection,
        "timeout": settings.connect_timeout_s,
    }
    options.update(overrides)
    pool: asyncpg.Pool = await asyncpg.create_pool(dsn, **options)
    return pool


class PoolExhausted(TimeoutError):
    """Every connection stayed busy for the whole acquire timeout."""


class Database:
    """The pool with a bounded wait: when all connections are busy a caller gets
    PoolExhausted (answered as 503) after ``acquire_timeout_s`` instead of queueing forever."""

    def __init__(self, pool: asyncpg.Pool, acquire_timeout_s: float) -> None:
        self.pool = pool
        self.acquire_timeout_s = acquire_timeout_s

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        POOL_WAITING.inc()
        try:
            conn = await self.pool.acquire(timeout=self.acquire_timeout_s)
        except TimeoutError:
            POOL_TIMEOUTS.inc()
            raise PoolExhausted(
                f"no database connection free within {self.acquire_timeout_s}s"
            ) from None
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

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self.connection() as conn:
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


async def open_database(dsn: str, settings: Settings) -> Database:
    return Database(await create_pool(dsn, settings), settings.pool_acquire_timeout_s)
