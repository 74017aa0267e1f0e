"""Identity: guests get a server-issued id and a token; nobody picks their own userId."""

from __future__ import annotations

import uuid

from ticketbook.db.pool import Database


async def create_guest(db: Database) -> uuid.UUID:
    user_id: uuid.UUID = await db.fetchval("INSERT INTO users (role) VALUES ('guest') RETURNING id")
    return user_id
