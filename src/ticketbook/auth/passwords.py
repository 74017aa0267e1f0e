"""Password hashing (argon2id) and the password policy.

Hashing is deliberately slow (a tenth of a second or more, 64 MiB): it runs in a worker
thread, so the event loop keeps serving everyone else while one sign-in is checked.
"""

from __future__ import annotations

import asyncio
import unicodedata
from functools import cached_property

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from ticketbook.domain.errors import InvalidInput
from ticketbook.settings import PasswordHashSettings

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


class _Hashing:
    """The process's hasher, made from the settings at start."""

    def __init__(self, settings: PasswordHashSettings) -> None:
        self.settings = settings
        self.hasher = PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_kib,
            parallelism=settings.parallelism,
            type=Type.ID,
        )

    @cached_property
    def dummy_hash(self) -> str:
        """Checked against when the email is unknown, so that a failed sign-in costs the same
        time whether or not the account exists."""
        return self.hasher.hash("ticketbook: no such account")


_hashing = _Hashing(PasswordHashSettings())


def configure_hashing(settings: PasswordHashSettings) -> None:
    global _hashing
    if _hashing.settings != settings:
        _hashing = _Hashing(settings)


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


def _canonical(password: str) -> str:
    # NIST SP 800-63B: normalize Unicode first, so "é" typed as one character or as "e" plus
    # an accent is the same password on every keyboard.
    return unicodedata.normalize("NFKC", password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hashing.hasher.hash, _canonical(password))


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no stored hash, spends the same time and fails."""
    return await asyncio.to_thread(_verify, stored_hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    hashing = _hashing
    try:
        return hashing.hasher.verify(
            stored_hash or hashing.dummy_hash, _canonical(password)
        ) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False
