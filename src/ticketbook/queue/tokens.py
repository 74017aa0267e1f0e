"""Admission tokens: "qa1.<concert hex>.<user hex>.<expiry unix>.<mac>".

The MAC is the server's secret key's (``TokenSigner.mac`` with its own purpose, so a token
can never pass for a bearer token or a CSRF token, nor the other way round) over everything
before it. Checking one needs no database: the concert, the identity and the expiry are in
it, and a visitor is only given one once the queue's frontier has reached their place.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from ticketbook.auth.tokens import TokenSigner

PREFIX = "qa1"
PURPOSE = "queue-admission"
MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Admission:
    concert_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime


def issue(
    signer: TokenSigner, concert_id: uuid.UUID, user_id: uuid.UUID, expires_at: datetime
) -> str:
    payload = f"{PREFIX}.{concert_id.hex}.{user_id.hex}.{int(expires_at.timestamp())}"
    return f"{payload}.{signer.mac(PURPOSE, payload)}"


def read(signer: TokenSigner, token: str) -> Admission | None:
    """What a genuine token says (expired or not), else None: forged, altered or malformed."""
    if len(token) > MAX_LENGTH or not token.isascii():
        return None
    payload, sep, mac = token.rpartition(".")
    parts = payload.split(".")
    if not sep or len(parts) != 4 or parts[0] != PREFIX:
        return None
    if not hmac.compare_digest(mac, signer.mac(PURPOSE, payload)):
        return None
    try:
        return Admission(
            concert_id=uuid.UUID(hex=parts[1]),
            user_id=uuid.UUID(hex=parts[2]),
            expires_at=datetime.fromtimestamp(int(parts[3]), UTC),
        )
    except ValueError:
        return None
