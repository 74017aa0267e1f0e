"""Accounts: register, sign in, roles. Emails are stored normalized; passwords as argon2id.

A failed sign-in says the same thing, and costs the same time, whether or not the email has
an account, so nobody learns from it who is registered.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass

import asyncpg

from ticketbook.auth.identity import Identity
from ticketbook.auth.passwords import check_password_policy, hash_password, verify_password
from ticketbook.auth.sessions import open_session
from ticketbook.db.pool import Database
from ticketbook.domain.enums import Role, SessionKind
from ticketbook.domain.errors import EmailTaken, InvalidCredentials, InvalidInput
from ticketbook.observability.metrics import SIGN_INS
from ticketbook.ratelimit.limiter import RateLimiter

MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")

INSERT_ACCOUNT_SQL = """
INSERT INTO users (role, email, password_hash) VALUES ($1, $2, $3) RETURNING id
"""

# Lock the guest row first: a hold in flight for the guest holds a key-share lock on it, so
# we wait for it and move its booking too; a later one fails its foreign key once we delete.
LOCK_GUEST_SQL = f"SELECT id FROM users WHERE id = $1 AND role = '{Role.GUEST}' FOR UPDATE"
MOVE_BOOKINGS_SQL = "UPDATE bookings SET user_id = $2, updated_at = now() WHERE user_id = $1"
MOVE_KEYS_SQL = "UPDATE idempotency_keys SET user_id = $2 WHERE user_id = $1"
DELETE_GUEST_SQL = f"DELETE FROM users WHERE id = $1 AND role = '{Role.GUEST}'"

FIND_ACCOUNT_SQL = "SELECT id, role, email, password_hash FROM users WHERE email = $1"


@dataclass(frozen=True)
class SignedIn:
    identity: Identity
    token: str
    # Bookings a guest brought into the account it registered or signed in to.
    moved_bookings: int = 0


def normalize_email(raw: str) -> str:
    """The one spelling we store and compare: NFKC, trimmed, lower case."""
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    if (
        len(email) > MAX_EMAIL_LENGTH
        or not _EMAIL.match(email)
        or any(unicodedata.category(ch).startswith("C") for ch in email)
    ):
        raise InvalidInput("Enter a valid email address, like name@example.com")
    return email


async def create_account(
    db: Database,
    email: str,
    password: str,
    role: Role = Role.FAN,
    guest_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, int]:
    """Create the account; a guest's bookings move into it. (user id, bookings moved)."""
    email = normalize_email(email)
    check_password_policy(password, email)
    password_hash = await hash_password(password)
    async with db.connection() as conn, conn.transaction():
        try:
            user_id: uuid.UUID = await conn.fetchval(INSERT_ACCOUNT_SQL, role, email, password_hash)
        except asyncpg.UniqueViolationError:
            raise EmailTaken("An account with this email already exists; sign in instead") from None
        moved = await _adopt_guest(conn, guest_id, user_id) if guest_id is not None else 0
    return user_id, moved


async def _adopt_guest(conn: asyncpg.Connection, guest_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """Move a guest's bookings (and idempotency keys) into an account and delete the guest,
    so its stateless token reaches nothing any more. Call inside a transaction."""
    if not await conn.fetchval(LOCK_GUEST_SQL, guest_id):
        return 0
    status = await conn.execute(MOVE_BOOKINGS_SQL, guest_id, user_id)
    await conn.execute(MOVE_KEYS_SQL, guest_id, user_id)
    await conn.execute(DELETE_GUEST_SQL, guest_id)
    return int(status.split()[-1])


async def register(
    db: Database,
    limiter: RateLimiter,
    *,
    email: str,
    password: str,
    address: str | None,
    guest_id: uuid.UUID | None,
    kind: SessionKind,
    ttl_s: int,
) -> SignedIn:
    normalized = _normalized_or_none(email)
    await limiter.hit("register", account=_limit_key(email, normalized), address=address)
    user_id, moved = await create_account(db, email, password, Role.FAN, guest_id)
    token = await open_session(db, user_id, kind, ttl_s)
    return SignedIn(Identity(user_id, Role.FAN, normalized), token, moved)


async def sign_in(
    db: Database,
    limiter: RateLimiter,
    *,
    email: str,
    password: str,
    address: str | None,
    kind: SessionKind,
    ttl_s: int,
    guest_id: uuid.UUID | None = None,
) -> SignedIn:
    """Check the password and open a session; a guest signing in brings its bookings along
    (which may take the account past the per-concert cap: nothing is refused for that)."""
    normalized = _normalized_or_none(email)
    await limiter.hit("login", account=_limit_key(email, normalized), address=address)
    row = await db.fetchrow(FIND_ACCOUNT_SQL, normalized) if normalized else None
    if not await verify_password(row["password_hash"] if row else None, password):
        SIGN_INS.labels("failed").inc()
        raise InvalidCredentials("Email or password is wrong")
    assert row is not None
    SIGN_INS.labels("ok").inc()
    moved = 0
    if guest_id is not None:
        async with db.connection() as conn, conn.transaction():
            moved = await _adopt_guest(conn, guest_id, row["id"])
    token = await open_session(db, row["id"], kind, ttl_s)
    return SignedIn(Identity(row["id"], Role(row["role"]), row["email"]), token, moved)


def _normalized_or_none(email: str) -> str | None:
    try:
        return normalize_email(email)
    except InvalidInput:
        return None


def _limit_key(email: str, normalized: str | None) -> str:
    """The rate-limit key for an email: normalized when it can be, so case tricks don't help;
    for something that is no email at all (maybe with NUL bytes, which PostgreSQL text
    refuses), a digest."""
    if normalized is not None:
        return normalized
    return "invalid:" + hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()


SET_ROLE_SQL = (
    f"UPDATE users SET role = $2 WHERE email = $1 AND role <> '{Role.GUEST}' RETURNING id"
)


async def set_role(db: Database, email: str, role: Role) -> uuid.UUID | None:
    """Give an existing account a role; None when there is no such account."""
    user_id: uuid.UUID | None = await db.fetchval(SET_ROLE_SQL, normalize_email(email), role)
    return user_id
