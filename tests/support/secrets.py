"""The secrets tests' shared pieces: a clean environment, strong keys, a key file inside the
checkout (for the rule that production never reads one from there)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]  # tests/support/ -> the checkout
# Anything the test runner's own environment might set that would change the outcome.
SECRET_VARS = (
    "TICKETBOOK_ENV",
    "TICKETBOOK_PUBLIC_URL",
    "TICKETBOOK_SECRET_KEY",
    "TICKETBOOK_SECRET_KEY_FILE",
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "READ_DATABASE_URL",
    "READ_DATABASE_URL_FILE",
)


def good_key() -> str:
    return secrets.token_urlsafe(48)


def write_secret(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def key_in_repo() -> Iterator[Path]:
    """A strong key in a file inside the checkout (.tmp/ is git-ignored), removed afterwards."""
    directory = REPO / ".tmp"
    directory.mkdir(exist_ok=True)
    path = write_secret(directory / f"test-secret-key-{uuid.uuid4().hex}", good_key())
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
