"""The draw: who joined before the on-sale is put in a random order anyone can recompute.

The order of the early joiners is ascending SHA-256(seed || join id as ASCII), ties (never
seen in practice: 256-bit digests) broken by the join id. The seed is secret until the draw;
its SHA-256 is published from the moment the on-sale is set, so the seed can't be chosen
after the join ids are known. Given the revealed seed and the list of join ids, anyone can
recompute the order with `hashlib` alone (``order``, docs/queue.md); the database computes
the same with its own ``sha256()`` in one statement (``ASSIGN_POSITIONS_SQL``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ticketbook.db.locks import LockSpace

SEED_BYTES = 32
JOIN_ID_HEX = 16


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def seed_hash(seed: bytes) -> bytes:
    return hashlib.sha256(seed).digest()


def new_join_id() -> str:
    """A fan's anonymised id in one queue: 16 lowercase hex digits (64 random bits)."""
    return secrets.token_hex(JOIN_ID_HEX // 2)


def is_join_id(value: str) -> bool:
    return len(value) == JOIN_ID_HEX and all(c in "0123456789abcdef" for c in value)


def draw_key(seed: bytes, join_id: str) -> bytes:
    return hashlib.sha256(seed + join_id.encode("ascii")).digest()


def order(seed: bytes, join_ids: Iterable[str]) -> list[str]:
    """The early joiners' queue order: position 1 first."""
    return sorted(join_ids, key=lambda j: (draw_key(seed, j), j))


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    problems: tuple[str, ...]


def verify(
    *,
    seed: bytes,
    published_hash: bytes,
    join_ids: Sequence[str],
    claimed_order: Sequence[str],
    early_count: int | None = None,
) -> Verdict:
    """Whether a draw record holds: the seed is the one whose hash was published, the order
    lists exactly the join ids (as many as the record's count of early joiners), and it is
    the order the seed gives them."""
    problems: list[str] = []
    if early_count is not None and len(claimed_order) != early_count:
        problems.append(
            f"the order lists {len(claimed_order)} ids but the draw counted {early_count}"
        )
    if seed_hash(seed) != published_hash:
        problems.append("the seed's SHA-256 is not the published hash")
    if sorted(join_ids) != sorted(claimed_order):
        problems.append("the order does not list exactly the early joiners' ids")
    elif order(seed, join_ids) != list(claimed_order):
        problems.append("the order is not the one the seed gives")
    return Verdict(ok=not problems, problems=tuple(problems))


# -- SQL ---------------------------------------------------------------------------------------

# One draw at a time per on-sale, across every process and host (a transaction lock): the
# lazy draw tries it and, when another holds it, answers "waiting for the draw" at once
# instead of queueing a pooled connection behind it; `ticketbook queue draw` waits for it.
TRY_DRAW_LOCK_SQL = (
    f"SELECT pg_try_advisory_xact_lock({int(LockSpace.QUEUE_DRAW)}, hashtext($1::uuid::text))"
)
DRAW_LOCK_SQL = (
    f"SELECT pg_advisory_xact_lock({int(LockSpace.QUEUE_DRAW)}, hashtext($1::uuid::text))"
)

# The draw's guard, taken under that lock: the on-sale row FOR UPDATE waits for every
# early join still in flight (each holds it FOR SHARE, or FOR NO KEY UPDATE on the late path),
# so the ranking below sees them all and no join can add an early entry after it. NULL when
# drawn already or not open yet.
LOCK_FOR_DRAW_SQL = """
SELECT seed FROM onsales
 WHERE concert_id = $1 AND drawn_at IS NULL AND opens_at <= now()
   FOR UPDATE
"""

# Positions 1..N for the early joiners, in one statement; the count it returns is N.
ASSIGN_POSITIONS_SQL = """
WITH ranked AS (
    SELECT user_id,
           row_number() OVER (
               ORDER BY sha256($2::bytea || convert_to(join_id, 'UTF8')), join_id
           ) AS position
      FROM queue_entries
     WHERE concert_id = $1 AND early
)
UPDATE queue_entries q SET position = r.position
  FROM ranked r
 WHERE q.concert_id = $1 AND q.user_id = r.user_id
"""

# The draw is recorded with the frontier's base (nobody admitted yet, from now on) and the
# public record's snapshot: the early joiners' ids by position, fixed from now on (a guest's
# entry that goes later with its guest doesn't change it). early_count = its length.
MARK_DRAWN_SQL = """
WITH drawn AS (
    SELECT coalesce(array_agg(join_id ORDER BY position), '{}') AS ids
      FROM queue_entries WHERE concert_id = $1 AND early
)
UPDATE onsales
   SET drawn_at = now(), early_count = cardinality(drawn.ids), draw_order = drawn.ids,
       next_position = cardinality(drawn.ids) + 1,
       rate_base_at = now(), rate_base_count = 0, updated_at = now()
  FROM drawn
 WHERE concert_id = $1
"""
