"""Identity: guests get a server-issued id and a token; nobody picks their own userId.
Accounts (auth/accounts.py) sign in for a revocable session token."""

from __future__ import annotations

import uuid

from ticketbook.auth.identity import Identity
from ticketbook.auth.sessions import is_session_token, resolve_session
from ticketbook.auth.tokens import TokenSigner
from ticketbook.db.pool import Database
from ticketbook.domain.enums import Role, SessionKind


async def create_guest(db: Database) -> uuid.UUID:
    user_id: uuid.UUID = await db.fetchval(
        f"INSERT INTO users (role) VALUES ('{Role.GUEST}') RETURNING id"
    )
    return user_id


async def ensure_guest(db: Database, user_id: uuid.UUID) -> None:
    """Create the guest row for a server-issued page session id, if it does not exist yet.

    The pages hand a first-time visitor a signed session id without writing anything; the
    row is made when that visitor first books, so browsing stays read-only.
    """
    await db.execute(
        f"INSERT INTO users (id, role) VALUES ($1, '{Role.GUEST}') ON CONFLICT (id) DO NOTHING",
        user_id,
    )


async def identify(
    db: Database, signer: TokenSigner, token: str, kind: SessionKind
) -> Identity | None:
    """The identity a bearer token or session cookie names, else None.

    Account sessions are looked up (they can be revoked); guest tokens are checked by their
    signature alone, so a guest's requests cost no extra database trip.
    """
    if is_session_token(token):
        return await resolve_session(db, token, kind)
    user_id = signer.verify(token)
    return Identity(user_id, Role.GUEST) if user_id is not None else None
