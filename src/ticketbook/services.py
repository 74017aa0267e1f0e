"""The composition root: every service is built here, from the settings, once per process,
and torn down here. The JSON API (``api/``) and the pages (``web/``) are two thin edges on
what this builds (``app.py`` mounts them); services never import an edge.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from ticketbook.auth.passwords import configure_hashing
from ticketbook.auth.secrets import load_secret_key
from ticketbook.auth.service import Accounts
from ticketbook.auth.tokens import TokenSigner
from ticketbook.background import cancel_and_wait
from ticketbook.booking.reaper import run_reaper
from ticketbook.booking.refunds import run_refunder
from ticketbook.booking.service import BookingEngine
from ticketbook.checkin.service import CheckinDesk
from ticketbook.db.pool import Database, open_database
from ticketbook.db.urls import asyncpg_dsn
from ticketbook.live.hub import AvailabilityHub, start_live_hub
from ticketbook.mail.outbox import Mailer, run_mailer
from ticketbook.payments.gateway import PaymentGateway
from ticketbook.payments.simulated import SimulatedGateway
from ticketbook.queue.service import WaitingRoom
from ticketbook.ratelimit.limiter import RateLimiter
from ticketbook.ratelimit.pruning import run_pruner
from ticketbook.seating import service as seating
from ticketbook.settings import Settings
from ticketbook.tickets.keys import TicketKeys
from ticketbook.tickets.service import Tickets


@dataclass
class AppServices:
    """What a process holds for its lifetime; request handlers reach it through
    ``http.deps.Services``."""

    settings: Settings
    db: Database
    gateway: PaymentGateway
    engine: BookingEngine
    accounts: Accounts
    signer: TokenSigner
    limiter: RateLimiter
    # Ticket codes: each concert's Ed25519 key, derived from the same secret key.
    ticket_keys: TicketKeys
    # The door: scans, offline bundles and syncs, door staff (docs/checkin.md).
    checkin: CheckinDesk
    # Fans' tickets (codes, transfers) and the mail outbox's sender (docs/tickets.md).
    tickets: Tickets
    mailer: Mailer
    # Protected on-sales: the waiting room, its draw and the booking gate (docs/queue.md).
    queue: WaitingRoom
    # Live availability for the pages' event streams (None when background jobs are off).
    live: AvailabilityHub | None = None
    # Catalog reads (concert list and pages): a replica's pool when READ_DATABASE_URL is set,
    # else the primary's. Bookings, "my bookings" and anything after a write use `db`.
    read_db: Database | None = None

    @property
    def catalog_db(self) -> Database:
        return self.read_db or self.db


def booking_engine(
    settings: Settings, db: Database, gateway: PaymentGateway, limiter: RateLimiter | None
) -> BookingEngine:
    return BookingEngine(
        db=db,
        gateway=gateway,
        hold_seconds=settings.hold_seconds,
        max_tickets_per_concert=settings.limits.max_tickets_per_concert,
        limiter=limiter,
        # A little over the provider's own timeout, as a backstop.
        payment_timeout_s=settings.payment.timeout_ms / 1000.0 + 1.0,
    )


def accounts_service(
    settings: Settings, db: Database, signer: TokenSigner, limiter: RateLimiter | None
) -> Accounts:
    return Accounts(
        db=db,
        session_ttl_s=settings.session_ttl_s,
        signer=signer,
        limiter=limiter,
        ticket_cap=settings.limits.max_tickets_per_concert,
    )


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    database_url: str | None = None,
    gateway: PaymentGateway | None = None,
    run_background_jobs: bool = True,
) -> AsyncIterator[AppServices]:
    """Build every service, start the background jobs (the reaper, the refunder, rate-limit
    pruning, the live-availability hub), and stop and close all of it on the way out.
    ``database_url`` (else the settings') must already be migrated: the CLI sees to that."""
    url = database_url or settings.database_url
    if url is None:
        raise RuntimeError("no database URL: start through `ticketbook serve`")
    # First, so a worker refuses a bad production key before it opens any connection.
    secret_key = load_secret_key(settings)
    signer = TokenSigner(secret_key)
    configure_hashing(settings.password_hash)
    dsn = asyncpg_dsn(url)
    async with contextlib.AsyncExitStack() as stack:
        db = await open_database(dsn, settings)
        stack.push_async_callback(db.close)
        read_db: Database | None = None
        if settings.read_database_url:
            read_db = await open_database(
                asyncpg_dsn(settings.read_database_url), settings, read_only=True
            )
            stack.push_async_callback(read_db.close)
        payment_gateway = gateway or SimulatedGateway(settings.payment)
        limiter = RateLimiter(db, settings.limits)
        engine = booking_engine(settings, db, payment_gateway, limiter)
        ticket_keys = TicketKeys(secret_key)
        tickets = Tickets(db, ticket_keys, signer, limiter)
        mailer = Mailer(db, tickets, settings.mail)
        live: AvailabilityHub | None = None
        if run_background_jobs:
            # One LISTEN connection per process feeds every open concert page, and wakes
            # the requests waiting for held tickets when another process releases some.
            live = await start_live_hub(dsn, settings)
            live.add_listener(engine.releases.on_counts)
            live.add_listener(seating.forget_states)
            stack.push_async_callback(live.stop)
            for job in (
                run_reaper(
                    db,
                    engine.refunds,
                    settings.reaper_interval_s,
                    settings.reaper_batch_size,
                    engine.releases,
                ),
                run_pruner(db),
                run_refunder(engine.refunds, settings.reaper_interval_s),
                # Confirmations and transfers, sent after the fact (never in a booking's path).
                run_mailer(mailer, settings.mail.interval_s),
            ):
                stack.push_async_callback(cancel_and_wait, _start(job))
        yield AppServices(
            settings=settings,
            db=db,
            gateway=payment_gateway,
            engine=engine,
            accounts=accounts_service(settings, db, signer, limiter),
            signer=signer,
            limiter=limiter,
            ticket_keys=ticket_keys,
            checkin=CheckinDesk(db, ticket_keys),
            tickets=tickets,
            mailer=mailer,
            queue=WaitingRoom(db, signer),
            live=live,
            read_db=read_db,
        )


def _start(job: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    return asyncio.create_task(job)
