"""Sign-in sessions: an API bearer token or a page cookie, both revocable.

A token is 256 random bits, shown to the client once; the database keeps only its SHA-256, so
reading the table gives no working token. Checking one is a single primary-key-sized lookup.
Guest tokens (auth/tokens.py) are different: stateless, and they name a guest, never an account.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from ticketbook.auth.identity import Identity
from ticketbook.db.pool import Database
from ticketbook.domain.enums import Role, SessionKind

TOKEN_PREFIX = "tb_"

OPEN_SQL = """
INSERT INTO auth_sessions (user_id, token_hash, kind, expires_at)
VALUES ($1, $2, $3, now() + make_interval(secs => $4))
"""

# Served by uq_auth_sessions_token_hash.
RESOLVE_SQL = """
SELECT s.id, s.user_id, u.role, u.email
  FROM auth_sessions s
  JOIN users u ON u.id = s.user_id
 WHERE s.token_hash = $1 AND s.kind = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
"""

REVOKE_SQL = "UPDATE auth_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"


def is_session_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def open_session(db: Database, user_id: uuid.UUID, kind: SessionKind, ttl_s: int) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await db.execute(OPEN_SQL, user_id, _hash(token), kind, float(ttl_s))
    return token


async def resolve_session(db: Database, token: str, kind: SessionKind) -> Identity | None:
    """The identity of a live session of this kind: an API token is no page cookie, and a
    page cookie is no API token."""
    if len(token) > 100 or not token.isascii():
        return None
    row = await db.fetchrow(RESOLVE_SQL, _hash(token), kind)
    if row is None:
        return None
    return Identity(row["user_id"], Role(row["role"]), row["email"], row["id"])


async def revoke_session(db: Database, session_id: uuid.UUID) -> None:
    await db.execute(REVOKE_SQL, session_id)
