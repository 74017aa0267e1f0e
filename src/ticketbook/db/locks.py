"""Every PostgreSQL advisory lock the system takes, in one registry (after pretix's
``locking.py`` key spaces), so two jobs can never pick the same id by accident.

PostgreSQL keeps one-key (bigint) and two-key (int, int) advisory locks apart, so the two
enums below can't collide with each other; a test checks each value is used where it says.
"""

from __future__ import annotations

from enum import IntEnum


class JobLock(IntEnum):
    """One-key locks: a job that must run in one process at a time across all hosts."""

    MIGRATIONS = 7_294_311  # alembic upgrade: concurrent starts queue (transaction lock)
    REAPER = 7_294_312  # expiring holds: batches lock several stock rows (try, transaction)
    SEED = 7_294_313  # loading the demo data once (transaction lock)
    LIVE_PUBLISHER = 7_294_314  # the one process that NOTIFYs changed counts (session lock)
    RATE_LIMIT_PRUNE = 7_294_315  # dropping rate-limit windows that are over (try, transaction)


class LockSpace(IntEnum):
    """Two-key locks: the first key names the space, the second (a hash) the thing locked."""

    # tb_tickets_held (migration 0002): one fan's holds on one concert, for the per-fan cap.
    FAN_CONCERT = 7243
    # queue/draw.py: one on-sale's draw (try, transaction): the losers don't wait for it.
    QUEUE_DRAW = 7244
