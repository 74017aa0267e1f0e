"""Browser tests: Python Playwright driving Debian's Chromium (/usr/bin/chromium; never
`playwright install`). Without Chromium they are skipped with the reason, except under
CI=true, where they fail.

Playwright's sync API runs an event loop in this thread, so the asyncio-based database
helpers are called through ``off_loop`` (in a worker thread) once a browser is open; servers
and databases are created before the browser starts.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support import inventory
from tests.support.databases import DatabaseFactory
from tests.support.server import LiveServer

CHROMIUM = Path(os.environ.get("TICKETBOOK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 375, "height": 812}
T = TypeVar("T")
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-helper")


def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an asyncio-based helper outside Playwright's event loop."""
    return _pool.submit(fn, *args, **kwargs).result()


def require_chromium() -> None:
    missing = None
    if not CHROMIUM.exists():
        missing = f"Chromium not found at {CHROMIUM} (install it: apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (make install)"
    if missing is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests must run in CI: {missing}", pytrace=False)
    pytest.skip(f"browser tests skipped: {missing}")


@dataclass
class Shop:
    """A running TicketBook (real server processes) on its own database."""

    server: LiveServer
    db_url: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def concert(self, quantities: dict[str, int], price_cents: int = 1000) -> dict[str, Any]:
        return off_loop(inventory.make_concert, self.db_url, quantities, price_cents)

    def tier_counts(self, tier_id: str) -> dict[str, int]:
        return off_loop(inventory.tier_counts, self.db_url, tier_id)

    def fetch(self, sql: str, *args: Any) -> list[Any]:
        return off_loop(inventory.fetch, self.db_url, sql, *args)

    def fetchval(self, sql: str, *args: Any) -> Any:
        return off_loop(inventory.fetchval, self.db_url, sql, *args)

    def bookings_of(self, user_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = self.fetch(
            "SELECT b.id, b.status, b.quantity, b.tier_id, k.key AS idempotency_key"
            "  FROM bookings b LEFT JOIN idempotency_keys k ON k.booking_id = b.id"
            " WHERE b.user_id = $1 ORDER BY b.created_at",
            user_id,
        )
        return [dict(r) for r in rows]


def start_shop(databases: DatabaseFactory, data_dir: Path, **env: str) -> Shop:
    db_url = databases.fresh()
    server = LiveServer(
        db_url, data_dir, {"TICKETBOOK_PAYMENT_SUCCESS_RATE": "1", **env}, workers=2
    ).start()
    return Shop(server, db_url)


@pytest.fixture(scope="module")
def shop(databases: DatabaseFactory, data_dir: Path) -> Iterator[Shop]:
    """A 2-worker server whose payments always succeed (modules may override this)."""
    require_chromium()
    shop = start_shop(databases, data_dir)
    try:
        yield shop
    finally:
        shop.server.stop()


@pytest.fixture(scope="module")
def browser(shop: Shop) -> Iterator[Any]:
    """Chromium, started after the module's server (see the module docstring)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(browser: Any, shop: Shop) -> Iterator[Callable[..., Any]]:
    """Open browser contexts (separate visitors); each fails the test on a script error."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_context(**options: Any) -> Any:
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(base_url=shop.base_url, **options)
        context.set_default_timeout(10_000)
        context.on("weberror", lambda e: errors.append(str(e.error)))
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    assert not errors, f"script errors in the page: {errors}"


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    return new_context().new_page()


def session_user(context: Any) -> uuid.UUID:
    cookie = next(c for c in context.cookies() if c["name"] == "tb_session")
    return uuid.UUID(hex=cookie["value"].partition(".")[0])
