"""Accounts: guests, accounts with a role, and their sign-in sessions. Both edges call this.

Guests get a server-issued id and a signed token; nobody picks their own userId. Accounts
(fans, organizers) sign in with email and password for a revocable session token. Emails are
stored normalized; passwords as argon2id. A failed sign-in says the same thing, and costs the
same time, whether or not the email has an account, so nobody learns from it who is
registered. The SQL is in ``auth/queries.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from ticketbook.auth import queries
from ticketbook.auth.emails import limit_key, normalize_email, normalized_or_none
from ticketbook.auth.identity import Identity
from ticketbook.auth.passwords import check_password_policy, hash_password, verify_password
from ticketbook.auth.sessions import (
    could_be_session_token,
    is_session_token,
    new_session_token,
    token_hash,
)
from ticketbook.auth.tokens import TokenSigner
from ticketbook.db.pool import Database
from ticketbook.domain.enums import Role, SessionKind
from ticketbook.domain.errors import EmailTaken, InvalidCredentials
from ticketbook.observability.metrics import SIGN_INS
from ticketbook.ratelimit.limiter import Action, RateLimiter
from ticketbook.settings import LimitSettings


@dataclass(frozen=True)
class SignedIn:
    identity: Identity
    token: str
    # Bookings a guest brought into the account it registered or signed in to.
    moved_bookings: int = 0
    # Bookings that stayed with the guest (its token still reaches them): moving them would
    # have taken the account past the per-concert ticket cap.
    kept_bookings: int = 0


@dataclass(frozen=True)
class Adoption:
    """What merging a guest into an account did."""

    moved: int = 0
    kept: int = 0


# The per-concert cap when none is configured (the CLI): the setting's default.
DEFAULT_TICKET_CAP: int = LimitSettings.model_fields["max_tickets_per_concert"].default


@dataclass(frozen=True)
class Accounts:
    db: Database
    # How long a sign-in session lasts.
    session_ttl_s: int
    # Checks guest tokens. None for a tool that checks none (the CLI): `identify` then
    # knows only account sessions.
    signer: TokenSigner | None = None
    # Counts sign-ins, sign-ups and new guests per account and client address (None: no
    # limits).
    limiter: RateLimiter | None = None
    # Most tickets one user may hold for one concert: a guest's bookings merge into an
    # account only as far as this allows (the booking engine's cap, the same setting).
    ticket_cap: int = DEFAULT_TICKET_CAP

    # -- guests ----------------------------------------------------------------------------

    async def create_guest(self, address: str | None = None) -> uuid.UUID:
        """A new guest; RateLimited when ``address`` has made too many lately."""
        await self._count_guest(address)
        user_id: uuid.UUID = await self.db.fetchval(queries.INSERT_GUEST_SQL)
        return user_id

    async def ensure_guest(self, user_id: uuid.UUID, address: str | None = None) -> None:
        """Create the guest row for a server-issued page session id, if it does not exist yet.

        The pages hand a first-time visitor a signed session id without writing anything; the
        row is made when that visitor first books, so browsing stays read-only. Making it
        counts as a new guest from ``address`` (RateLimited past the limit); a guest that
        exists already costs one primary-key lookup and counts nothing.
        """
        if await self.db.fetchval(queries.GUEST_EXISTS_SQL, user_id):
            return
        await self._count_guest(address)
        await self.db.execute(queries.ENSURE_GUEST_SQL, user_id)

    async def _count_guest(self, address: str | None) -> None:
        if self.limiter is not None:
            await self.limiter.hit("guest", account=None, address=address)

    # -- who is calling --------------------------------------------------------------------

    async def identify(self, token: str, kind: SessionKind) -> Identity | None:
        """The identity a bearer token or session cookie names, else None.

        Account sessions are looked up (they can be revoked), and only as the kind they were
        opened for: an API token is no page cookie, and a page cookie is no API token. Guest
        tokens are checked by their signature alone, so a guest's requests cost no extra
        database trip.
        """
        if is_session_token(token):
            return await self._resolve_session(token, kind)
        user_id = self.signer.verify(token) if self.signer is not None else None
        return Identity(user_id, Role.GUEST) if user_id is not None else None

    async def _resolve_session(self, token: str, kind: SessionKind) -> Identity | None:
        if not could_be_session_token(token):
            return None
        row = await self.db.fetchrow(queries.RESOLVE_SESSION_SQL, token_hash(token), kind)
        if row is None:
            return None
        return Identity(row["user_id"], Role(row["role"]), row["email"], row["id"])

    # -- accounts --------------------------------------------------------------------------

    async def create_account(
        self,
        email: str,
        password: str,
        role: Role = Role.FAN,
        guest_id: uuid.UUID | None = None,
    ) -> tuple[uuid.UUID, int]:
        """Create the account; a guest's bookings move into it. (user id, bookings moved)."""
        user_id, adopted = await self._create_account(email, password, role, guest_id)
        return user_id, adopted.moved

    async def _create_account(
        self, email: str, password: str, role: Role, guest_id: uuid.UUID | None
    ) -> tuple[uuid.UUID, Adoption]:
        email = normalize_email(email)
        check_password_policy(password, email)
        password_hash = await hash_password(password)
        async with self.db.connection() as conn, conn.transaction():
            try:
                user_id: uuid.UUID = await conn.fetchval(
                    queries.INSERT_ACCOUNT_SQL, role, email, password_hash
                )
            except asyncpg.UniqueViolationError:
                raise EmailTaken(
                    "An account with this email already exists; sign in instead"
                ) from None
            adopted = (
                await _adopt_guest(conn, guest_id, user_id, self.ticket_cap)
                if guest_id is not None
                else Adoption()
            )
        return user_id, adopted

    async def set_role(self, email: str, role: Role) -> uuid.UUID | None:
        """Give an existing account a role; None when there is no such account."""
        user_id: uuid.UUID | None = await self.db.fetchval(
            queries.SET_ROLE_SQL, normalize_email(email), role
        )
        return user_id

    # -- signing in and out ----------------------------------------------------------------

    async def register(
        self,
        *,
        email: str,
        password: str,
        address: str | None,
        guest_id: uuid.UUID | None,
        kind: SessionKind,
    ) -> SignedIn:
        """Create a fan account and open a session of ``kind`` for it; a guest's bookings
        move into it."""
        normalized = normalized_or_none(email)
        await self._count("register", email, normalized, address)
        user_id, adopted = await self._create_account(email, password, Role.FAN, guest_id)
        token = await self._open_session(user_id, kind)
        return SignedIn(Identity(user_id, Role.FAN, normalized), token, adopted.moved, adopted.kept)

    async def sign_in(
        self,
        *,
        email: str,
        password: str,
        address: str | None,
        kind: SessionKind,
        guest_id: uuid.UUID | None = None,
    ) -> SignedIn:
        """Check the password and open a session; a guest signing in brings its bookings
        along, as far as the per-concert cap allows (the rest stay with the guest).

        Counted per address, per (email, address) and per email from everywhere
        (``RateLimiter.hit_sign_in``): failures from other addresses never stop the right
        password from an address that is not failing. A right password forgives its own
        address's failures."""
        normalized = normalized_or_none(email)
        key = limit_key(email, normalized)
        if self.limiter is not None:
            await self.limiter.hit_sign_in(account=key, address=address)
        row = await self.db.fetchrow(queries.FIND_ACCOUNT_SQL, normalized) if normalized else None
        if not await verify_password(row["password_hash"] if row else None, password):
            SIGN_INS.labels("failed").inc()
            raise InvalidCredentials("Email or password is wrong")
        assert row is not None
        SIGN_INS.labels("ok").inc()
        if self.limiter is not None:
            await self.limiter.sign_in_succeeded(account=key, address=address)
        adopted = Adoption()
        if guest_id is not None:
            async with self.db.connection() as conn, conn.transaction():
                adopted = await _adopt_guest(conn, guest_id, row["id"], self.ticket_cap)
        token = await self._open_session(row["id"], kind)
        identity = Identity(row["id"], Role(row["role"]), row["email"])
        return SignedIn(identity, token, adopted.moved, adopted.kept)

    async def sign_out(self, session_id: uuid.UUID) -> None:
        """Revoke a sign-in session: its token is refused from now on."""
        await self.db.execute(queries.REVOKE_SESSION_SQL, session_id)

    async def _count(
        self, action: Action, email: str, normalized: str | None, address: str | None
    ) -> None:
        if self.limiter is not None:
            await self.limiter.hit(action, account=limit_key(email, normalized), address=address)

    async def _open_session(self, user_id: uuid.UUID, kind: SessionKind) -> str:
        token = new_session_token()
        await self.db.execute(
            queries.OPEN_SESSION_SQL, user_id, token_hash(token), kind, float(self.session_ttl_s)
        )
        return token


async def _adopt_guest(
    conn: asyncpg.Connection, guest_id: uuid.UUID, user_id: uuid.UUID, cap: int
) -> Adoption:
    """Move a guest's bookings (and their idempotency keys) into an account, never past the
    per-concert cap. Call inside a transaction.

    Per concert, the guest's live bookings (PENDING, CONFIRMED) move oldest first while the
    account's tickets for that concert stay within ``cap`` (a booking that does not fit is
    skipped, a later smaller one may still fit); finished ones (history, holding nothing)
    always move. What doesn't fit stays with the guest: still valid, still paid for, reached
    with the guest's token as before. The guest row is deleted only when nothing stays, so
    its stateless token then reaches nothing.

    ``tb_tickets_held`` takes the same per-(user, concert) lock as the hold statement and
    keeps it until commit, so the account can't book past the cap while this runs. Concerts
    are locked in id order, so two guests merging into one account can't deadlock.
    """
    if not await conn.fetchval(queries.LOCK_GUEST_SQL, guest_id):
        return Adoption()
    bookings = await conn.fetch(queries.GUEST_BOOKINGS_SQL, guest_id)
    moving: list[uuid.UUID] = [b["id"] for b in bookings if not b["live"]]
    kept: list[uuid.UUID] = []
    for concert_id in sorted({b["concert_id"] for b in bookings if b["live"]}):
        room = cap - int(await conn.fetchval(queries.TICKETS_HELD_SQL, user_id, concert_id))
        for booking in (b for b in bookings if b["live"] and b["concert_id"] == concert_id):
            if booking["quantity"] <= room:
                moving.append(booking["id"])
                room -= booking["quantity"]
            else:
                kept.append(booking["id"])
    await conn.execute(queries.MOVE_BOOKINGS_SQL, guest_id, user_id, moving)
    await conn.execute(queries.MOVE_KEYS_SQL, guest_id, user_id, moving, not kept)
    if not kept:
        await conn.execute(queries.DELETE_GUEST_SQL, guest_id)
    return Adoption(moved=len(moving), kept=len(kept))
