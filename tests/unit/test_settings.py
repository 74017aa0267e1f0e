"""Settings: the documented defaults, every validation rule (a bad value is a ConfigError that
names its variable), secrets from NAME or NAME_FILE, construction without side effects, and
the generated reference tables in docs/configuration.md being current."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from ticketbook.cli.main import main
from ticketbook.settings import (
    ENVIRONMENTS,
    RATE_RULE_NAMES,
    ConfigError,
    LimitSettings,
    PasswordHashSettings,
    PaymentSettings,
    RateRule,
    Settings,
    default_data_dir,
)
from ticketbook.settings_doc import format_value, render, rows

REPO = Path(__file__).resolve().parents[2]
CONFIGURATION_MD = REPO / "docs" / "configuration.md"
VARIABLES = [row.variable for row in rows()]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with none of the settings' variables set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def attr(settings: object, path: str) -> object:
    for part in path.split("."):
        settings = getattr(settings, part)
    return settings


# -- the docs -------------------------------------------------------------------------------


def test_the_reference_tables_in_configuration_md_are_current() -> None:
    text = CONFIGURATION_MD.read_text()
    assert render(text) == text, "docs/configuration.md is stale: run make config-docs"


def test_every_setting_has_a_variable_a_doc_and_a_table() -> None:
    assert len(VARIABLES) == len(set(VARIABLES))
    for row in rows():
        assert row.variable.isupper() and row.meaning and row.default, row


def test_a_settings_block_without_settings_and_settings_without_a_block_are_errors() -> None:
    text = CONFIGURATION_MD.read_text()
    with pytest.raises(ValueError, match="no settings belong to the table 'nonsense'"):
        render(text + "<!-- settings-table: nonsense -->\n<!-- /settings-table -->\n")
    without_payments = text.replace("<!-- settings-table: payments -->", "")
    with pytest.raises(ValueError, match="block for payments"):
        render(without_payments)


# -- defaults -------------------------------------------------------------------------------

# What docs/configuration.md has always said (and what the code did before pydantic-settings).
DOCUMENTED_DEFAULTS: dict[str, tuple[str, object]] = {
    "DATABASE_URL": ("database_url", None),
    "DATABASE_URL_FILE": ("database_url_file", None),
    "READ_DATABASE_URL": ("read_database_url", None),
    "READ_DATABASE_URL_FILE": ("read_database_url_file", None),
    "TICKETBOOK_AUTO_MIGRATE": ("auto_migrate", True),
    "TICKETBOOK_HOST": ("host", "127.0.0.1"),
    "TICKETBOOK_PORT": ("port", 8000),
    "TICKETBOOK_ENV": ("environment", "development"),
    "TICKETBOOK_SECRET_KEY": ("secret_key", None),
    "TICKETBOOK_SECRET_KEY_FILE": ("secret_key_file", None),
    "TICKETBOOK_FORWARDED_ALLOW_IPS": ("forwarded_allow_ips", "127.0.0.1"),
    "TICKETBOOK_MAX_BODY_BYTES": ("max_body_bytes", 65536),
    "TICKETBOOK_MAX_HEADER_BYTES": ("max_header_bytes", 16384),
    "TICKETBOOK_HEADER_TIMEOUT_S": ("header_timeout_s", 10.0),
    "TICKETBOOK_BODY_TIMEOUT_S": ("body_timeout_s", 30.0),
    "TICKETBOOK_KEEP_ALIVE_TIMEOUT_S": ("keep_alive_timeout_s", 5),
    "TICKETBOOK_GRACEFUL_TIMEOUT_S": ("graceful_timeout_s", 10),
    "TICKETBOOK_ACCESS_LOG": ("access_log", False),
    "TICKETBOOK_ENABLE_TEST_ROUTES": ("enable_test_routes", False),
    "TICKETBOOK_SESSION_TTL_S": ("session_ttl_s", 2592000),
    "TICKETBOOK_ARGON2_TIME_COST": ("password_hash.time_cost", 3),
    "TICKETBOOK_ARGON2_MEMORY_KIB": ("password_hash.memory_kib", 65536),
    "TICKETBOOK_ARGON2_PARALLELISM": ("password_hash.parallelism", 4),
    "TICKETBOOK_RATE_LOGIN_PER_ACCOUNT": ("limits.login_per_account", RateRule(10, 300)),
    "TICKETBOOK_RATE_LOGIN_PER_ADDRESS": ("limits.login_per_address", RateRule(30, 60)),
    "TICKETBOOK_RATE_LOGIN_PER_ACCOUNT_ALL_ADDRESSES": (
        "limits.login_per_account_all_addresses",
        RateRule(50, 3600),
    ),
    "TICKETBOOK_RATE_REGISTER_PER_ACCOUNT": ("limits.register_per_account", RateRule(5, 3600)),
    "TICKETBOOK_RATE_REGISTER_PER_ADDRESS": ("limits.register_per_address", RateRule(20, 3600)),
    "TICKETBOOK_RATE_BOOKING_PER_ACCOUNT": ("limits.booking_per_account", RateRule(30, 60)),
    "TICKETBOOK_RATE_BOOKING_PER_ADDRESS": ("limits.booking_per_address", RateRule(600, 60)),
    "TICKETBOOK_RATE_GUEST_PER_ADDRESS": ("limits.guest_per_address", RateRule(30, 3600)),
    "TICKETBOOK_RATE_TRANSFER_PER_ACCOUNT": ("limits.transfer_per_account", RateRule(10, 3600)),
    "TICKETBOOK_RATE_TRANSFER_PER_ADDRESS": ("limits.transfer_per_address", RateRule(60, 3600)),
    "TICKETBOOK_MAX_TICKETS_PER_CONCERT": ("limits.max_tickets_per_concert", 10),
    "TICKETBOOK_HOLD_SECONDS": ("hold_seconds", 600.0),
    "TICKETBOOK_REAPER_INTERVAL_S": ("reaper_interval_s", 5.0),
    "TICKETBOOK_REAPER_BATCH_SIZE": ("reaper_batch_size", 500),
    "TICKETBOOK_POOL_MIN_SIZE": ("pool_min_size", 2),
    "TICKETBOOK_POOL_MAX_SIZE": ("pool_max_size", 10),
    "TICKETBOOK_CONNECT_TIMEOUT_S": ("connect_timeout_s", 5.0),
    "TICKETBOOK_STARTUP_DATABASE_WAIT_S": ("startup_database_wait_s", 30.0),
    "TICKETBOOK_POOL_ACQUIRE_TIMEOUT_S": ("pool_acquire_timeout_s", 2.0),
    "TICKETBOOK_PGBOUNCER": ("pgbouncer", False),
    "TICKETBOOK_LIVE_DATABASE_URL": ("live_database_url", None),
    "TICKETBOOK_LIVE_POLL_INTERVAL_S": ("live_poll_interval_s", 0.2),
    "TICKETBOOK_LOCK_TIMEOUT_MS": ("lock_timeout_ms", 2000),
    "TICKETBOOK_STATEMENT_TIMEOUT_MS": ("statement_timeout_ms", 10000),
    "TICKETBOOK_PAYMENT_SUCCESS_RATE": ("payment.success_rate", 0.8),
    "TICKETBOOK_PAYMENT_TIMEOUT_SHARE": ("payment.timeout_share", 0.1),
    "TICKETBOOK_PAYMENT_ERROR_SHARE": ("payment.error_share", 0.1),
    "TICKETBOOK_PAYMENT_LATENCY_MS": ("payment.latency_ms", 150.0),
    "TICKETBOOK_PAYMENT_LATENCY_JITTER_MS": ("payment.latency_jitter_ms", 100.0),
    "TICKETBOOK_PAYMENT_TIMEOUT_MS": ("payment.timeout_ms", 3000.0),
    "TICKETBOOK_SMTP_HOST": ("mail.smtp_host", None),
    "TICKETBOOK_SMTP_PORT": ("mail.smtp_port", 587),
    "TICKETBOOK_SMTP_SECURITY": ("mail.smtp_security", "starttls"),
    "TICKETBOOK_SMTP_USERNAME": ("mail.smtp_username", None),
    "TICKETBOOK_SMTP_PASSWORD": ("mail.smtp_password", None),
    "TICKETBOOK_MAIL_FROM": ("mail.from_address", "TicketBook <tickets@localhost>"),
    "TICKETBOOK_SMTP_TIMEOUT_S": ("mail.smtp_timeout_s", 10.0),
    "TICKETBOOK_MAIL_INTERVAL_S": ("mail.interval_s", 2.0),
    "TICKETBOOK_MAIL_RETRY_BASE_S": ("mail.retry_base_s", 30.0),
    "TICKETBOOK_PUBLIC_URL": ("mail.public_url", "http://127.0.0.1:8000"),
}
COMPUTED_DEFAULTS = {"TICKETBOOK_DATA_DIR", "TICKETBOOK_STATEMENT_CACHE_SIZE"}


def test_every_variable_has_a_documented_default() -> None:
    assert set(VARIABLES) == set(DOCUMENTED_DEFAULTS) | COMPUTED_DEFAULTS


@pytest.mark.parametrize("variable", sorted(DOCUMENTED_DEFAULTS))
def test_defaults_are_the_documented_ones(env: pytest.MonkeyPatch, variable: str) -> None:
    path, expected = DOCUMENTED_DEFAULTS[variable]
    assert attr(Settings(), path) == expected
    assert attr(Settings.from_env(), path) == expected
    shown = next(row.default for row in rows() if row.variable == variable)
    assert shown.startswith(format_value(expected)), shown


def test_the_data_dir_defaults_to_xdg_data_home_or_local_share(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("HOME", str(tmp_path))
    env.delenv("XDG_DATA_HOME", raising=False)
    assert default_data_dir() == tmp_path / ".local" / "share" / "ticketbook"
    assert Settings().data_dir == Settings.from_env().data_dir == default_data_dir()
    env.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings.from_env().data_dir == tmp_path / "xdg" / "ticketbook"
    assert Settings.from_env().pgdata_dir == tmp_path / "xdg" / "ticketbook" / "pgdata"
    env.setenv("TICKETBOOK_DATA_DIR", "~/tb")
    assert Settings.from_env().data_dir == tmp_path / "tb"


def test_the_statement_cache_is_off_by_default_behind_pgbouncer(env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().statement_cache_size == 1024
    assert Settings(pgbouncer=True).statement_cache_size == 0
    env.setenv("TICKETBOOK_PGBOUNCER", "1")
    assert Settings.from_env().statement_cache_size == 0
    env.setenv("TICKETBOOK_STATEMENT_CACHE_SIZE", "256")  # an explicit size wins
    assert Settings.from_env().statement_cache_size == 256


def test_nothing_set_is_the_same_as_the_defaults(env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env() == Settings()
    assert PaymentSettings.from_env() == PaymentSettings()
    assert LimitSettings.from_env() == LimitSettings()
    assert PasswordHashSettings.from_env() == PasswordHashSettings()


@pytest.mark.parametrize("variable", VARIABLES)
def test_an_empty_value_counts_as_unset(env: pytest.MonkeyPatch, variable: str) -> None:
    env.setenv(variable, "")
    assert Settings.from_env() == Settings()


def test_variable_names_are_case_sensitive(env: pytest.MonkeyPatch) -> None:
    env.setenv("ticketbook_port", "9000")
    env.setenv("Database_Url", "postgresql://db/x")
    assert Settings.from_env() == Settings()


# -- construction ---------------------------------------------------------------------------


def test_construction_never_reads_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("TICKETBOOK_PORT", "9999")
    env.setenv("TICKETBOOK_PAYMENT_SUCCESS_RATE", "0.1")
    env.setenv("TICKETBOOK_RATE_LOGIN_PER_ACCOUNT", "off")
    env.setenv("TICKETBOOK_ARGON2_TIME_COST", "1")
    env.setenv("DATABASE_URL", "postgresql://db/x")
    settings = Settings()
    assert settings.port == 8000 and settings.database_url is None
    assert settings.payment.success_rate == PaymentSettings().success_rate == 0.8
    assert LimitSettings().login_per_account == RateRule(10, 300)
    assert PasswordHashSettings().time_cost == 3
    assert Settings.from_env().port == 9999


def test_keyword_construction_copies_and_immutability() -> None:
    settings = Settings(
        database_url="postgresql://db/x",
        port=9000,
        payment=PaymentSettings(success_rate=1.0),
        limits=LimitSettings(max_tickets_per_concert=5, login_per_account=RateRule(2, 2)),
        password_hash=PasswordHashSettings(time_cost=1, memory_kib=8192, parallelism=1),
    )
    assert settings.payment.success_rate == 1.0 and settings.payment.timeout_ms == 3000
    assert settings.limits.max_tickets_per_concert == 5
    assert settings.limits.login_per_account.limit == 2
    assert settings.limits.booking_per_account.limit == 30
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]
    copy = settings.model_copy(update={"port": 9001})
    assert (copy.port, settings.port, copy.database_url) == (9001, 9000, settings.database_url)
    assert hash(settings) == hash(Settings(**settings.model_dump()))


def test_secrets_stay_out_of_the_repr() -> None:
    settings = Settings(
        secret_key="k3y-material",
        database_url="postgresql://app:pw-primary@db/x",
        read_database_url="postgresql://app:pw-replica@db/x",
        live_database_url="postgresql://app:pw-live@db/x",
    )
    for secret in ("k3y-material", "pw-primary", "pw-replica", "pw-live"):
        assert secret not in repr(settings) and secret not in str(settings)
    assert settings.secret_key == "k3y-material"


def test_keyword_construction_is_validated_too() -> None:
    with pytest.raises(ValidationError, match="success_rate"):
        PaymentSettings(success_rate=1.5)
    with pytest.raises(ValidationError, match="must not exceed 1"):
        PaymentSettings(timeout_share=0.6, error_share=0.6)
    with pytest.raises(ValueError, match="requests >= 0"):
        RateRule(-1, 60)


# -- good values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "raw", "path", "expected"),
    [
        ("PORT", "9000", "port", 9000),
        ("PORT", " 9000 ", "port", 9000),
        ("HOST", "0.0.0.0", "host", "0.0.0.0"),
        ("HOLD_SECONDS", "30", "hold_seconds", 30.0),
        ("HOLD_SECONDS", "0.5", "hold_seconds", 0.5),
        ("ENV", "production", "environment", "production"),
        ("ENV", " Production ", "environment", "production"),
        ("ENV", "DEVELOPMENT", "environment", "development"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.1,10.0.0.2", "forwarded_allow_ips", "10.0.0.1,10.0.0.2"),
        ("FORWARDED_ALLOW_IPS", "*", "forwarded_allow_ips", "*"),
        ("SESSION_TTL_S", "60", "session_ttl_s", 60),
        ("SESSION_TTL_S", "34560000", "session_ttl_s", 34560000),
        ("LIVE_POLL_INTERVAL_S", "0.01", "live_poll_interval_s", 0.01),
        ("LIVE_POLL_INTERVAL_S", "60", "live_poll_interval_s", 60.0),
        ("LIVE_DATABASE_URL", "postgresql://db/live", "live_database_url", "postgresql://db/live"),
        ("POOL_MIN_SIZE", "10", "pool_min_size", 10),
        ("POOL_MAX_SIZE", "2", "pool_max_size", 2),
        ("STATEMENT_CACHE_SIZE", "0", "statement_cache_size", 0),
        ("PAYMENT_SUCCESS_RATE", "0", "payment.success_rate", 0.0),
        ("PAYMENT_SUCCESS_RATE", "1", "payment.success_rate", 1.0),
        ("PAYMENT_TIMEOUT_SHARE", "0.9", "payment.timeout_share", 0.9),
        ("PAYMENT_LATENCY_MS", "0", "payment.latency_ms", 0.0),
        ("MAX_TICKETS_PER_CONCERT", "1", "limits.max_tickets_per_concert", 1),
        ("ARGON2_TIME_COST", "20", "password_hash.time_cost", 20),
        ("ARGON2_PARALLELISM", "1", "password_hash.parallelism", 1),
        ("ARGON2_MEMORY_KIB", "4194304", "password_hash.memory_kib", 4194304),
        ("ARGON2_MEMORY_KIB", "32", "password_hash.memory_kib", 32),  # 8 x 4 lanes
        ("RATE_LOGIN_PER_ACCOUNT", "10/60", "limits.login_per_account", RateRule(10, 60)),
        ("RATE_LOGIN_PER_ACCOUNT", "7", "limits.login_per_account", RateRule(7, 60)),
        ("RATE_LOGIN_PER_ACCOUNT", "1/86400", "limits.login_per_account", RateRule(1, 86400)),
        ("RATE_BOOKING_PER_ADDRESS", "0", "limits.booking_per_address", RateRule(0, 1)),
        ("RATE_BOOKING_PER_ADDRESS", " OFF ", "limits.booking_per_address", RateRule(0, 1)),
    ],
)
def test_good_values_parse(
    env: pytest.MonkeyPatch, variable: str, raw: str, path: str, expected: object
) -> None:
    env.setenv(f"TICKETBOOK_{variable}", raw)
    if expected == "production":  # which needs the site's address (emailed links)
        env.setenv("TICKETBOOK_PUBLIC_URL", "https://tickets.test")
    assert attr(Settings.from_env(), path) == expected


def test_production_refuses_to_start_without_its_public_url(env: pytest.MonkeyPatch) -> None:
    """The default (http://127.0.0.1:8000) would send every emailed link to the loopback."""
    env.setenv("TICKETBOOK_ENV", "production")
    env.delenv("TICKETBOOK_PUBLIC_URL", raising=False)
    with pytest.raises(ConfigError, match="needs TICKETBOOK_PUBLIC_URL"):
        Settings.from_env()
    env.setenv("TICKETBOOK_PUBLIC_URL", "https://tickets.example.com")
    assert Settings.from_env().mail.public_url == "https://tickets.example.com"
    env.setenv("TICKETBOOK_ENV", "development")
    env.delenv("TICKETBOOK_PUBLIC_URL")
    assert Settings.from_env().mail.public_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize("name", RATE_RULE_NAMES)
def test_every_rate_rule_has_its_variable(env: pytest.MonkeyPatch, name: str) -> None:
    env.setenv(f"TICKETBOOK_RATE_{name.upper()}", "3/9")
    assert getattr(Settings.from_env().limits, name) == RateRule(3, 9)
    assert not RateRule(0, 1).enabled and RateRule(3, 9).enabled
    assert (str(RateRule(3, 9)), str(RateRule(0, 1))) == ("3/9", "off")


@pytest.mark.parametrize(
    "variable",
    [
        "TICKETBOOK_PGBOUNCER",
        "TICKETBOOK_AUTO_MIGRATE",
        "TICKETBOOK_ACCESS_LOG",
        "TICKETBOOK_ENABLE_TEST_ROUTES",
    ],
)
def test_booleans_are_true_for_1_true_yes_on_and_false_for_anything_else(
    env: pytest.MonkeyPatch, variable: str
) -> None:
    env.setenv("TICKETBOOK_LIVE_DATABASE_URL", "postgresql://db/live")  # for PGBOUNCER
    path = DOCUMENTED_DEFAULTS[variable][0]
    for raw in ("1", "true", "TRUE", "Yes", " on "):
        env.setenv(variable, raw)
        assert attr(Settings.from_env(), path) is True, raw
    for raw in ("0", "false", "no", "off", "maybe", "2"):
        env.setenv(variable, raw)
        assert attr(Settings.from_env(), path) is False, raw


# -- bad values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("PORT", "eighty", "must be an integer, got 'eighty'"),
        ("PORT", "80.5", "must be an integer"),
        ("MAX_BODY_BYTES", "lots", "must be an integer"),
        ("GRACEFUL_TIMEOUT_S", "10s", "must be an integer"),
        ("STATEMENT_CACHE_SIZE", "x", "must be an integer"),
        ("LOCK_TIMEOUT_MS", "2s", "must be an integer"),
        ("CONNECT_TIMEOUT_S", "soon", "must be a number, got 'soon'"),
        ("REAPER_INTERVAL_S", "x", "must be a number"),
        ("HOLD_SECONDS", "0", "must be positive, got '0'"),
        ("HOLD_SECONDS", "-5", "must be positive"),
        ("ENV", "prod", "must be development or production, got 'prod'"),
        ("ENV", "staging", "must be development or production"),
        ("SESSION_TTL_S", "59", "must be between 60 and 34560000"),
        ("SESSION_TTL_S", "34560001", "must be between 60 and 34560000"),
        ("LIVE_POLL_INTERVAL_S", "0", "must be between 0.01 and 60"),
        ("LIVE_POLL_INTERVAL_S", "61", "must be between 0.01 and 60"),
        ("LIVE_POLL_INTERVAL_S", "soon", "must be a number"),
        ("POOL_MIN_SIZE", "0", "must be at least 1, got '0'"),
        ("POOL_MAX_SIZE", "1", "must be at least TICKETBOOK_POOL_MIN_SIZE \\(2\\), got 1"),
        ("PAYMENT_SUCCESS_RATE", "1.5", "must be between 0 and 1, got '1.5'"),
        ("PAYMENT_SUCCESS_RATE", "-0.1", "must be between 0 and 1"),
        ("PAYMENT_SUCCESS_RATE", "most", "must be a number"),
        ("PAYMENT_TIMEOUT_SHARE", "2", "must be between 0 and 1"),
        ("PAYMENT_ERROR_SHARE", "-1", "must be between 0 and 1"),
        ("PAYMENT_LATENCY_MS", "-1", "must be non-negative, got '-1'"),
        ("PAYMENT_LATENCY_JITTER_MS", "-1", "must be non-negative"),
        ("PAYMENT_TIMEOUT_MS", "-1", "must be non-negative"),
        ("MAX_TICKETS_PER_CONCERT", "0", "must be at least 1, got '0'"),
        ("MAX_TICKETS_PER_CONCERT", "ten", "must be an integer"),
        ("ARGON2_TIME_COST", "0", "must be between 1 and 20"),
        ("ARGON2_TIME_COST", "21", "must be between 1 and 20"),
        ("ARGON2_PARALLELISM", "0", "must be between 1 and 16"),
        ("ARGON2_PARALLELISM", "17", "must be between 1 and 16"),
        ("ARGON2_MEMORY_KIB", "4194305", "must be between 8 and 4194304"),
        (
            "ARGON2_MEMORY_KIB",
            "31",
            "must be at least 8 x TICKETBOOK_ARGON2_PARALLELISM \\(32\\), got 31",
        ),
        (
            "RATE_LOGIN_PER_ACCOUNT",
            "x/1",
            "must look like 10/60 \\(requests/seconds\\) or off, got 'x/1'",
        ),
        ("RATE_LOGIN_PER_ACCOUNT", "10/", "must look like 10/60"),
        ("RATE_LOGIN_PER_ACCOUNT", "/60", "must look like 10/60"),
        ("RATE_LOGIN_PER_ACCOUNT", "never", "must look like 10/60"),
        (
            "RATE_REGISTER_PER_ADDRESS",
            "-1/60",
            "must have requests >= 0 and 1 <= seconds <= 86400, got -1/60",
        ),
        ("RATE_BOOKING_PER_ACCOUNT", "10/0", "must have requests >= 0 and 1 <= seconds"),
        ("RATE_BOOKING_PER_ADDRESS", "10/86401", "must have requests >= 0 and 1 <= seconds"),
    ],
)
def test_bad_values_are_config_errors_that_name_the_variable(
    env: pytest.MonkeyPatch, variable: str, raw: str, message: str
) -> None:
    env.setenv(f"TICKETBOOK_{variable}", raw)
    with pytest.raises(ConfigError, match=f"^TICKETBOOK_{variable} {message}") as caught:
        Settings.from_env()
    assert isinstance(caught.value, ValueError)


def test_the_failure_shares_must_not_exceed_1_together(env: pytest.MonkeyPatch) -> None:
    env.setenv("TICKETBOOK_PAYMENT_TIMEOUT_SHARE", "0.5")
    env.setenv("TICKETBOOK_PAYMENT_ERROR_SHARE", "0.5")
    assert Settings.from_env().payment.error_share == 0.5
    env.setenv("TICKETBOOK_PAYMENT_ERROR_SHARE", "0.6")
    with pytest.raises(
        ConfigError,
        match=r"^TICKETBOOK_PAYMENT_TIMEOUT_SHARE \+ TICKETBOOK_PAYMENT_ERROR_SHARE must not "
        r"exceed 1, got 0.5 \+ 0.6$",
    ):
        Settings.from_env()


def test_pgbouncer_with_a_database_url_needs_a_direct_live_url(env: pytest.MonkeyPatch) -> None:
    env.setenv("TICKETBOOK_PGBOUNCER", "1")
    assert Settings.from_env().pgbouncer  # the embedded database: no PgBouncer in the way
    env.setenv("DATABASE_URL", "postgresql://app@127.0.0.1:6432/ticketbook")
    with pytest.raises(
        ConfigError, match=r"^TICKETBOOK_PGBOUNCER=1 needs TICKETBOOK_LIVE_DATABASE_URL: "
    ):
        Settings.from_env()
    env.setenv("TICKETBOOK_LIVE_DATABASE_URL", "postgresql://app@127.0.0.1/ticketbook")
    assert Settings.from_env().live_database_url == "postgresql://app@127.0.0.1/ticketbook"


def test_all_the_invalid_variables_are_named_at_once(env: pytest.MonkeyPatch) -> None:
    env.setenv("TICKETBOOK_PORT", "eighty")
    env.setenv("TICKETBOOK_HOLD_SECONDS", "0")
    env.setenv("TICKETBOOK_PAYMENT_SUCCESS_RATE", "2")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env()
    message = str(caught.value)
    for name in ("TICKETBOOK_PORT", "TICKETBOOK_HOLD_SECONDS", "TICKETBOOK_PAYMENT_SUCCESS_RATE"):
        assert name in message
    assert "validation error" not in message and "pydantic" not in message


def test_rate_rule_parse_names_the_variable_it_is_given() -> None:
    assert RateRule.parse("X", "10/60") == RateRule(10, 60)
    assert RateRule.parse("X", "10") == RateRule(10, 60)
    assert RateRule.parse("X", "off") == RateRule.parse("X", "0") == RateRule(0, 1)
    with pytest.raises(ConfigError, match=r"^X must look like 10/60"):
        RateRule.parse("X", "lots")
    with pytest.raises(ConfigError, match=r"^X must have requests >= 0"):
        RateRule.parse("X", "5/0")


def test_environments() -> None:
    assert ENVIRONMENTS == ("development", "production")


def test_the_cli_prints_a_config_error_and_exits_2(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("TICKETBOOK_PORT", "eighty")
    assert main(["migrate"]) == 2
    assert (
        capsys.readouterr().err == "ticketbook: TICKETBOOK_PORT must be an integer, got 'eighty'\n"
    )


# -- secrets: NAME or NAME_FILE -------------------------------------------------------------

SECRETS = [
    ("TICKETBOOK_SECRET_KEY", "secret_key", "secret_key_file"),
    ("DATABASE_URL", "database_url", "database_url_file"),
    ("READ_DATABASE_URL", "read_database_url", "read_database_url_file"),
]


@pytest.mark.parametrize(("name", "value_attr", "file_attr"), SECRETS)
def test_a_secret_comes_from_its_variable_or_the_file_name_file_names(
    env: pytest.MonkeyPatch, tmp_path: Path, name: str, value_attr: str, file_attr: str
) -> None:
    env.setenv(name, "postgresql://db/direct")
    settings = Settings.from_env()
    assert getattr(settings, value_attr) == "postgresql://db/direct"
    assert getattr(settings, file_attr) is None
    env.delenv(name)
    (tmp_path / "secret").write_text("  postgresql://db/from-file\n\n")
    env.setenv("HOME", str(tmp_path))
    env.setenv(f"{name}_FILE", "~/secret")
    settings = Settings.from_env()
    assert getattr(settings, value_attr) == "postgresql://db/from-file"  # stripped
    assert getattr(settings, file_attr) == tmp_path / "secret"  # the path, ~ expanded
    env.setenv(name, "")  # empty is unset: no conflict
    assert getattr(Settings.from_env(), value_attr) == "postgresql://db/from-file"


@pytest.mark.parametrize(("name", "value_attr", "file_attr"), SECRETS)
def test_a_secret_and_its_file_together_are_refused(
    env: pytest.MonkeyPatch, tmp_path: Path, name: str, value_attr: str, file_attr: str
) -> None:
    (tmp_path / "secret").write_text("from-file")
    env.setenv(name, "direct")
    env.setenv(f"{name}_FILE", str(tmp_path / "secret"))
    with pytest.raises(ConfigError, match=f"^set {name} or {name}_FILE, not both$"):
        Settings.from_env()


@pytest.mark.parametrize(("name", "value_attr", "file_attr"), SECRETS)
def test_a_missing_unreadable_or_empty_secret_file_is_refused(
    env: pytest.MonkeyPatch, tmp_path: Path, name: str, value_attr: str, file_attr: str
) -> None:
    env.setenv(f"{name}_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=f"^{name}_FILE: cannot read .*missing: No such file"):
        Settings.from_env()
    env.setenv(f"{name}_FILE", str(tmp_path))  # a directory
    with pytest.raises(ConfigError, match=f"^{name}_FILE: cannot read"):
        Settings.from_env()
    (tmp_path / "blank").write_text(" \n\t\n")
    env.setenv(f"{name}_FILE", str(tmp_path / "blank"))
    with pytest.raises(ConfigError, match=f"^{name}_FILE: .*blank is empty$"):
        Settings.from_env()
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    env.setenv(f"{name}_FILE", str(tmp_path / "binary"))
    with pytest.raises(ConfigError, match=f"^{name}_FILE: cannot read .*binary"):
        Settings.from_env()
    if os.geteuid() != 0:  # root reads any file
        unreadable = tmp_path / "unreadable"
        unreadable.write_text("x")
        unreadable.chmod(0)
        env.setenv(f"{name}_FILE", str(unreadable))
        with pytest.raises(ConfigError, match="Permission denied"):
            Settings.from_env()
