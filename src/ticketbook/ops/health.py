"""Health probes: does the database answer, and is its schema at this code's migration?
The HTTP routes (``api/routes/health.py``) turn these into answers for a load balancer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ticketbook.db.migrate import head_revision
from ticketbook.db.pool import Database
from ticketbook.ops import queries


@dataclass(frozen=True)
class DatabaseState:
    reachable: bool
    # The schema's revision (None when unreachable, or never migrated) and this code's.
    revision: str | None
    expected_revision: str

    @property
    def ready(self) -> bool:
        return self.reachable and self.revision == self.expected_revision


async def database_answers(db: Database, timeout_s: float) -> bool:
    """True when the database answers a trivial query within ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            await db.fetchval(queries.PING_SQL)
    except Exception:
        return False
    return True


async def database_state(db: Database, timeout_s: float) -> DatabaseState:
    """Whether the database answers within ``timeout_s``, and at which schema revision."""
    expected = head_revision()
    try:
        async with asyncio.timeout(timeout_s):
            revision = await db.fetchval(queries.SCHEMA_REVISION_SQL)
    except Exception:
        return DatabaseState(reachable=False, revision=None, expected_revision=expected)
    return DatabaseState(reachable=True, revision=revision, expected_revision=expected)
