"""Health and outages: a database that goes away gives prompt 503s, and the app recovers."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.databases import private_postgres
from tests.support.server import LiveServer
from tests.support.waiting import wait_until


def test_health_reports_database_reachability_and_recovers(tmp_path: Path) -> None:
    """Its own embedded PostgreSQL, so the test can stop and restart it."""
    with private_postgres() as pg:
        server = LiveServer(pg.database_url, tmp_path, {}, workers=1).start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                ok = client.get("/api/health-check")
                assert ok.status_code == 200
                assert ok.json() == {"success": True, "status": "ok", "database": "reachable"}

                pg.stop()
                down = client.get("/api/health-check")
                assert down.status_code == 503
                assert down.json()["database"] == "unreachable"
                assert down.headers["Retry-After"] == "1"
                listing = client.get("/api/concerts")
                assert listing.status_code == 503
                assert listing.json()["error"] == "SERVICE_UNAVAILABLE"
                assert client.post("/api/auth/guest").status_code == 503
                assert client.get("/api/ready").status_code == 503

                pg.start()
                wait_until(
                    lambda: client.get("/api/health-check").status_code == 200,
                    "the app finds the restarted database by itself",
                    timeout_s=20,
                    interval_s=0.2,
                )
                assert client.get("/api/concerts").status_code == 200
        finally:
            server.stop()
