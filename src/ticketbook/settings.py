"""Runtime settings, read once from the environment (12-factor style)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_secret(name: str) -> tuple[str | None, Path | None]:
    """``name`` from the environment, or the stripped contents of the file ``name``_FILE
    names (so a secret can live in a file outside the repo, e.g. a mounted secret), and
    that file's path."""
    value = os.environ.get(name) or None
    file_name = os.environ.get(f"{name}_FILE") or None
    if file_name is None:
        return value, None
    if value is not None:
        raise ConfigError(f"set {name} or {name}_FILE, not both")
    path = Path(file_name).expanduser()
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{name}_FILE: cannot read {path}: {reason}") from exc
    if not text:
        raise ConfigError(f"{name}_FILE: {path} is empty")
    return text, path


ENVIRONMENTS = ("development", "production")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ticketbook"


class ConfigError(ValueError):
    """A setting in the environment is invalid."""


@dataclass(frozen=True)
class PaymentSettings:
    success_rate: float = 0.8
    # Of the failures, these shares end as timeout / provider error; the rest are declines.
    timeout_share: float = 0.1
    error_share: float = 0.1
    latency_ms: float = 150.0
    latency_jitter_ms: float = 100.0
    timeout_ms: float = 3000.0

    def validate(self) -> None:
        for name in ("success_rate", "timeout_share", "error_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"payment {name} must be between 0 and 1, got {value}")
        if self.timeout_share + self.error_share > 1.0:
            raise ConfigError("payment timeout_share + error_share must not exceed 1")
        if min(self.latency_ms, self.latency_jitter_ms, self.timeout_ms) < 0:
            raise ConfigError("payment latencies must not be negative")


@dataclass(frozen=True)
class RateRule:
    """At most ``limit`` requests per ``window_s`` seconds for one key; limit 0 means off."""

    limit: int
    window_s: int

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    @classmethod
    def parse(cls, name: str, raw: str) -> RateRule:
        text = raw.strip().lower()
        if text in {"0", "off"}:
            return cls(0, 1)
        count, sep, seconds = text.partition("/")
        try:
            rule = cls(int(count), int(seconds) if sep else 60)
        except ValueError:
            raise ConfigError(
                f"{name} must look like 10/60 (requests/seconds) or off, got {raw!r}"
            ) from None
        if rule.limit < 0 or not 1 <= rule.window_s <= 86400:
            raise ConfigError(f"{name}: need requests >= 0 and 1 <= seconds <= 86400")
        return rule


def _env_rate(name: str, default: str) -> RateRule:
    return RateRule.parse(name, os.environ.get(name) or default)


@dataclass(frozen=True)
class LimitSettings:
    """Abuse limits: request rates per account and per client address, and the per-fan cap on
    tickets for one concert (enforced inside the hold)."""

    max_tickets_per_concert: int = 10
    login_per_account: RateRule = RateRule(10, 300)
    login_per_address: RateRule = RateRule(30, 60)
    register_per_account: RateRule = RateRule(5, 3600)
    register_per_address: RateRule = RateRule(20, 3600)
    booking_per_account: RateRule = RateRule(30, 60)
    booking_per_address: RateRule = RateRule(600, 60)

    @classmethod
    def from_env(cls) -> LimitSettings:
        defaults = cls()
        rules = {
            name: _env_rate(f"TICKETBOOK_RATE_{name.upper()}", _rule_text(getattr(defaults, name)))
            for name in RATE_RULE_NAMES
        }
        cap = _env_int("TICKETBOOK_MAX_TICKETS_PER_CONCERT", defaults.max_tickets_per_concert)
        if cap < 1:
            raise ConfigError("TICKETBOOK_MAX_TICKETS_PER_CONCERT must be at least 1")
        return cls(max_tickets_per_concert=cap, **rules)


RATE_RULE_NAMES = (
    "login_per_account",
    "login_per_address",
    "register_per_account",
    "register_per_address",
    "booking_per_account",
    "booking_per_address",
)


def _rule_text(rule: RateRule) -> str:
    return f"{rule.limit}/{rule.window_s}" if rule.enabled else "off"


@dataclass(frozen=True)
class PasswordHashSettings:
    """argon2id cost. The defaults are RFC 9106's second recommendation (t=3, 64 MiB, p=4);
    lower them only where hashing speed matters more than guessing cost (the test suite)."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    @classmethod
    def from_env(cls) -> PasswordHashSettings:
        hashing = cls(
            time_cost=_env_int("TICKETBOOK_ARGON2_TIME_COST", cls.time_cost),
            memory_kib=_env_int("TICKETBOOK_ARGON2_MEMORY_KIB", cls.memory_kib),
            parallelism=_env_int("TICKETBOOK_ARGON2_PARALLELISM", cls.parallelism),
        )
        if not 1 <= hashing.time_cost <= 20 or not 1 <= hashing.parallelism <= 16:
            raise ConfigError("TICKETBOOK_ARGON2_TIME_COST is 1..20, _PARALLELISM 1..16")
        if not 8 * hashing.parallelism <= hashing.memory_kib <= 4 * 1024 * 1024:
            raise ConfigError("TICKETBOOK_ARGON2_MEMORY_KIB is 8 x parallelism .. 4194304")
        return hashing


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    # A read-only copy (streaming replica) for catalog reads; unset means the primary.
    read_database_url: str | None = None
    # DATABASE_URL (and READ_DATABASE_URL) lead to PgBouncer in transaction mode: send only
    # startup parameters it accepts, and no named prepared statements unless asked to.
    pgbouncer: bool = False
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    # Proxies whose X-Forwarded-Proto/-For uvicorn believes (comma-separated IPs, or "*").
    forwarded_allow_ips: str = "127.0.0.1"
    secret_key: str | None = None
    # The file secret_key was read from (TICKETBOOK_SECRET_KEY_FILE), if it came from one.
    secret_key_file: Path | None = None
    # "production" refuses to start without a strong, explicitly given signing key.
    environment: str = "development"
    hold_seconds: float = 600.0
    lock_timeout_ms: int = 2000
    statement_timeout_ms: int = 10000
    pool_min_size: int = 2
    pool_max_size: int = 10
    connect_timeout_s: float = 5.0
    pool_acquire_timeout_s: float = 2.0
    statement_cache_size: int = 1024
    auto_migrate: bool = True
    reaper_interval_s: float = 5.0
    reaper_batch_size: int = 500
    max_body_bytes: int = 64 * 1024
    enable_test_routes: bool = False
    access_log: bool = False
    graceful_timeout_s: int = 10
    # Live availability (ticketbook.live): a direct connection for LISTEN (not PgBouncer in
    # transaction mode); unset means the database URL. How often the publisher reads counts.
    live_database_url: str | None = None
    live_poll_interval_s: float = 0.2
    payment: PaymentSettings = field(default_factory=PaymentSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    password_hash: PasswordHashSettings = field(default_factory=PasswordHashSettings)
    # How long a sign-in (API token or page session) lasts before it must be renewed.
    session_ttl_s: int = 30 * 24 * 3600

    @property
    def pgdata_dir(self) -> Path:
        return self.data_dir / "pgdata"

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = os.environ.get("TICKETBOOK_DATA_DIR")
        payment = PaymentSettings(
            success_rate=_env_float("TICKETBOOK_PAYMENT_SUCCESS_RATE", 0.8),
            timeout_share=_env_float("TICKETBOOK_PAYMENT_TIMEOUT_SHARE", 0.1),
            error_share=_env_float("TICKETBOOK_PAYMENT_ERROR_SHARE", 0.1),
            latency_ms=_env_float("TICKETBOOK_PAYMENT_LATENCY_MS", 150.0),
            latency_jitter_ms=_env_float("TICKETBOOK_PAYMENT_LATENCY_JITTER_MS", 100.0),
            timeout_ms=_env_float("TICKETBOOK_PAYMENT_TIMEOUT_MS", 3000.0),
        )
        payment.validate()
        pgbouncer = _env_bool("TICKETBOOK_PGBOUNCER", False)
        secret_key, secret_key_file = _env_secret("TICKETBOOK_SECRET_KEY")
        environment = (os.environ.get("TICKETBOOK_ENV") or "development").strip().lower()
        if environment not in ENVIRONMENTS:
            raise ConfigError(
                f"TICKETBOOK_ENV must be development or production, "
                f"got {os.environ['TICKETBOOK_ENV']!r}"
            )
        settings = cls(
            database_url=_env_secret("DATABASE_URL")[0],
            read_database_url=_env_secret("READ_DATABASE_URL")[0],
            pgbouncer=pgbouncer,
            data_dir=Path(data_dir).expanduser() if data_dir else default_data_dir(),
            host=os.environ.get("TICKETBOOK_HOST", "127.0.0.1"),
            port=_env_int("TICKETBOOK_PORT", 8000),
            forwarded_allow_ips=os.environ.get("TICKETBOOK_FORWARDED_ALLOW_IPS") or "127.0.0.1",
            secret_key=secret_key,
            secret_key_file=secret_key_file,
            environment=environment,
            hold_seconds=_env_float("TICKETBOOK_HOLD_SECONDS", 600.0),
            lock_timeout_ms=_env_int("TICKETBOOK_LOCK_TIMEOUT_MS", 2000),
            statement_timeout_ms=_env_int("TICKETBOOK_STATEMENT_TIMEOUT_MS", 10000),
            pool_min_size=_env_int("TICKETBOOK_POOL_MIN_SIZE", 2),
            pool_max_size=_env_int("TICKETBOOK_POOL_MAX_SIZE", 10),
            connect_timeout_s=_env_float("TICKETBOOK_CONNECT_TIMEOUT_S", 5.0),
            pool_acquire_timeout_s=_env_float("TICKETBOOK_POOL_ACQUIRE_TIMEOUT_S", 2.0),
            statement_cache_size=_env_int(
                "TICKETBOOK_STATEMENT_CACHE_SIZE", 0 if pgbouncer else 1024
            ),
            auto_migrate=_env_bool("TICKETBOOK_AUTO_MIGRATE", True),
            reaper_interval_s=_env_float("TICKETBOOK_REAPER_INTERVAL_S", 5.0),
            reaper_batch_size=_env_int("TICKETBOOK_REAPER_BATCH_SIZE", 500),
            max_body_bytes=_env_int("TICKETBOOK_MAX_BODY_BYTES", 64 * 1024),
            enable_test_routes=_env_bool("TICKETBOOK_ENABLE_TEST_ROUTES", False),
            access_log=_env_bool("TICKETBOOK_ACCESS_LOG", False),
            graceful_timeout_s=_env_int("TICKETBOOK_GRACEFUL_TIMEOUT_S", 10),
            live_database_url=os.environ.get("TICKETBOOK_LIVE_DATABASE_URL") or None,
            live_poll_interval_s=_env_float("TICKETBOOK_LIVE_POLL_INTERVAL_S", 0.2),
            payment=payment,
            limits=LimitSettings.from_env(),
            password_hash=PasswordHashSettings.from_env(),
            session_ttl_s=_env_int("TICKETBOOK_SESSION_TTL_S", 30 * 24 * 3600),
        )
        if not 60 <= settings.session_ttl_s <= 400 * 24 * 3600:
            raise ConfigError("TICKETBOOK_SESSION_TTL_S must be between 60 and 34560000")
        if not 0.01 <= settings.live_poll_interval_s <= 60:
            raise ConfigError("TICKETBOOK_LIVE_POLL_INTERVAL_S must be between 0.01 and 60")
        if pgbouncer and settings.database_url and not settings.live_database_url:
            raise ConfigError(
                "TICKETBOOK_PGBOUNCER=1 needs TICKETBOOK_LIVE_DATABASE_URL: live availability "
                "LISTENs on a session of its own, which PgBouncer's transaction mode can't give"
            )
        if settings.hold_seconds <= 0:
            raise ConfigError("TICKETBOOK_HOLD_SECONDS must be positive")
        if settings.pool_min_size < 1 or settings.pool_max_size < settings.pool_min_size:
            raise ConfigError("pool sizes must satisfy 1 <= TICKETBOOK_POOL_MIN_SIZE <= MAX_SIZE")
        return settings
