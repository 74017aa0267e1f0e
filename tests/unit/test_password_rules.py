"""Unit rules: email normalization, the password policy, argon2id with production costs."""

from __future__ import annotations

import asyncio

import pytest

from ticketbook.auth import passwords
from ticketbook.auth.emails import normalize_email
from ticketbook.domain.errors import InvalidInput
from ticketbook.settings import PasswordHashSettings


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Fan@Example.com", "fan@example.com"),
        ("  fan@example.com\t", "fan@example.com"),
        ("\uff26an@\uff25xample.com", "fan@example.com"),  # fullwidth letters (NFKC)
        ("ren\u00e9@exemple.fr", "ren\u00e9@exemple.fr"),
    ],
)
def test_emails_have_one_spelling(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "fan",
        "fan@",
        "@example.com",
        "fan@example",
        "fan@@example.com",
        "f an@example.com",
        "fan@exa\u0000mple.com",
        "fan\u200b@example.com",
        "x" * 250 + "@example.com",
        "fan@example..com",
    ],
)
def test_invalid_emails(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_email(raw)


def test_production_hashes_are_argon2id_with_rfc_9106_costs() -> None:
    passwords.configure_hashing(PasswordHashSettings())
    stored = asyncio.run(passwords.hash_password("a decent passphrase 42"))
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert asyncio.run(passwords.verify_password(stored, "a decent passphrase 42"))
    assert not asyncio.run(passwords.verify_password(stored, "a decent passphrase 43"))


def test_a_missing_or_broken_hash_never_verifies() -> None:
    passwords.configure_hashing(PasswordHashSettings(time_cost=1, memory_kib=8192, parallelism=1))
    try:
        assert not asyncio.run(passwords.verify_password(None, "ticketbook: no such account"))
        assert not asyncio.run(passwords.verify_password("", "anything at all"))
        assert not asyncio.run(passwords.verify_password("$argon2id$garbage", "anything"))
    finally:
        passwords.configure_hashing(PasswordHashSettings())


def test_a_cheaper_cost_still_verifies_hashes_made_with_the_default() -> None:
    passwords.configure_hashing(PasswordHashSettings())
    stored = asyncio.run(passwords.hash_password("a decent passphrase 42"))
    passwords.configure_hashing(PasswordHashSettings(time_cost=1, memory_kib=8192, parallelism=1))
    try:
        assert asyncio.run(passwords.verify_password(stored, "a decent passphrase 42"))
    finally:
        passwords.configure_hashing(PasswordHashSettings())


def test_passwords_are_compared_after_unicode_normalization() -> None:
    composed, decomposed = "caf\u00e9 au lait 2027", "cafe\u0301 au lait 2027"
    stored = asyncio.run(passwords.hash_password(composed))
    assert asyncio.run(passwords.verify_password(stored, decomposed))
    assert not asyncio.run(passwords.verify_password(stored, "cafe au lait 2027"))
