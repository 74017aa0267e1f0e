"""Runtime settings, read once from the environment (12-factor style).

Each setting is one field, declared once: its environment variable (the field's
``validation_alias``), its default, its validation and its one-line doc (``description``).
pydantic-settings reads the environment in ``Settings.from_env()``; the reference tables in
docs/configuration.md are generated from these fields (``ticketbook.settings_doc``,
``make config-docs``).

Constructing a settings object never reads the environment: ``Settings()`` is the documented
defaults and ``Settings(port=9000, payment=PaymentSettings(success_rate=1.0))`` exactly what it
says (tests and ``openapi_document()`` rely on that). Only ``from_env()`` reads variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ticketbook.http.forwarded import TrustedProxies

ENVIRONMENTS = ("development", "production")

RATE_RULE_NAMES = (
    "login_per_account",
    "login_per_address",
    "login_per_account_all_addresses",
    "register_per_account",
    "register_per_address",
    "booking_per_account",
    "booking_per_address",
    "guest_per_address",
    "transfer_per_account",
    "transfer_per_address",
)

# The reference table (docs/configuration.md) each setting is listed in.
DATABASE = "database"
SERVER = "server"
ACCOUNTS = "accounts"
LIMITS = "limits"
BOOKING = "booking"
CONNECTIONS = "connections"
PAYMENTS = "payments"
MAIL = "mail"

_TRUE = frozenset({"1", "true", "yes", "on"})


class ConfigError(ValueError):
    """A setting in the environment is invalid."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ticketbook"


# -- value types ----------------------------------------------------------------------------


def _flag(value: object) -> object:
    """Booleans from the environment: true for 1, true, yes, on (any case), anything else false."""
    return value.strip().lower() in _TRUE if isinstance(value, str) else value


def _environment(value: object) -> object:
    if not isinstance(value, str):
        return value
    if value.strip().lower() not in ENVIRONMENTS:
        raise ValueError(f"must be development or production, got {value!r}")
    return value.strip().lower()


def _expand(path: Path | None) -> Path | None:
    return None if path is None else path.expanduser()


def _proxy_list(value: str) -> str:
    TrustedProxies.parse(value)  # ValueError names the entry that is not an address
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]
ProxyList = Annotated[str, AfterValidator(_proxy_list)]
UserPath = Annotated[Path, AfterValidator(_expand)]


@dataclass(frozen=True)
class RateRule:
    """At most ``limit`` requests per ``window_s`` seconds for one key; limit 0 means off."""

    limit: int
    window_s: int

    def __post_init__(self) -> None:
        if self.limit < 0 or not 1 <= self.window_s <= 86400:
            raise ValueError(
                "must have requests >= 0 and 1 <= seconds <= 86400, "
                f"got {self.limit}/{self.window_s}"
            )

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_s}" if self.enabled else "off"

    @classmethod
    def from_text(cls, raw: str) -> RateRule:
        """``10/60`` (requests/seconds), ``10`` (per 60 s), or ``0``/``off``; ValueError else."""
        text = raw.strip().lower()
        if text in {"0", "off"}:
            return cls(0, 1)
        count, sep, seconds = text.partition("/")
        try:
            limit, window_s = int(count), int(seconds) if sep else 60
        except ValueError:
            raise ValueError(
                f"must look like 10/60 (requests/seconds) or off, got {raw!r}"
            ) from None
        return cls(limit, window_s)

    @classmethod
    def parse(cls, name: str, raw: str) -> RateRule:
        """``from_text``, with a ConfigError naming the variable ``name``."""
        try:
            return cls.from_text(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} {exc}") from None


def _rule(value: object) -> object:
    return RateRule.from_text(value) if isinstance(value, str) else value


Rule = Annotated[RateRule, BeforeValidator(_rule)]


# -- declaring settings ---------------------------------------------------------------------


def _setting(
    env: str,
    default: Any = PydanticUndefined,
    *,
    doc: str,
    group: str | None = None,
    shown: str = "{default}",
    contents_in: str | None = None,
    secret: bool = False,
    default_factory: Callable[..., Any] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
) -> Any:
    """A field read from the environment variable ``env``.

    ``doc`` is its one-line description, ``group`` the reference table it belongs in (nested
    settings inherit their parent field's), ``shown`` its default as the table shows it
    (``{default}`` is the real default, formatted). ``contents_in`` names the field holding
    a file path (``NAME_FILE``) whose contents may give this value instead. A ``secret``
    (a key, a URL that may hold a password) is left out of the settings' repr.
    """
    extra: dict[str, str] = {"shown": shown}
    if group is not None:
        extra["group"] = group
    if contents_in is not None:
        extra["contents_in"] = contents_in
    common: dict[str, Any] = {
        "validation_alias": env,
        "description": doc,
        "json_schema_extra": extra,
        "ge": ge,
        "gt": gt,
        "le": le,
        "repr": not secret,
    }
    if default_factory is not None:
        return Field(default_factory=default_factory, **common)
    return Field(default, **common)


def env_name(model: type[BaseSettings], name: str) -> str:
    """The environment variable of ``model``'s field ``name``."""
    alias = model.model_fields[name].validation_alias
    if not isinstance(alias, str):
        raise TypeError(f"{model.__name__}.{name} is not read from the environment")
    return alias


def field_extra(field: FieldInfo, key: str) -> str | None:
    extra = field.json_schema_extra
    value = extra.get(key) if isinstance(extra, dict) else None
    return value if isinstance(value, str) else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def bounds(field: FieldInfo) -> str | None:
    """The field's numeric limits in words ("between 0 and 1", "positive"), if it has any."""
    low = high = None
    for item in field.metadata:
        for attr in ("ge", "gt"):
            if getattr(item, attr, None) is not None:
                low = (attr, getattr(item, attr))
        if getattr(item, "le", None) is not None:
            high = item.le
    if low is not None and high is not None:
        if low[0] == "gt":
            return f"greater than {_number(low[1])} and at most {_number(high)}"
        return f"between {_number(low[1])} and {_number(high)}"
    if low == ("gt", 0):
        return "positive"
    if low == ("ge", 0):
        return "non-negative"
    if low is not None:
        return f"{'at least' if low[0] == 'ge' else 'greater than'} {_number(low[1])}"
    if high is not None:
        return f"at most {_number(high)}"
    return None


class _Group(BaseSettings):
    """Settings read from the environment by ``from_env``, and only there."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,  # Settings(port=...) as well as the variable's name
        case_sensitive=True,  # os.environ is, on every platform we run on
        env_ignore_empty=True,  # an empty value counts as unset
        enable_decoding=False,  # a value is text to validate (e.g. "10/60"), never JSON
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keyword arguments and defaults only: constructing settings has no side effects, so
        # Settings() is always the documented defaults. Reading the environment is explicit:
        # from_env(), which uses pydantic-settings' environment source (plus _FileContents).
        return (init_settings,)

    @classmethod
    def from_env(cls) -> Self:
        """The settings the environment gives; ConfigError, naming the variable, for a bad one."""
        try:
            settings = cls.model_validate(_from_environment(cls))
        except ValidationError as exc:
            raise ConfigError(_explain(exc, cls)) from None
        _check_production(settings)
        return settings


def _check_production(settings: _Group) -> None:
    """What production must set explicitly, where a development default would do harm (the
    signing key has its own check: auth/secrets.py)."""
    if getattr(settings, "environment", None) != "production":
        return
    mail = getattr(settings, "mail", None)
    if isinstance(mail, MailSettings) and "public_url" not in mail.model_fields_set:
        # Every emailed link starts with it: the default would send fans to 127.0.0.1.
        raise ConfigError(
            "TICKETBOOK_ENV=production needs TICKETBOOK_PUBLIC_URL, where fans reach this "
            "site (https://tickets.example.com): the links in its emails start with it"
        )


class _FileContents(PydanticBaseSettingsSource):
    """Secrets from files: for a field declared with ``contents_in``, the stripped contents of
    the file its ``NAME_FILE`` variable names (e.g. a mounted Docker or Kubernetes secret)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path_field = field_extra(field, "contents_in")
        if path_field is None:
            return None, field_name, False
        name = env_name(self.settings_cls, field_name)
        file_env = env_name(self.settings_cls, path_field)  # NAME_FILE
        file_name = os.environ.get(file_env) or None
        if file_name is None:
            return None, name, False
        if os.environ.get(name):
            raise ConfigError(f"set {name} or {file_env}, not both")
        path = Path(file_name).expanduser()
        try:
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(f"{file_env}: cannot read {path}: {reason}") from exc
        if not text:
            raise ConfigError(f"{file_env}: {path} is empty")
        return text, name, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                found[key] = value
        return found


def _from_environment(model: type[_Group]) -> dict[str, Any]:
    """The input ``model`` gets from the environment: variables, secret files, nested groups."""
    values = {**EnvSettingsSource(model)(), **_FileContents(model)()}
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, _Group):
            values[name] = _from_environment(field.annotation)
    return values


def _explain(exc: ValidationError, model: type[_Group]) -> str:
    """pydantic's errors as sentences that name the environment variable."""
    messages = []
    for error in exc.errors():
        if error["type"] == "default_factory_not_called":
            continue  # a default that depends on a setting reported already
        owner: type[BaseSettings] = model
        field: FieldInfo | None = None
        for part in error["loc"]:
            fields = owner.model_fields
            name = next((n for n, f in fields.items() if part in (n, f.validation_alias)), None)
            if name is None:
                break
            field = fields[name]
            if isinstance(field.annotation, type) and issubclass(field.annotation, _Group):
                owner, field = field.annotation, None
        if field is None or not isinstance(field.validation_alias, str):
            # A rule across settings: its message names the variables itself.
            messages.append(str(error.get("ctx", {}).get("error", error["msg"])))
            continue
        got = f", got {error['input']!r}"
        kind = error["type"]
        if kind == "value_error":
            problem = str(error.get("ctx", {}).get("error", error["msg"]))
        elif kind.startswith("int_"):
            problem = "must be an integer" + got
        elif kind.startswith("float_") or kind == "finite_number":
            problem = "must be a number" + got
        elif kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
            problem = f"must be {bounds(field)}{got}"
        else:
            problem = f"is invalid: {error['msg']}{got}"
        messages.append(f"{field.validation_alias} {problem}")
    return "; ".join(messages)


# -- the settings ---------------------------------------------------------------------------


class PaymentSettings(_Group):
    """The simulated payment provider's outcomes and latencies."""

    success_rate: float = _setting(
        "TICKETBOOK_PAYMENT_SUCCESS_RATE", 0.8, ge=0, le=1, doc="share of charges that succeed"
    )
    timeout_share: float = _setting(
        "TICKETBOOK_PAYMENT_TIMEOUT_SHARE",
        0.1,
        ge=0,
        le=1,
        doc="of the failures, the share that time out",
    )
    error_share: float = _setting(
        "TICKETBOOK_PAYMENT_ERROR_SHARE",
        0.1,
        ge=0,
        le=1,
        doc="of the failures, the share that are provider errors; the rest are declines, so "
        "`TIMEOUT_SHARE + ERROR_SHARE` must not exceed 1",
    )
    latency_ms: float = _setting(
        "TICKETBOOK_PAYMENT_LATENCY_MS", 150.0, ge=0, doc="mean latency of a charge or refund"
    )
    latency_jitter_ms: float = _setting(
        "TICKETBOOK_PAYMENT_LATENCY_JITTER_MS",
        100.0,
        ge=0,
        doc="latency varies uniformly by ± this much",
    )
    timeout_ms: float = _setting(
        "TICKETBOOK_PAYMENT_TIMEOUT_MS",
        3000.0,
        ge=0,
        doc="how long a timing-out charge takes. "
        "The engine stops waiting for any charge after this plus 1 s.",
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> Self:
        if self.timeout_share + self.error_share > 1.0:
            timeout, error = (env_name(type(self), n) for n in ("timeout_share", "error_share"))
            raise ValueError(
                f"{timeout} + {error} must not exceed 1, "
                f"got {self.timeout_share:g} + {self.error_share:g}"
            )
        return self


class LimitSettings(_Group):
    """Abuse limits: request rates per account and per client address, and the per-fan cap on
    tickets for one concert (enforced inside the hold)."""

    login_per_account: Rule = _setting(
        "TICKETBOOK_RATE_LOGIN_PER_ACCOUNT",
        RateRule(10, 300),
        doc="sign-in attempts for one email from one address; a right password starts the "
        "count again. Failures from other addresses never lock the owner out.",
    )
    login_per_address: Rule = _setting(
        "TICKETBOOK_RATE_LOGIN_PER_ADDRESS",
        RateRule(30, 60),
        doc="sign-in attempts from one address, for any email",
    )
    login_per_account_all_addresses: Rule = _setting(
        "TICKETBOOK_RATE_LOGIN_PER_ACCOUNT_ALL_ADDRESSES",
        RateRule(50, 3600),
        doc="sign-in attempts for one email from all addresses together. Over it, an address "
        "that has failed for that email in its `TICKETBOOK_RATE_LOGIN_PER_ACCOUNT` window may "
        "not try again until that window ends; an address that has not failed still signs in",
    )
    register_per_account: Rule = _setting(
        "TICKETBOOK_RATE_REGISTER_PER_ACCOUNT",
        RateRule(5, 3600),
        doc="sign-ups tried with one email",
    )
    register_per_address: Rule = _setting(
        "TICKETBOOK_RATE_REGISTER_PER_ADDRESS", RateRule(20, 3600), doc="sign-ups from one address"
    )
    booking_per_account: Rule = _setting(
        "TICKETBOOK_RATE_BOOKING_PER_ACCOUNT",
        RateRule(30, 60),
        doc="booking requests by one user (guest or account)",
    )
    booking_per_address: Rule = _setting(
        "TICKETBOOK_RATE_BOOKING_PER_ADDRESS",
        RateRule(600, 60),
        doc="booking requests from one address",
    )
    guest_per_address: Rule = _setting(
        "TICKETBOOK_RATE_GUEST_PER_ADDRESS",
        RateRule(30, 3600),
        doc="new guests from one address: `POST /api/auth/guest`, and a page visitor's first "
        "booking (which creates its guest). Behind a shared address (a venue's Wi-Fi, carrier "
        "NAT) raise it",
    )
    transfer_per_account: Rule = _setting(
        "TICKETBOOK_RATE_TRANSFER_PER_ACCOUNT",
        RateRule(10, 3600),
        doc="ticket transfers by one account (`POST /api/tickets/{id}/transfer`, the ticket "
        "page's form)",
    )
    transfer_per_address: Rule = _setting(
        "TICKETBOOK_RATE_TRANSFER_PER_ADDRESS",
        RateRule(60, 3600),
        doc="ticket transfers from one address",
    )
    max_tickets_per_concert: int = _setting(
        "TICKETBOOK_MAX_TICKETS_PER_CONCERT",
        10,
        ge=1,
        doc="most tickets one user may hold or own (PENDING plus CONFIRMED) for one concert. "
        "Checked inside the hold statement; over it, a booking is 409 `TICKET_LIMIT_REACHED`.",
    )


class PasswordHashSettings(_Group):
    """argon2id cost. The defaults are RFC 9106's second recommendation (t=3, 64 MiB, p=4);
    lower them only where hashing speed matters more than guessing cost (the test suite)."""

    time_cost: int = _setting("TICKETBOOK_ARGON2_TIME_COST", 3, ge=1, le=20, doc="argon2id passes")
    memory_kib: int = _setting(
        "TICKETBOOK_ARGON2_MEMORY_KIB",
        64 * 1024,
        ge=8,
        le=4 * 1024 * 1024,
        shown="{default} (64 MiB)",
        doc="argon2id memory per hash, in KiB; at least 8 x `TICKETBOOK_ARGON2_PARALLELISM`",
    )
    parallelism: int = _setting(
        "TICKETBOOK_ARGON2_PARALLELISM", 4, ge=1, le=16, doc="argon2id lanes"
    )

    @model_validator(mode="after")
    def _memory_fits_lanes(self) -> Self:
        if self.memory_kib < 8 * self.parallelism:
            memory, lanes = (env_name(type(self), n) for n in ("memory_kib", "parallelism"))
            raise ValueError(
                f"{memory} must be at least 8 x {lanes} ({8 * self.parallelism}), "
                f"got {self.memory_kib}"
            )
        return self


SMTP_SECURITY = ("starttls", "tls", "none")


def _smtp_security(value: object) -> object:
    if not isinstance(value, str):
        return value
    if value.strip().lower() not in SMTP_SECURITY:
        raise ValueError(f"must be starttls, tls or none, got {value!r}")
    return value.strip().lower()


class MailSettings(_Group):
    """Outgoing mail: the SMTP server the outbox sends through (docs/tickets.md, Email)."""

    smtp_host: str | None = _setting(
        "TICKETBOOK_SMTP_HOST",
        None,
        shown="{default}: mail waits in the outbox",
        doc="SMTP server for confirmations and transfers. Unset: messages are kept in the "
        "outbox (nothing is lost) and one log line says so; they go once it is set",
    )
    smtp_port: int = _setting(
        "TICKETBOOK_SMTP_PORT", 587, ge=1, le=65535, doc="SMTP port (587 submission, 465 TLS)"
    )
    smtp_security: Annotated[str, BeforeValidator(_smtp_security)] = _setting(
        "TICKETBOOK_SMTP_SECURITY",
        "starttls",
        doc="`starttls` (required: a server without it is an error), `tls` (TLS from the "
        "first byte, port 465) or `none` (plain text: a relay on this host, the tests)",
    )
    smtp_username: str | None = _setting(
        "TICKETBOOK_SMTP_USERNAME", None, doc="SMTP AUTH user name; unset: no AUTH"
    )
    smtp_password: str | None = _setting(
        "TICKETBOOK_SMTP_PASSWORD",
        None,
        secret=True,
        doc="SMTP AUTH password (with `TICKETBOOK_SMTP_USERNAME`)",
    )
    from_address: str = _setting(
        "TICKETBOOK_MAIL_FROM",
        "TicketBook <tickets@localhost>",
        doc="the From of every message",
    )
    smtp_timeout_s: float = _setting(
        "TICKETBOOK_SMTP_TIMEOUT_S",
        10.0,
        gt=0,
        le=300,
        doc="longest wait for the SMTP server, per connection and per command",
    )
    interval_s: float = _setting(
        "TICKETBOOK_MAIL_INTERVAL_S",
        2.0,
        gt=0,
        le=3600,
        doc="how often each process's outbox sender looks for mail that is due, in seconds",
    )
    retry_base_s: float = _setting(
        "TICKETBOOK_MAIL_RETRY_BASE_S",
        30.0,
        gt=0,
        le=3600,
        doc="after a failed send the message waits this long, doubled at every further "
        "failure, up to an hour",
    )
    public_url: str = _setting(
        "TICKETBOOK_PUBLIC_URL",
        "http://127.0.0.1:8000",
        doc="where fans reach this site: the links in emails start with it",
    )


class Settings(_Group):
    """Everything TicketBook reads from the environment (docs/configuration.md lists it)."""

    # -- database and files
    database_url: str | None = _setting(
        "DATABASE_URL",
        None,
        group=DATABASE,
        contents_in="database_url_file",
        secret=True,
        doc="PostgreSQL (15 or newer) to use. Unset: the embedded PostgreSQL 18 in "
        "`<data dir>/pgdata`, started on demand.",
    )
    database_url_file: UserPath | None = _setting(
        "DATABASE_URL_FILE",
        None,
        group=DATABASE,
        doc="a file holding `DATABASE_URL`, so its password stays out of the environment. "
        "With several workers each reads the file itself. Not together with `DATABASE_URL`.",
    )
    read_database_url: str | None = _setting(
        "READ_DATABASE_URL",
        None,
        group=DATABASE,
        contents_in="read_database_url_file",
        shown="{default}: the primary",
        secret=True,
        doc="a read-only copy of that database (a streaming replica) for catalog reads (which "
        "ones: below the table). Same URL forms as `DATABASE_URL`.",
    )
    read_database_url_file: UserPath | None = _setting(
        "READ_DATABASE_URL_FILE",
        None,
        group=DATABASE,
        doc="a file holding `READ_DATABASE_URL`. Not together with `READ_DATABASE_URL`.",
    )
    data_dir: UserPath = _setting(
        "TICKETBOOK_DATA_DIR",
        group=DATABASE,
        default_factory=default_data_dir,
        shown="`$XDG_DATA_HOME/ticketbook`, or `~/.local/share/ticketbook` when "
        "`XDG_DATA_HOME` is unset",
        doc="where the embedded database and the signing key live (`~` is expanded)",
    )
    auto_migrate: Flag = _setting(
        "TICKETBOOK_AUTO_MIGRATE",
        True,
        group=DATABASE,
        doc="apply pending migrations when `serve` or `seed` starts. False: if the schema is "
        "behind the code, refuse to start (exit 2) until `ticketbook migrate` has run.",
    )

    # -- server
    host: str = _setting(
        "TICKETBOOK_HOST",
        "127.0.0.1",
        group=SERVER,
        doc="bind address (`ticketbook serve --host`, `make run HOST=…` override it)",
    )
    port: int = _setting(
        "TICKETBOOK_PORT", 8000, group=SERVER, doc="port (`--port`, `make run PORT=…` override it)"
    )
    environment: Annotated[str, BeforeValidator(_environment)] = _setting(
        "TICKETBOOK_ENV",
        "development",
        group=SERVER,
        doc="`development` or `production` (any case); anything else stops the command. "
        "`production` refuses to start without a strong, explicit signing key: see "
        "[Production](#production).",
    )
    secret_key: str | None = _setting(
        "TICKETBOOK_SECRET_KEY",
        None,
        group=SERVER,
        contents_in="secret_key_file",
        shown="{default}: generated into `<data dir>/secret_key` (development only)",
        secret=True,
        doc="key that signs bearer tokens and session cookies. Running on several hosts, set "
        "the same value everywhere, or a token issued by one host is refused by another.",
    )
    # Also the record of where secret_key came from (check_production_key looks at it).
    secret_key_file: UserPath | None = _setting(
        "TICKETBOOK_SECRET_KEY_FILE",
        None,
        group=SERVER,
        doc="a file holding the signing key instead (whitespace stripped). In production it "
        "must lie outside the source checkout. Not together with `TICKETBOOK_SECRET_KEY`.",
    )
    forwarded_allow_ips: ProxyList = _setting(
        "TICKETBOOK_FORWARDED_ALLOW_IPS",
        "127.0.0.1",
        group=SERVER,
        doc="proxies whose `X-Forwarded-Proto` and `X-Forwarded-For` are believed: "
        "comma-separated addresses and networks (`10.0.0.0/8`), `*` for any peer (one hop: "
        "only when nothing else can reach the port), or `none`. The client is the first "
        "address from the right of `X-Forwarded-For` that is not one of them; a malformed one "
        "is ignored. The scheme they report decides `Strict-Transport-Security` and the "
        "session cookie's `Secure` flag: see "
        "[HTTPS behind a proxy](#security-headers-and-https-behind-a-proxy).",
    )
    max_body_bytes: int = _setting(
        "TICKETBOOK_MAX_BODY_BYTES",
        64 * 1024,
        group=SERVER,
        doc="larger request bodies get 413 before they are read",
    )
    max_header_bytes: int = _setting(
        "TICKETBOOK_MAX_HEADER_BYTES",
        16 * 1024,
        group=SERVER,
        ge=1024,
        le=1024 * 1024,
        shown="{default} (16 KiB)",
        doc="longest request line plus headers; a longer head gets 431 once this much is read "
        "(Node's and h11's default)",
    )
    header_timeout_s: float = _setting(
        "TICKETBOOK_HEADER_TIMEOUT_S",
        10.0,
        group=SERVER,
        gt=0,
        le=3600,
        doc="a request's line and headers must arrive within this many seconds of the "
        "connection opening (or of the request's first byte on a kept-alive connection); "
        "else 408 and the connection is closed (an idle new connection just closed)",
    )
    body_timeout_s: float = _setting(
        "TICKETBOOK_BODY_TIMEOUT_S",
        30.0,
        group=SERVER,
        gt=0,
        le=3600,
        doc="a request's body must arrive within this many seconds of its headers; else 408 "
        "and the connection is closed",
    )
    keep_alive_timeout_s: int = _setting(
        "TICKETBOOK_KEEP_ALIVE_TIMEOUT_S",
        5,
        group=SERVER,
        ge=1,
        le=3600,
        doc="an idle kept-alive connection is closed after this many whole seconds (uvicorn's "
        "`timeout_keep_alive`). Behind a proxy that reuses connections, make it longer than "
        "the proxy's idle timeout",
    )
    graceful_timeout_s: int = _setting(
        "TICKETBOOK_GRACEFUL_TIMEOUT_S",
        10,
        group=SERVER,
        doc="on SIGTERM, how long open requests may run before the server exits anyway "
        "(whole seconds)",
    )
    access_log: Flag = _setting(
        "TICKETBOOK_ACCESS_LOG",
        False,
        group=SERVER,
        doc="log every request as a JSON line (5xx answers are logged regardless)",
    )
    enable_test_routes: Flag = _setting(
        "TICKETBOOK_ENABLE_TEST_ROUTES",
        False,
        group=SERVER,
        doc="mount `POST /api/_test/naive-bookings`, a deliberately unsafe booking used by the "
        "race test. **Never enable in production.**",
    )

    # -- accounts
    session_ttl_s: int = _setting(
        "TICKETBOOK_SESSION_TTL_S",
        30 * 24 * 3600,
        group=ACCOUNTS,
        ge=60,
        le=400 * 24 * 3600,
        shown="{default} (30 days)",
        doc="how long a sign-in lasts (API token or page session) before it must be renewed, "
        "in seconds. Logging out ends it earlier.",
    )
    password_hash: PasswordHashSettings = Field(
        default_factory=PasswordHashSettings,
        description="argon2id cost",
        json_schema_extra={"group": ACCOUNTS},
    )

    # -- abuse limits
    limits: LimitSettings = Field(
        default_factory=LimitSettings,
        description="request rates and the per-concert ticket cap",
        json_schema_extra={"group": LIMITS},
    )

    # -- booking and the reaper
    hold_seconds: float = _setting(
        "TICKETBOOK_HOLD_SECONDS",
        600.0,
        group=BOOKING,
        gt=0,
        doc="how long a `PENDING` booking holds its tickets. Keep it well above the payment "
        "timeout: a payment that succeeds after the hold has run out ends as `EXPIRED` and is "
        "refunded.",
    )
    reaper_interval_s: float = _setting(
        "TICKETBOOK_REAPER_INTERVAL_S",
        5.0,
        group=BOOKING,
        doc="pause between reaper rounds, in each app process",
    )
    reaper_batch_size: int = _setting(
        "TICKETBOOK_REAPER_BATCH_SIZE",
        500,
        group=BOOKING,
        doc="holds expired per statement; full batches are drained back to back",
    )

    # -- database connections
    pool_min_size: int = _setting(
        "TICKETBOOK_POOL_MIN_SIZE",
        2,
        group=CONNECTIONS,
        ge=1,
        doc="connections each process keeps open",
    )
    pool_max_size: int = _setting(
        "TICKETBOOK_POOL_MAX_SIZE",
        10,
        group=CONNECTIONS,
        doc="most connections per process, at least `TICKETBOOK_POOL_MIN_SIZE`",
    )
    connect_timeout_s: float = _setting(
        "TICKETBOOK_CONNECT_TIMEOUT_S",
        5.0,
        group=CONNECTIONS,
        doc="timeout for opening a new connection (asyncpg's connect `timeout`)",
    )
    startup_database_wait_s: float = _setting(
        "TICKETBOOK_STARTUP_DATABASE_WAIT_S",
        30.0,
        ge=0,
        group=CONNECTIONS,
        doc="how long a starting worker waits for an unreachable database before it gives up. "
        "A worker (re)started during a database outage waits instead of failing its start-up, "
        "which would stop the whole server",
    )
    pool_acquire_timeout_s: float = _setting(
        "TICKETBOOK_POOL_ACQUIRE_TIMEOUT_S",
        2.0,
        group=CONNECTIONS,
        doc="longest wait for a free connection when all are busy; then the request gets 503 "
        "with `Retry-After: 1` instead of queueing forever. A booking's settle, which runs "
        "after its payment, waits up to 30 s instead",
    )
    pgbouncer: Flag = _setting(
        "TICKETBOOK_PGBOUNCER",
        False,
        group=CONNECTIONS,
        doc="`DATABASE_URL` (and `READ_DATABASE_URL`) lead to PgBouncer in transaction mode. "
        "The app then sends only `application_name` at connection start (the other four "
        "settings below must come from the role: "
        "[operations.md](operations.md#behind-pgbouncer)), turns the statement cache off unless "
        "`TICKETBOOK_STATEMENT_CACHE_SIZE` is set, and warns at start when the role's settings "
        "differ from the configured ones. Requires `TICKETBOOK_LIVE_DATABASE_URL`.",
    )
    statement_cache_size: int = _setting(
        "TICKETBOOK_STATEMENT_CACHE_SIZE",
        group=CONNECTIONS,
        default_factory=lambda data: 0 if data.get("pgbouncer") else 1024,
        shown="`1024`; `0` with `TICKETBOOK_PGBOUNCER`",
        doc="prepared statements asyncpg caches per connection. `0` turns the cache off: "
        "asyncpg then sends unnamed statements, which PgBouncer's transaction mode can carry.",
    )
    live_database_url: str | None = _setting(
        "TICKETBOOK_LIVE_DATABASE_URL",
        None,
        group=CONNECTIONS,
        shown="{default}: `DATABASE_URL`",
        secret=True,
        doc="a direct connection (not through PgBouncer in transaction mode) for live "
        "availability, which needs a session of its own for `LISTEN` and for the publisher's "
        "advisory lock ([pages.md](pages.md#live-availability)); one per process",
    )
    live_poll_interval_s: float = _setting(
        "TICKETBOOK_LIVE_POLL_INTERVAL_S",
        0.2,
        group=CONNECTIONS,
        ge=0.01,
        le=60,
        doc="how often the live-availability publisher (one process in the deployment) reads "
        "the tier counts and announces the changed ones, in seconds",
    )
    lock_timeout_ms: int = _setting(
        "TICKETBOOK_LOCK_TIMEOUT_MS",
        2000,
        group=CONNECTIONS,
        doc="PostgreSQL `lock_timeout`: a statement waiting longer for a lock fails, and the "
        "request gets 503 with `Retry-After: 1`",
    )
    statement_timeout_ms: int = _setting(
        "TICKETBOOK_STATEMENT_TIMEOUT_MS",
        10000,
        group=CONNECTIONS,
        doc="PostgreSQL `statement_timeout`: same, for a statement running too long",
    )

    # -- simulated payments
    payment: PaymentSettings = Field(
        default_factory=PaymentSettings,
        description="the simulated payment provider",
        json_schema_extra={"group": PAYMENTS},
    )

    # -- outgoing mail
    mail: MailSettings = Field(
        default_factory=MailSettings,
        description="the SMTP server and the outbox sender",
        json_schema_extra={"group": MAIL},
    )

    @property
    def pgdata_dir(self) -> Path:
        return self.data_dir / "pgdata"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        def env(name: str) -> str:
            return env_name(Settings, name)

        if self.pool_max_size < self.pool_min_size:
            raise ValueError(
                f"{env('pool_max_size')} must be at least {env('pool_min_size')} "
                f"({self.pool_min_size}), got {self.pool_max_size}"
            )
        if self.pgbouncer and self.database_url and not self.live_database_url:
            raise ValueError(
                f"{env('pgbouncer')}=1 needs {env('live_database_url')}: live availability "
                "LISTENs on a session of its own, which PgBouncer's transaction mode can't give"
            )
        return self
