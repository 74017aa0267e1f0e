"""Advisory locks come from one registry (db/locks.py): the ids are distinct, the database
function takes the lock the registry names, and no code takes one by a bare number."""

from __future__ import annotations

import re
from pathlib import Path

import ticketbook
from tests.support.inventory import fetchval
from ticketbook.db.locks import JobLock, LockSpace

SOURCE = Path(ticketbook.__file__).parent
# Migrations are frozen history: they keep the numbers they were written with.
FROZEN = SOURCE / "db" / "migrations" / "versions"


def test_ids_are_distinct() -> None:
    assert len({int(lock) for lock in JobLock}) == len(JobLock)
    assert len({int(space) for space in LockSpace}) == len(LockSpace)


def test_the_per_fan_cap_function_takes_the_registered_lock(db_url: str) -> None:
    definition = fetchval(db_url, "SELECT pg_get_functiondef('tb_tickets_held'::regproc)")
    assert f"pg_advisory_xact_lock({int(LockSpace.FAN_CONCERT)}," in definition


def test_no_code_takes_an_advisory_lock_by_a_bare_number() -> None:
    bare = re.compile(r"advisory\w*\(\s*\d")
    offenders = [
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if FROZEN not in path.parents and bare.search(path.read_text())
    ]
    assert offenders == []
