"""Emails: the one spelling we store and compare, and the rate-limit key for what was typed."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from ticketbook.domain.errors import InvalidInput

MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


def normalize_email(raw: str) -> str:
    """The one spelling we store and compare: NFKC, trimmed, lower case."""
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    if (
        len(email) > MAX_EMAIL_LENGTH
        or not _EMAIL.match(email)
        or any(unicodedata.category(ch).startswith("C") for ch in email)
    ):
        raise InvalidInput("Enter a valid email address, like name@example.com")
    return email


def normalized_or_none(email: str) -> str | None:
    try:
        return normalize_email(email)
    except InvalidInput:
        return None


def limit_key(email: str, normalized: str | None) -> str:
    """The rate-limit key for an email: normalized when it can be, so case tricks don't help;
    for something that is no email at all (maybe with NUL bytes, which PostgreSQL text
    refuses), a digest."""
    if normalized is not None:
        return normalized
    return "invalid:" + hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()
