"""Alembic, driven from code: upgrade to head, or tell whether migrations are pending."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from ticketbook.db.urls import asyncpg_dsn, sqlalchemy_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
    assert head is not None, "no migrations found"
    return head


async def current_revision(database_url: str) -> str | None:
    # No named prepared statements: this check may go through PgBouncer in transaction mode.
    conn = await asyncpg.connect(asyncpg_dsn(database_url), statement_cache_size=0)
    try:
        exists = await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not exists:
            return None
        revision: str | None = await conn.fetchval("SELECT version_num FROM alembic_version")
        return revision
    finally:
        await conn.close()


class MigrationsPending(RuntimeError):
    """The database schema is older than this code."""


def ensure_migrated(database_url: str, *, auto_migrate: bool) -> None:
    """Apply pending migrations, or refuse with a clear message when auto-migration is off."""
    current = asyncio.run(current_revision(database_url))
    head = head_revision()
    if current == head:
        return
    if not auto_migrate:
        raise MigrationsPending(
            f"database schema is at {current or 'nothing'}, this code needs {head}: "
            "run `ticketbook migrate`, or let the server migrate at start "
            "(TICKETBOOK_AUTO_MIGRATE=1)"
        )
    upgrade_to_head(database_url)
