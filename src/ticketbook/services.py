"""What the app holds for its lifetime, built once in the lifespan and read by dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from ticketbook.auth.tokens import TokenSigner
from ticketbook.booking.service import BookingEngine
from ticketbook.db.pool import Database
from ticketbook.live.hub import AvailabilityHub
from ticketbook.payments.gateway import PaymentGateway
from ticketbook.ratelimit.limiter import RateLimiter
from ticketbook.settings import Settings


@dataclass
class AppServices:
    settings: Settings
    db: Database
    gateway: PaymentGateway
    engine: BookingEngine
    signer: TokenSigner
    limiter: RateLimiter
    # Live availability for the pages' event streams (None when background jobs are off).
    live: AvailabilityHub | None = None
    # Catalog reads (concert list and pages): a replica's pool when READ_DATABASE_URL is set,
    # else the primary's. Bookings, "my bookings" and anything after a write use `db`.
    read_db: Database | None = None

    @property
    def catalog_db(self) -> Database:
        return self.read_db or self.db
