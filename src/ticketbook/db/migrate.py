"""Alembic, driven from code: upgrade to head, or tell whether migrations are pending.

Alembic (and SQLAlchemy under it) is imported only to migrate: importing it costs every
server worker seconds of CPU at start, and a worker only needs the head revision's name,
which ``head_revision`` reads from the migration files (a unit test holds it to Alembic's).
"""

from __future__ import annotations

import asyncio
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from ticketbook.db.urls import asyncpg_dsn, sqlalchemy_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*(?:"([^"]*)"|None)', re.MULTILINE)


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


@cache
def head_revision() -> str:
    """The one revision no other migration builds on (migrations form a single line)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION.findall(script.read_text()):
            if value:
                (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    assert len(heads) == 1, f"expected one head migration, found {sorted(heads)}"
    return heads.pop()


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
