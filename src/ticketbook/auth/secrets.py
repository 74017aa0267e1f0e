"""The signing key: from the environment (TICKETBOOK_SECRET_KEY or _FILE), else, in development
only, generated once and kept in the data directory.

In production (TICKETBOOK_ENV=production) the key must be given explicitly, be long, not be a
well-known placeholder, and not be read from a file inside the source checkout:
``check_production_key`` refuses anything else, and every start path calls it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

import ticketbook
from ticketbook.settings import ConfigError, Settings

MIN_PRODUCTION_KEY_LENGTH = 32
GENERATED_KEY_NAME = "secret_key"

# Compared after lower-casing and dropping everything but letters and digits.
_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "changethis",
        "secret",
        "secretkey",
        "mysecretkey",
        "yoursecretkey",
        "yoursecretkeyhere",
        "supersecret",
        "supersecretkey",
        "dev",
        "development",
        "devkey",
        "test",
        "testing",
        "testkey",
        "ticketbook",
        "ticketbooksecretkey",
        "default",
        "password",
        "key",
        "insecure",
        "example",
        "placeholder",
        "replaceme",
        "todo",
        "xxx",
    }
)
# Placeholder words that give a key away even with padding around them.
_PLACEHOLDER_PARTS = ("changeme", "changethis", "replaceme", "placeholder", "yoursecret")
# The whole key is one short chunk repeated ("aaaa…", "abcabc…", "changemechangeme…").
_REPEATED = re.compile(r"(.{1,16}?)\1+", re.DOTALL)

_KEY_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"


def load_secret_key(settings: Settings) -> str:
    check_production_key(settings)
    if settings.secret_key:
        return settings.secret_key
    return _read_or_create(settings.data_dir / GENERATED_KEY_NAME)


def is_placeholder(key: str) -> bool:
    plain = re.sub(r"[^a-z0-9]", "", key.lower())
    return (
        plain in _PLACEHOLDERS
        or any(part in plain for part in _PLACEHOLDER_PARTS)
        or _REPEATED.fullmatch(key.lower()) is not None
        or (plain != "" and _REPEATED.fullmatch(plain) is not None)
    )


def source_checkout() -> Path | None:
    """The source checkout this package runs from (the nearest parent of the package with a
    pyproject.toml or .git), or None when it runs from an installed copy elsewhere."""
    package = Path(ticketbook.__file__).resolve().parent
    for parent in package.parents:
        if (parent / "pyproject.toml").is_file() or (parent / ".git").exists():
            return parent
    return None


def check_production_key(settings: Settings) -> None:
    """ConfigError unless the signing key is fit for production (no-op in development)."""
    if settings.environment != "production":
        return
    key = settings.secret_key
    if not key:
        # A key generated per host would make every host refuse the others' tokens, and
        # one kept next to the data is one more copy to leak.
        raise ConfigError(
            "TICKETBOOK_ENV=production needs the signing key given explicitly: set "
            "TICKETBOOK_SECRET_KEY or TICKETBOOK_SECRET_KEY_FILE to the same value on every "
            f"host (a key generated into the data directory is for development only); {_KEY_HINT}"
        )
    source = "TICKETBOOK_SECRET_KEY_FILE" if settings.secret_key_file else "TICKETBOOK_SECRET_KEY"
    if is_placeholder(key):
        raise ConfigError(
            f"{source} is a well-known placeholder, not a secret; refusing to start in "
            f"production; {_KEY_HINT}"
        )
    if len(key) < MIN_PRODUCTION_KEY_LENGTH:
        raise ConfigError(
            f"{source} is too short for production: {len(key)} characters, at least "
            f"{MIN_PRODUCTION_KEY_LENGTH} needed; {_KEY_HINT}"
        )
    if settings.secret_key_file is not None:
        _check_key_file(settings.secret_key_file, settings.data_dir)


def _check_key_file(path: Path, data_dir: Path) -> None:
    # resolve(): a symlink from elsewhere into the checkout still counts as inside it.
    real = path.resolve()
    checkout = source_checkout()
    if checkout is not None and real.is_relative_to(checkout):
        raise ConfigError(
            f"TICKETBOOK_SECRET_KEY_FILE {path} lies inside the source checkout {checkout}; "
            "in production keep the key in a file outside the repository"
        )
    if real == (data_dir / GENERATED_KEY_NAME).resolve():
        raise ConfigError(
            f"TICKETBOOK_SECRET_KEY_FILE {path} is the development key generated into the data "
            "directory; in production give every host the same explicit key"
        )


def _read_or_create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole to a private temporary file, then linked into place: when several
        # workers start at once exactly one key wins, and nobody reads a half-written file.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    # Only its owner may read the key, even if an older copy was written more openly.
    if path.stat().st_mode & 0o077:
        with contextlib.suppress(OSError):
            path.chmod(0o600)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"signing key file {path} is empty; delete it to generate a new one")
    return key
