"""Identity: guests get a server-issued id and a token; nobody picks their own userId."""

from __future__ import annotations

import uuid

import asyncpg


async def create_guest(pool: asyncpg.Pool) -> uuid.UUID:
    user_id: uuid.UUID = await pool.fetchval(
        "INSERT INTO users (role) VALUES ('guest') RETURNING id"
    )
    return user_id
