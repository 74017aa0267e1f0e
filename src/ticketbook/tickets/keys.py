"""Per-concert Ed25519 ticket keys, derived from the server's secret key.

Nothing new to store or back up: a concert's signing key is HKDF-SHA256 of the secret key
(auth/secrets.py, kept like every other secret) with the concert's id and key version as
context, so every host derives the same key, and a leaked public key or ticket says nothing
about another concert's. Rotating a concert's key (docs/tickets.md) raises its version.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ticketbook.tickets import codes

_SALT = b"ticketbook/ticket-signing-key/v1"


@lru_cache(maxsize=1024)
def concert_signing_key(secret_key: str, concert_id: uuid.UUID, version: int) -> Ed25519PrivateKey:
    seed = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=_SALT,
        info=concert_id.bytes + version.to_bytes(2, "big"),
    ).derive(secret_key.encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes a scanner verifies with."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


class TicketKeys:
    """Signs and verifies ticket codes with each concert's derived key (one per process)."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key

    def signing_key(self, concert_id: uuid.UUID, version: int) -> Ed25519PrivateKey:
        return concert_signing_key(self._secret, concert_id, version)

    def public_key(self, concert_id: uuid.UUID, version: int) -> bytes:
        return public_key_bytes(self.signing_key(concert_id, version))

    def code(
        self,
        *,
        concert_id: uuid.UUID,
        key_version: int,
        ticket_id: uuid.UUID,
        tier_id: uuid.UUID,
        seat: str | None,
    ) -> str:
        return codes.sign(
            self.signing_key(concert_id, key_version),
            key_version=key_version,
            concert_id=concert_id,
            ticket_id=ticket_id,
            tier_id=tier_id,
            seat=seat,
        )

    def verify(self, code: str, concert_id: uuid.UUID, key_version: int) -> codes.TicketClaim:
        """The claim of a code signed for ``concert_id`` under its key ``key_version``;
        codes.InvalidCode for anything else (another concert's, an older key's, forged)."""
        claim = codes.verify(code, self.signing_key(concert_id, key_version).public_key())
        if not claim.is_for(concert_id) or claim.key_version != key_version:
            raise codes.InvalidCode("ticket code is not signed for this concert's current key")
        return claim
