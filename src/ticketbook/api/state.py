"""What the app holds for its lifetime, built once in the lifespan and read by dependencies."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from ticketbook.auth.tokens import TokenSigner
from ticketbook.booking.service import BookingEngine
from ticketbook.config import Settings
from ticketbook.payments.gateway import PaymentGateway


@dataclass
class AppServices:
    settings: Settings
    pool: asyncpg.Pool
    gateway: PaymentGateway
    engine: BookingEngine
    signer: TokenSigner
