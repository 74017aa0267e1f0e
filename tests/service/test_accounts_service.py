"""The Accounts service object on a real database, in-process: guests, registering, signing in
and out, and a guest's bookings moving into the account it registers or signs in to."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager

import pytest

from tests.support.inventory import make_concert
from ticketbook.auth.passwords import configure_hashing
from ticketbook.auth.service import Accounts
from ticketbook.auth.tokens import TokenSigner
from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.booking.service import BookingEngine
from ticketbook.db.pool import Database, open_database
from ticketbook.domain.enums import Role, SessionKind
from ticketbook.domain.errors import EmailTaken, InvalidCredentials, RateLimited
from ticketbook.payments.simulated import SimulatedGateway
from ticketbook.ratelimit.limiter import RateLimiter
from ticketbook.settings import (
    LimitSettings,
    PasswordHashSettings,
    PaymentSettings,
    RateRule,
    Settings,
)

PASSWORD = "a decent passphrase 42"
ADDRESS = "192.0.2.7"

Scene = Callable[[Accounts, Database], Awaitable[None]]


@pytest.fixture(autouse=True)
def cheap_hashing() -> Iterator[None]:
    # Still argon2id, at the suite's cost; the process default comes back afterwards.
    configure_hashing(PasswordHashSettings(time_cost=1, memory_kib=8192, parallelism=1))
    yield
    configure_hashing(PasswordHashSettings())


@asynccontextmanager
async def accounts_on(db_url: str, limits: LimitSettings | None = None) -> AsyncIterator[Accounts]:
    settings = Settings()
    db = await open_database(db_url, settings)
    try:
        yield Accounts(
            db=db,
            session_ttl_s=3600,
            signer=TokenSigner("accounts-service-test-key"),
            limiter=RateLimiter(db, limits or settings.limits),
        )
    finally:
        await db.close()


def run(db_url: str, scene: Scene, limits: LimitSettings | None = None) -> None:
    async def main() -> None:
        async with accounts_on(db_url, limits) as accounts:
            await scene(accounts, accounts.db)

    asyncio.run(main())


def email() -> str:
    return f"fan-{uuid.uuid4().hex[:10]}@example.com"


async def book_as(db: Database, user_id: uuid.UUID, tier_id: str, quantity: int = 2) -> uuid.UUID:
    gateway = SimulatedGateway(PaymentSettings(success_rate=1.0, latency_ms=0, latency_jitter_ms=0))
    engine = BookingEngine(db, gateway, hold_seconds=600.0, payment_timeout_s=5.0)
    result = await engine.book(
        user_id=user_id, tier_id=uuid.UUID(tier_id), quantity=quantity, key=uuid.uuid4()
    )
    assert result.outcome is BookingOutcome.CONFIRMED
    assert result.booking is not None
    return result.booking.id


def test_a_guest_is_a_row_and_a_signed_token(db_url: str) -> None:
    async def scene(accounts: Accounts, db: Database) -> None:
        guest_id = await accounts.create_guest()
        assert await db.fetchval("SELECT role FROM users WHERE id = $1", guest_id) == Role.GUEST
        assert accounts.signer is not None
        identity = await accounts.identify(accounts.signer.issue(guest_id), SessionKind.API)
        assert identity is not None
        assert (identity.user_id, identity.role, identity.session_id) == (
            guest_id,
            Role.GUEST,
            None,
        )
        # A page visitor's id gets its row at the first booking; twice is harmless.
        page_guest = uuid.uuid4()
        await accounts.ensure_guest(page_guest)
        await accounts.ensure_guest(page_guest)
        assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", page_guest) == 1
        # A token signed with another key, or garbage, names nobody.
        other = TokenSigner("another key").issue(guest_id)
        assert await accounts.identify(other, SessionKind.API) is None
        assert await accounts.identify("tb_nothing-like-this", SessionKind.API) is None

    run(db_url, scene)


def test_register_then_identify_only_as_that_kind(db_url: str) -> None:
    address = email()

    async def scene(accounts: Accounts, db: Database) -> None:
        signed_in = await accounts.register(
            email=address.upper(),
            password=PASSWORD,
            address=ADDRESS,
            guest_id=None,
            kind=SessionKind.API,
        )
        assert signed_in.identity.role is Role.FAN
        assert signed_in.identity.email == address
        assert signed_in.moved_bookings == 0
        assert signed_in.token.startswith("tb_")
        identity = await accounts.identify(signed_in.token, SessionKind.API)
        assert identity is not None
        assert (identity.user_id, identity.role, identity.email) == (
            signed_in.identity.user_id,
            Role.FAN,
            address,
        )
        assert identity.session_id is not None
        # An API token is no page cookie.
        assert await accounts.identify(signed_in.token, SessionKind.PAGE) is None
        # The database keeps the token's SHA-256, never the token.
        digest = hashlib.sha256(signed_in.token.encode()).digest()
        stored = await db.fetch(
            "SELECT token_hash FROM auth_sessions WHERE user_id = $1", identity.user_id
        )
        assert [bytes(r["token_hash"]) for r in stored] == [digest]
        with pytest.raises(EmailTaken):
            await accounts.register(
                email=address,
                password=PASSWORD,
                address=ADDRESS,
                guest_id=None,
                kind=SessionKind.API,
            )

    run(db_url, scene)


def test_sign_in_and_sign_out_revokes(db_url: str) -> None:
    address = email()

    async def scene(accounts: Accounts, db: Database) -> None:
        user_id, moved = await accounts.create_account(address, PASSWORD)
        assert moved == 0
        with pytest.raises(InvalidCredentials):
            await accounts.sign_in(
                email=address, password="not the password", address=ADDRESS, kind=SessionKind.PAGE
            )
        with pytest.raises(InvalidCredentials):
            await accounts.sign_in(
                email=email(), password=PASSWORD, address=ADDRESS, kind=SessionKind.PAGE
            )
        signed_in = await accounts.sign_in(
            email=f"  {address.title()} ", password=PASSWORD, address=ADDRESS, kind=SessionKind.PAGE
        )
        assert signed_in.identity.user_id == user_id
        identity = await accounts.identify(signed_in.token, SessionKind.PAGE)
        assert identity is not None and identity.session_id is not None
        await accounts.sign_out(identity.session_id)
        assert await accounts.identify(signed_in.token, SessionKind.PAGE) is None
        # Signing out again changes nothing; another session of the account still works.
        await accounts.sign_out(identity.session_id)
        again = await accounts.sign_in(
            email=address, password=PASSWORD, address=ADDRESS, kind=SessionKind.PAGE
        )
        assert await accounts.identify(again.token, SessionKind.PAGE) is not None

    run(db_url, scene)


def test_a_guests_bookings_move_into_the_account(db_url: str) -> None:
    tier_id = make_concert(db_url, {"GA": 20})["tiers"]["GA"]
    registering, signing_in = email(), email()

    async def scene(accounts: Accounts, db: Database) -> None:
        # Registering with a guest's id brings its bookings (and keys) and deletes the guest.
        guest_id = await accounts.create_guest()
        booked = [await book_as(db, guest_id, tier_id), await book_as(db, guest_id, tier_id, 1)]
        signed_in = await accounts.register(
            email=registering,
            password=PASSWORD,
            address=ADDRESS,
            guest_id=guest_id,
            kind=SessionKind.API,
        )
        account_id = signed_in.identity.user_id
        assert signed_in.moved_bookings == 2
        owners = await db.fetch("SELECT user_id FROM bookings WHERE id = ANY($1)", booked)
        assert {r["user_id"] for r in owners} == {account_id}
        keys = await db.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE user_id = $1", guest_id
        )
        assert keys == 0
        assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", guest_id) == 0

        # Signing in with a guest's id does the same for an existing account.
        other_id, _ = await accounts.create_account(signing_in, PASSWORD)
        guest_id = await accounts.create_guest()
        booking = await book_as(db, guest_id, tier_id)
        signed_in = await accounts.sign_in(
            email=signing_in,
            password=PASSWORD,
            address=ADDRESS,
            kind=SessionKind.API,
            guest_id=guest_id,
        )
        assert signed_in.moved_bookings == 1
        assert await db.fetchval("SELECT user_id FROM bookings WHERE id = $1", booking) == other_id

        # An id that names no guest (an account's, or one gone) moves nothing.
        moved = await accounts.sign_in(
            email=signing_in,
            password=PASSWORD,
            address=ADDRESS,
            kind=SessionKind.API,
            guest_id=account_id,
        )
        assert moved.moved_bookings == 0
        assert (
            await db.fetchval("SELECT count(*) FROM bookings WHERE user_id = $1", account_id) == 2
        )

    run(db_url, scene)


def test_roles_and_rate_limits(db_url: str) -> None:
    address = email()
    limits = LimitSettings(login_per_account=RateRule(2, 60), login_per_address=RateRule(0, 60))

    async def scene(accounts: Accounts, db: Database) -> None:
        user_id, _ = await accounts.create_account(address, PASSWORD)
        assert await accounts.set_role(address.upper(), Role.ORGANIZER) == user_id
        assert await accounts.set_role(email(), Role.ORGANIZER) is None
        # The right password forgives its address's failures: signing in often never bites.
        for _ in range(3):
            signed_in = await accounts.sign_in(
                email=address, password=PASSWORD, address=ADDRESS, kind=SessionKind.API
            )
            assert signed_in.identity.role is Role.ORGANIZER
        for _ in range(2):
            with pytest.raises(InvalidCredentials):
                await accounts.sign_in(
                    email=address, password="not it at all", address=ADDRESS, kind=SessionKind.API
                )
        # Two failures from this address: it waits, even with the right password...
        with pytest.raises(RateLimited):
            await accounts.sign_in(
                email=address, password=PASSWORD, address=ADDRESS, kind=SessionKind.API
            )
        # ...while the owner, elsewhere, signs in.
        await accounts.sign_in(
            email=address, password=PASSWORD, address="192.0.2.8", kind=SessionKind.API
        )

    run(db_url, scene, limits)
