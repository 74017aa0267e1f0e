"""The TicketBook ASGI app in the test's own process, for the http layer (tests/http).

`InProcessApp` builds the app with `ticketbook.app.build_app` over a migrated database, runs
its lifespan (pool, reaper, live hub) once on an event loop of its own thread, and hands out
clients that all talk to that one app: `app.client()` is a Starlette `TestClient`, a real
`httpx.Client` with its own cookie jar, so test bodies use `client.get/post` and the helpers in
tests/support/api.py exactly as they did over a socket. `app.run(fn, ...)` runs a coroutine on
the app's loop, where `app.async_client()` sends truly concurrent requests (each its own
transaction in PostgreSQL).

The settings come from the same environment variables `ticketbook serve` reads (one place to
say what a test changes), with the production defaults for everything a test doesn't name:
the per-fan cap and the rate limits stay on unless a test lifts them itself.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from ticketbook.app import build_app
from ticketbook.payments.gateway import PaymentGateway
from ticketbook.settings import RATE_RULE_NAMES, Settings

with warnings.catch_warnings():
    # Starlette would rather have "httpx2"; httpx is what the project locks and uses.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

T = TypeVar("T")

# One signing key for every in-process app of this test run (servers that share a data
# directory share the key they generate there in the same way).
SESSION_KEY = secrets.token_urlsafe(48)

# What a test app changes from the production defaults: instant payments that succeed, the
# test-only routes, a cheaper (still argon2id) hash because the suite registers hundreds of
# accounts. Nothing else: the abuse limits and the per-fan cap are the production ones.
TEST_ENV = {
    "TICKETBOOK_SECRET_KEY": SESSION_KEY,
    "TICKETBOOK_PAYMENT_SUCCESS_RATE": "1",
    "TICKETBOOK_PAYMENT_LATENCY_MS": "0",
    "TICKETBOOK_PAYMENT_LATENCY_JITTER_MS": "0",
    "TICKETBOOK_ENABLE_TEST_ROUTES": "1",
    "TICKETBOOK_ARGON2_TIME_COST": "1",
    "TICKETBOOK_ARGON2_MEMORY_KIB": "8192",
    "TICKETBOOK_ARGON2_PARALLELISM": "1",
}

# Every rate rule's variable (TICKETBOOK_RATE_LOGIN_PER_ACCOUNT, ...).
RATE_LIMIT_VARIABLES = tuple(f"TICKETBOOK_RATE_{name.upper()}" for name in RATE_RULE_NAMES)

# The address every in-process client connects from: the loopback, as over a real socket,
# so X-Forwarded-For/-Proto are trusted exactly as `ticketbook serve` trusts them by default.
CLIENT_ADDRESS = ("127.0.0.1", 50000)
BASE_URL = "http://testserver"
_visitors = itertools.count(1)


def visitor_address() -> str:
    """A new fan's own address (198.18.0.0/15, the benchmarking range), as a local proxy
    reports it in X-Forwarded-For: visitors don't share the per-address limits by accident."""
    n = next(_visitors)
    return f"198.{18 + (n >> 16) % 2}.{(n >> 8) % 256}.{n % 256}"


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set these environment variables for the block, then put everything back."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def app_settings(data_dir: Path, **env: str) -> Settings:
    """Settings as `ticketbook serve` would read them from TEST_ENV plus ``env``."""
    with environment({**TEST_ENV, "TICKETBOOK_DATA_DIR": str(data_dir), **env}):
        return Settings.from_env()


class InProcessClient(TestClient):
    """A TestClient that shares its app's running loop and lifespan instead of starting its
    own, and behaves like a plain httpx.Client (no redirects followed, a timeout accepted)."""

    __test__ = False
    owner: InProcessApp
    address: str  # where this visitor's requests come from, as the app sees it

    def visitor(self, **kwargs: Any) -> InProcessClient:
        """Another visitor of the same app (a browser of its own: no cookies shared)."""
        return self.owner.client(**kwargs)

    def __enter__(self) -> InProcessClient:  # type: ignore[override]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        kwargs.pop("timeout", None)  # nothing here waits on a network
        return super().request(method, url, **kwargs)


class InProcessApp:
    """One running app; `client()` as often as a test needs visitors with their own cookies."""

    base_url = BASE_URL

    def __init__(
        self,
        database_url: str,
        settings: Settings,
        gateway: PaymentGateway | None = None,
        run_background_jobs: bool = True,
    ) -> None:
        self.database_url = database_url
        self.settings = settings
        self.app: FastAPI = build_app(
            settings,
            database_url=database_url,
            gateway=gateway,
            run_background_jobs=run_background_jobs,
        )
        # The app reads X-Forwarded-For/-Proto itself (http/forwarded.py), as under `serve`.
        self.asgi = self.app
        self._root: TestClient | None = None

    def start(self) -> InProcessApp:
        # A plain TestClient entered once: it starts the loop's thread and runs the lifespan.
        root = TestClient(self.asgi, base_url=BASE_URL, client=CLIENT_ADDRESS)
        root.__enter__()
        self._root = root
        return self

    def stop(self) -> None:
        if self._root is not None:
            root, self._root = self._root, None
            root.__exit__(None, None, None)

    def __enter__(self) -> InProcessApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def services(self) -> Any:
        """The composition root's services, as the running app built them."""
        return self.app.state.services

    def client(self, address: str | None = None, **kwargs: Any) -> InProcessClient:
        """A new visitor: its own cookie jar and its own address (``address``, or a fresh one
        from `visitor_address`), reported by the trusted loopback proxy in X-Forwarded-For;
        ``address="127.0.0.1"`` is a visitor on the server's machine, with no proxy."""
        assert self._root is not None and self._root.portal is not None, "start() the app first"
        address = address or visitor_address()
        if address != CLIENT_ADDRESS[0]:
            kwargs["headers"] = {"X-Forwarded-For": address, **kwargs.get("headers", {})}
        kwargs.setdefault("base_url", BASE_URL)
        kwargs.setdefault("follow_redirects", False)
        kwargs.setdefault("client", CLIENT_ADDRESS)
        kwargs.setdefault("raise_server_exceptions", False)  # a 500 is an answer, as over HTTP
        client = InProcessClient(self.asgi, **kwargs)
        client.portal = self._root.portal
        client.owner = self
        client.address = address
        return client

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An AsyncClient for coroutines run by `run()` (on the app's own loop)."""
        transport = httpx.ASGITransport(app=self.asgi, client=CLIENT_ADDRESS)
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL, **kwargs)

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` on the app's loop (where its pool lives) and return its result."""
        assert self._root is not None and self._root.portal is not None, "start() the app first"
        return self._root.portal.call(fn, *args)
