"""A worker that starts while the database is down waits for it instead of failing its
start-up: uvicorn's supervisor stops the whole server when one worker's start-up fails, so
a worker restarted during an outage would otherwise take every worker down with it (CI met
this: a slow second worker started inside the restart test's outage)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.databases import PrivatePostgres, private_postgres
from tests.support.server import LiveServer
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    """One private server for both tests (each leaves it running): starting one costs an
    initdb."""
    with private_postgres() as server:
        yield server


def _restart_a_worker_during_outage(pg: PrivatePostgres, server: LiveServer) -> None:
    """Stop the database, kill a worker and let the supervisor start its replacement, which
    meets the outage on its start-up."""
    first = server.worker_processes()
    assert len(first) == 2
    pg.stop()
    os.kill(first[0].pid, signal.SIGKILL)
    wait_until(
        lambda: (
            server.process is not None
            and (
                server.process.poll() is not None
                or "database unreachable at start-up" in server.log_path.read_text()
            )
        ),
        "the replacement worker met the outage (or the server stopped)",
        timeout_s=20,
        interval_s=0.05,
    )


def test_a_worker_started_during_an_outage_waits_for_the_database(
    pg: PrivatePostgres, tmp_path: Path
) -> None:
    server = LiveServer(pg.database_url, tmp_path, {}, workers=2).start()
    try:
        _restart_a_worker_during_outage(pg, server)
        pg.start()
        assert server.process is not None
        # Both workers serve again: the replacement finished its start-up.
        wait_until(lambda: len(server.worker_processes()) == 2, "two workers again", timeout_s=20)
        wait_until(
            lambda: (
                "Application startup complete"
                in server.log_path.read_text().rpartition("database unreachable at start-up")[2]
            ),
            "the replacement worker completed its start-up",
            timeout_s=30,
        )
        assert server.process.poll() is None, "the server stopped"
        response = httpx.get(f"{server.base_url}/api/concerts", timeout=5)
        assert response.status_code == 200
    finally:
        server.stop()
        pg.start()  # running again for the next test, also when this one failed midway


def test_control_without_the_wait_the_outage_stops_the_server(
    pg: PrivatePostgres, tmp_path: Path
) -> None:
    """The control: with no wait, the same restart stops the whole server, so the test above
    can tell."""
    server = LiveServer(
        pg.database_url, tmp_path, {"TICKETBOOK_STARTUP_DATABASE_WAIT_S": "0"}, workers=2
    ).start()
    try:
        _restart_a_worker_during_outage(pg, server)
        assert server.process is not None
        wait_until(
            lambda: server.process is not None and server.process.poll() is not None,
            "the server stopped",
            timeout_s=30,
        )
        assert "Application startup failed" in server.log_path.read_text()
    finally:
        server.stop()
        pg.start()
