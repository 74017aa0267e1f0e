"""The signing key and database credentials as settings (no database, no server): from the
environment or a file outside the repo; in production only a strong, explicit key; in
development any key. (The app's and serve's refusals: tests/http/test_secrets.py and
tests/system/test_secrets.py.)"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from tests.support.secrets import REPO, clean_env, good_key, key_in_repo, write_secret
from ticketbook.auth.secrets import check_production_key, is_placeholder, source_checkout
from ticketbook.settings import ConfigError, Settings

__all__ = ["clean_env", "key_in_repo"]  # fixtures


# -- parsing rules (Settings.from_env) -----------------------------------------------------


def test_key_and_database_urls_come_from_files_stripped(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = good_key()
    clean_env.setenv("TICKETBOOK_SECRET_KEY_FILE", str(write_secret(tmp_path / "key", f"{key}\n")))
    primary = "postgresql://app:pw@db.internal:5432/ticketbook"
    replica = "postgresql://app:pw@replica.internal:5432/ticketbook"
    clean_env.setenv("DATABASE_URL_FILE", str(write_secret(tmp_path / "db", f"  {primary}\n\n")))
    clean_env.setenv("READ_DATABASE_URL_FILE", str(write_secret(tmp_path / "read", replica)))
    settings = Settings.from_env()
    assert settings.secret_key == key
    assert settings.secret_key_file == tmp_path / "key"
    assert settings.database_url == primary
    assert settings.read_database_url == replica
    assert settings.environment == "development"


def test_values_straight_from_the_environment_still_work(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TICKETBOOK_SECRET_KEY", "k" * 40)
    clean_env.setenv("DATABASE_URL", "postgresql://db/x")
    settings = Settings.from_env()
    assert settings.secret_key == "k" * 40 and settings.secret_key_file is None
    assert settings.database_url == "postgresql://db/x" and settings.read_database_url is None


@pytest.mark.parametrize("name", ["TICKETBOOK_SECRET_KEY", "DATABASE_URL", "READ_DATABASE_URL"])
def test_a_value_and_its_file_together_are_an_error(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    clean_env.setenv(name, "postgresql://db/x")
    clean_env.setenv(f"{name}_FILE", str(write_secret(tmp_path / "f", "postgresql://db/y")))
    with pytest.raises(ConfigError, match=f"set {name} or {name}_FILE, not both"):
        Settings.from_env()


@pytest.mark.parametrize("name", ["TICKETBOOK_SECRET_KEY", "DATABASE_URL", "READ_DATABASE_URL"])
def test_a_missing_unreadable_or_empty_file_is_an_error(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    clean_env.setenv(f"{name}_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=f"{name}_FILE: cannot read .*missing"):
        Settings.from_env()
    clean_env.setenv(f"{name}_FILE", str(tmp_path))  # a directory
    with pytest.raises(ConfigError, match=f"{name}_FILE: cannot read"):
        Settings.from_env()
    clean_env.setenv(f"{name}_FILE", str(write_secret(tmp_path / "blank", " \n\t\n")))
    with pytest.raises(ConfigError, match=f"{name}_FILE: .*blank is empty"):
        Settings.from_env()
    if os.geteuid() != 0:  # root reads any file
        unreadable = write_secret(tmp_path / "unreadable", "x")
        unreadable.chmod(0)
        clean_env.setenv(f"{name}_FILE", str(unreadable))
        with pytest.raises(ConfigError, match="Permission denied"):
            Settings.from_env()


def test_ticketbook_env_is_development_or_production(clean_env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().environment == "development"
    clean_env.setenv("TICKETBOOK_ENV", "production")
    clean_env.setenv("TICKETBOOK_SECRET_KEY", good_key())
    # Production needs the site's address too (emailed links start with it).
    with pytest.raises(ConfigError, match="TICKETBOOK_ENV=production needs TICKETBOOK_PUBLIC_URL"):
        Settings.from_env()
    clean_env.setenv("TICKETBOOK_PUBLIC_URL", "https://tickets.example.com")
    assert Settings.from_env().environment == "production"
    assert Settings.from_env().mail.public_url == "https://tickets.example.com"
    for wrong in ("prod", "staging", "dev"):
        clean_env.setenv("TICKETBOOK_ENV", wrong)
        with pytest.raises(ConfigError, match="TICKETBOOK_ENV must be development or production"):
            Settings.from_env()


def test_forwarded_allow_ips_defaults_to_the_loopback(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.delenv("TICKETBOOK_FORWARDED_ALLOW_IPS", raising=False)
    assert Settings.from_env().forwarded_allow_ips == "127.0.0.1"
    clean_env.setenv("TICKETBOOK_FORWARDED_ALLOW_IPS", "10.0.0.1,10.0.0.2")
    assert Settings.from_env().forwarded_allow_ips == "10.0.0.1,10.0.0.2"


# -- the production rules (check_production_key) -------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "changeme",
        "CHANGEME",
        "change-me",
        "secret",
        "dev",
        "development",
        "test",
        "ticketbook",
        "default",
        "your-secret-key-here",
        "a" * 64,
        "ab" * 32,
        "changeme" * 6,
        "changeme-" + "q7Rv2LmX9TzK4wPb" * 2,
        "replace-me-with-a-real-production-secret",
    ],
)
def test_production_refuses_placeholder_keys(key: str) -> None:
    with pytest.raises(ConfigError, match="well-known placeholder"):
        check_production_key(Settings(environment="production", secret_key=key))


def test_production_refuses_a_short_key_and_accepts_a_long_random_one() -> None:
    with pytest.raises(ConfigError, match="too short for production: 31 characters"):
        check_production_key(Settings(environment="production", secret_key=good_key()[:31]))
    check_production_key(Settings(environment="production", secret_key=good_key()[:32]))
    # No false alarms on real keys.
    for _ in range(500):
        assert not is_placeholder(good_key())
        assert not is_placeholder(secrets.token_hex(16))


def test_development_takes_any_key() -> None:
    check_production_key(Settings(secret_key="changeme"))
    check_production_key(Settings(secret_key=None))


def test_production_refuses_no_key_and_the_generated_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TICKETBOOK_SECRET_KEY or TICKETBOOK_SECRET_KEY_FILE"):
        check_production_key(Settings(environment="production", data_dir=tmp_path))
    generated = write_secret(tmp_path / "secret_key", good_key())
    with pytest.raises(ConfigError, match="development key generated into the data directory"):
        check_production_key(
            Settings(
                environment="production",
                data_dir=tmp_path,
                secret_key=generated.read_text(),
                secret_key_file=generated,
            )
        )


def test_production_refuses_a_key_file_in_the_checkout_even_through_a_symlink(
    key_in_repo: Path, tmp_path: Path
) -> None:
    assert source_checkout() == REPO
    link = tmp_path / "key"
    link.symlink_to(key_in_repo)
    for path in (key_in_repo, link):
        settings = Settings(
            environment="production",
            data_dir=tmp_path / "data",
            secret_key=key_in_repo.read_text(),
            secret_key_file=path,
        )
        with pytest.raises(ConfigError, match="inside the source checkout"):
            check_production_key(settings)
    outside = write_secret(tmp_path / "outside", key_in_repo.read_text())
    check_production_key(
        Settings(
            environment="production",
            data_dir=tmp_path / "data",
            secret_key=outside.read_text(),
            secret_key_file=outside,
        )
    )
