"""Password hashing (argon2id) and the password policy.

Hashing is deliberately slow (tens of milliseconds, 64 MiB): it runs in a worker thread so the
event loop keeps serving everyone else while one sign-in is checked.
"""

from __future__ import annotations

import asyncio
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ticketbook.domain.errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

# argon2-cffi's defaults are RFC 9106's second recommendation: argon2id, t=3, m=64 MiB, p=4.
_HASHER = PasswordHasher()

# Checked against when the email is unknown, so a failed sign-in costs the same either way.
_DUMMY_HASH = _HASHER.hash("ticketbook: no such account")

# The most used passwords that are long enough to pass the length rule.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "qwertyuiopasdf",
        "qwertyuiop123",
        "password1234",
        "password12345",
        "passwordpassword",
        "iloveyou1234",
        "letmein12345",
        "administrator",
        "ticketbook123",
        "concerttickets",
    }
)


def check_password_policy(password: str, email: str) -> None:
    """Raise InvalidInput, with what to change, for a password we will not accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"Use a password of at most {MAX_PASSWORD_LENGTH} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in password):
        raise InvalidInput("Passwords can't contain control characters")
    lowered = password.lower()
    local_part = email.partition("@")[0]
    if len(set(password)) < 4 or lowered in COMMON_PASSWORDS:
        raise InvalidInput("That password is too easy to guess; choose a less common one")
    if len(local_part) >= 4 and local_part in lowered:
        raise InvalidInput("Your password must not contain your email address")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no stored hash, spends the same time and fails."""
    return await asyncio.to_thread(_verify, stored_hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
