"""Fixtures: a real PostgreSQL (embedded 18 by default, TEST_DATABASE_URL to use another),
fresh migrated databases, and real server processes.

The suite has four layers, one folder and one marker each (registered in pyproject.toml):
tests/unit (no database), tests/service (real PostgreSQL, in-process), tests/http (the ASGI
app in-process) and tests/system (real processes). The marker comes from the folder, so a
test can't carry the wrong one: `pytest -m "not system"` is the fast suite.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.databases import DatabaseFactory, embedded_postgres
from tests.support.server import LiveServer
from ticketbook.observability.logs import JsonFormatter


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with embedded_postgres("tb-test-pg-") as server:
        url = server.get_uri()
        asyncio.run(_throwaway(url))
        yield url


async def _throwaway(url: str) -> None:
    """The session's own cluster is deleted at the end, so it needn't survive a power cut:
    no fsync, no waiting for WAL flushes. Locks, constraints and visibility are the same
    (durability is all that changes); its shutdown checkpoint and deletion go from seconds
    to under one. Servers the tests stop and restart (tests/support/databases.py's
    private_postgres) keep the defaults, and a TEST_DATABASE_URL server is never touched."""
    conn = await asyncpg.connect(url)
    try:
        for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
            await conn.execute(f"ALTER SYSTEM SET {setting}")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def databases(admin_url: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(admin_url)
    factory.prepare_template()
    try:
        yield factory
    finally:
        # On someone else's server, leave nothing behind. The embedded one is deleted whole
        # at the end of the session, so dropping its databases one by one first (seconds,
        # for the hundred or so a run makes) would buy nothing.
        if os.environ.get("TEST_DATABASE_URL"):
            factory.drop_all()


@pytest.fixture
def db_url(databases: DatabaseFactory) -> str:
    """A fresh, migrated, empty database for this test."""
    return databases.fresh()


@pytest.fixture(autouse=True)
def _no_terminal_logging_left_behind() -> Iterator[None]:
    """A command run in-process (``ticketbook.cli.main.main``) configures logging as for a
    terminal: a JSON handler on this test's captured stderr, which every later test's logs
    would then be written to, after the capture has closed ("--- Logging error ---")."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in root.handlers[:]:
        if isinstance(handler.formatter, JsonFormatter):
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


ServerFactory = Callable[..., LiveServer]

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "service", "http", "system")
# Folders of tests/system with a marker of their own, so a run can leave them out.
KINDS = ("browser", "fuzz")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with the layer its folder names (and tests/system/browser and /fuzz
    with `browser` and `fuzz`); a test outside the four layers is a usage error."""
    for item in items:
        try:
            parts = Path(item.path).resolve().relative_to(TESTS).parts
        except ValueError:
            parts = ()
        layer = parts[0] if len(parts) > 1 else ""
        if layer not in LAYERS:
            raise pytest.UsageError(
                f"{item.nodeid}: every test lives in one of tests/{{{','.join(LAYERS)}}}"
            )
        item.add_marker(getattr(pytest.mark, layer))
        if layer == "system" and parts[1] in KINDS:
            item.add_marker(getattr(pytest.mark, parts[1]))


@pytest.fixture
def start_server(data_dir: Path) -> Iterator[ServerFactory]:
    """Start real `ticketbook serve` processes; all are stopped after the test."""
    servers: list[LiveServer] = []

    def start(database_url: str, workers: int = 2, **env: str) -> LiveServer:
        server = LiveServer(database_url, data_dir, env, workers=workers).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def shared_db(databases: DatabaseFactory) -> str:
    """One database for a module's tests that don't need isolation from each other."""
    return databases.fresh()


@pytest.fixture(scope="module")
def shared_server(shared_db: str, data_dir: Path) -> Iterator[LiveServer]:
    """One 2-worker server for a module; payments always succeed unless a test says otherwise."""
    server = LiveServer(
        shared_db, data_dir, {"TICKETBOOK_PAYMENT_SUCCESS_RATE": "1"}, workers=2
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(shared_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_server.base_url, timeout=30) as c:
        yield c
