"""The asyncpg connection pool every request and job shares."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from ticketbook.config import Settings


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


async def create_pool(dsn: str, settings: Settings, **overrides: Any) -> asyncpg.Pool:
    options: dict[str, Any] = {
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_max_size,
        "statement_cache_size": settings.statement_cache_size,
        "server_settings": session_settings(settings),
        "init": _init_connection,
        "timeout": settings.pool_timeout_s,
    }
    options.update(overrides)
    pool: asyncpg.Pool = await asyncpg.create_pool(dsn, **options)
    return pool
