"""Idempotency keys: parsing and request fingerprints."""

from __future__ import annotations

import hashlib
import uuid


class InvalidIdempotencyKey(ValueError):
    pass


def parse_key(header_value: str | None, body_value: str | None) -> uuid.UUID:
    """The request's key, from the Idempotency-Key header or the brief's body field."""
    if header_value is not None and body_value is not None and header_value != body_value:
        raise InvalidIdempotencyKey(
            "Idempotency-Key header and idempotencyKey field disagree; send one key"
        )
    raw = header_value if header_value is not None else body_value
    if raw is None or raw.strip() == "":
        raise InvalidIdempotencyKey(
            "an idempotency key is required: send a fresh UUID in the Idempotency-Key header"
        )
    try:
        return uuid.UUID(raw.strip())
    except ValueError as exc:
        raise InvalidIdempotencyKey("the idempotency key must be a UUID") from exc


def booking_fingerprint(
    tier_id: uuid.UUID, quantity: int, seats: tuple[str, ...] = (), section: str | None = None
) -> str:
    request = f"POST /api/bookings\n{tier_id}\n{quantity}"
    if seats or section is not None:
        # Seats asked for by name or by section are part of what was asked.
        request += f"\nseats={','.join(sorted(seats))}\nsection={section or ''}"
    return hashlib.sha256(request.encode()).hexdigest()
