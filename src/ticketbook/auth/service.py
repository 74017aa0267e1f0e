"""Identity: guests get a server-issued id and a token; nobody picks their own userId."""

from __future__ import annotations

import uuid

from ticketbook.db.pool import Database


async def create_guest(db: Database) -> uuid.UUID:
    user_id: uuid.UUID = await db.fetchval("INSERT INTO users (role) VALUES ('guest') RETURNING id")
    return user_id


async def ensure_guest(db: Database, user_id: uuid.UUID) -> None:
    """Create the guest row for a server-issued page session id, if it does not exist yet.

    The pages hand a first-time visitor a signed session id without writing anything; the
    row is made when that visitor first books, so browsing stays read-only.
    """
    await db.execute(
        "INSERT INTO users (id, role) VALUES ($1, 'guest') ON CONFLICT (id) DO NOTHING", user_id
    )
