"""Readiness follows the schema revision; liveness is a separate question. (Moved from
tests/system/test_observability.py.)"""

from __future__ import annotations

from tests.http.conftest import AppFactory
from tests.support.inventory import execute


def test_readiness_follows_the_schema_revision(db_url: str, start_app: AppFactory) -> None:
    app = start_app(db_url)
    with app.client() as client:
        ready = client.get("/api/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
        assert ready.json()["schemaRevision"] == ready.json()["expectedRevision"]

        execute(db_url, "UPDATE alembic_version SET version_num = 'future'")
        not_ready = client.get("/api/ready")
        assert not_ready.status_code == 503
        assert not_ready.json()["schemaRevision"] == "future"
        assert not_ready.headers["Retry-After"] == "1"
        # Liveness is a separate question: the process and the database are fine.
        assert client.get("/api/health-check").status_code == 200
