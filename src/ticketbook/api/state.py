"""What the app holds for its lifetime, built once in the lifespan and read by dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from ticketbook.auth.tokens import TokenSigner
from ticketbook.booking.service import BookingEngine
from ticketbook.config import Settings
from ticketbook.db.pool import Database
from ticketbook.payments.gateway import PaymentGateway


@dataclass
class AppServices:
    settings: Settings
    db: Database
    gateway: PaymentGateway
    engine: BookingEngine
    signer: TokenSigner
