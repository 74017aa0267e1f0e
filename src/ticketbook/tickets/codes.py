"""The ticket code: a compact signed payload a phone shows as a QR code and a door verifies
offline with the concert's public key (docs/tickets.md, "The code").

    payload = format (1 byte, 1) | key version (2) | concert id, first 8 bytes (8)
              | ticket id (16) | tier id, first 4 bytes (4) | seat code, UTF-8 (0-32)
    code    = "TB" + base32(payload + Ed25519 signature of payload (64)), no padding

A general-admission ticket's code is 95 bytes (154 characters: a version 6 QR code at
error correction M); a seat adds its code's length ("B:F:12": 164 characters). The
characters are the QR code's alphanumeric set (5.5 bits each) and what a keyboard-wedge
scanner types on any layout; reading is case-insensitive. The ticket id is random (UUID v4)
and the signature can't be made without the key, so codes can't be guessed or altered.
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "TB"
FORMAT = 1
SIGNATURE_BYTES = 64
MAX_SEAT_BYTES = 32
_HEADER = struct.Struct(">BH8s16s4s")
# The longest code there can be: anything longer is refused before it is decoded.
MAX_CODE_LENGTH = len(PREFIX) + ((_HEADER.size + MAX_SEAT_BYTES + SIGNATURE_BYTES) * 8 + 4) // 5


class InvalidCode(ValueError):
    """Not a ticket code of ours: malformed, or its signature doesn't verify."""


@dataclass(frozen=True, slots=True)
class TicketClaim:
    """What a code says (only trusted once `verify` has checked its signature)."""

    key_version: int
    concert_prefix: bytes  # the concert id's first 8 bytes
    ticket_id: uuid.UUID
    tier_prefix: bytes  # the tier id's first 4 bytes
    seat: str | None

    def is_for(self, concert_id: uuid.UUID) -> bool:
        return concert_id.bytes[:8] == self.concert_prefix


def sign(
    key: Ed25519PrivateKey,
    *,
    key_version: int,
    concert_id: uuid.UUID,
    ticket_id: uuid.UUID,
    tier_id: uuid.UUID,
    seat: str | None,
) -> str:
    seat_bytes = (seat or "").encode()
    if len(seat_bytes) > MAX_SEAT_BYTES:
        raise ValueError(f"seat code {seat!r} is longer than {MAX_SEAT_BYTES} bytes")
    payload = (
        _HEADER.pack(FORMAT, key_version, concert_id.bytes[:8], ticket_id.bytes, tier_id.bytes[:4])
        + seat_bytes
    )
    raw = payload + key.sign(payload)
    return PREFIX + base64.b32encode(raw).decode().rstrip("=")


def read(code: str) -> tuple[TicketClaim, bytes, bytes]:
    """(claim, payload, signature) of a well-formed code, signature not yet checked."""
    text = code.strip().upper()
    if not text.startswith(PREFIX) or len(text) > MAX_CODE_LENGTH:
        raise InvalidCode("not a TicketBook ticket code")
    body = text[len(PREFIX) :]
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCode("not a TicketBook ticket code") from exc
    if len(raw) < _HEADER.size + SIGNATURE_BYTES:
        raise InvalidCode("ticket code too short")
    payload, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    fmt, key_version, concert_prefix, ticket_bytes, tier_prefix = _HEADER.unpack_from(payload)
    if fmt != FORMAT:
        raise InvalidCode(f"unknown ticket code format {fmt}")
    try:
        seat = payload[_HEADER.size :].decode() or None
    except UnicodeDecodeError as exc:
        raise InvalidCode("ticket code has a malformed seat") from exc
    claim = TicketClaim(
        key_version, concert_prefix, uuid.UUID(bytes=ticket_bytes), tier_prefix, seat
    )
    return claim, payload, signature


def verify(code: str, public_key: Ed25519PublicKey) -> TicketClaim:
    """The claim of a code signed with ``public_key``'s private key; InvalidCode otherwise."""
    claim, payload, signature = read(code)
    try:
        public_key.verify(signature, payload)
    except InvalidSignature as exc:
        raise InvalidCode("ticket code signature does not verify") from exc
    return claim
