"""Sign-in session tokens: an API bearer token or a page cookie, both revocable.

A token is 256 random bits, shown to the client once; the database keeps only its SHA-256, so
reading the table gives no working token. Checking one is a single primary-key-sized lookup
(``Accounts.identify``; the SQL is in ``auth/queries.py``). Guest tokens (auth/tokens.py) are
different: stateless, and they name a guest, never an account.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "tb_"
# Longer than any token we issue; anything longer (or not ASCII) is not looked up.
MAX_TOKEN_LENGTH = 100


def is_session_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def new_session_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def could_be_session_token(token: str) -> bool:
    """False for what we never issued, so it costs no lookup."""
    return len(token) <= MAX_TOKEN_LENGTH and token.isascii()


def token_hash(token: str) -> bytes:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode()).digest()
