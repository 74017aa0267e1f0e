"""The waiting room's SQL (the draw's own is in draw.py)."""

from __future__ import annotations

ONSALE_COLUMNS = """
    o.concert_id, o.opens_at, o.protected, o.rate_per_minute, o.admission_window_s, o.seed,
    o.seed_hash, o.drawn_at, o.early_count, o.next_position, o.rate_base_at, o.rate_base_count,
    o.created_at, o.updated_at
"""

ONSALE_SQL = f"SELECT {ONSALE_COLUMNS}, now() AS db_now FROM onsales o WHERE o.concert_id = $1"

# Joiners before the draw (the draw counts them again, under its lock).
EARLY_COUNT_SQL = "SELECT count(*) FROM queue_entries WHERE concert_id = $1 AND early"

CONCERT_SQL = "SELECT id, organizer_id FROM concerts WHERE id = $1"

# Set (or change) an on-sale. The seed is drawn once, when the on-sale is first set, and never
# changes (nor its published hash); the service refuses moving opens_at once it has passed.
# After the draw the opening time and the draw stay, and a new rate re-bases the frontier at
# the point it reached, so nobody already let in is taken back and nobody jumps ahead.
UPSERT_ONSALE_SQL = f"""
INSERT INTO onsales AS o (concert_id, opens_at, protected, rate_per_minute, admission_window_s,
                          seed, seed_hash)
VALUES ($1, $2, $3, $4, $5, $6, sha256($6))
ON CONFLICT (concert_id) DO UPDATE SET
    opens_at = CASE WHEN o.drawn_at IS NULL THEN EXCLUDED.opens_at ELSE o.opens_at END,
    protected = EXCLUDED.protected,
    admission_window_s = EXCLUDED.admission_window_s,
    rate_per_minute = EXCLUDED.rate_per_minute,
    rate_base_count = CASE
        WHEN o.drawn_at IS NULL OR o.rate_per_minute = EXCLUDED.rate_per_minute
        THEN o.rate_base_count
        ELSE LEAST(o.next_position - 1, o.rate_base_count + floor(
            extract(epoch FROM now() - o.rate_base_at) * o.rate_per_minute / 60)::int)
    END,
    rate_base_at = CASE
        WHEN o.drawn_at IS NULL OR o.rate_per_minute = EXCLUDED.rate_per_minute
        THEN o.rate_base_at ELSE now()
    END,
    updated_at = now()
RETURNING {ONSALE_COLUMNS}, now() AS db_now
"""

ENTRY_SQL = """
SELECT concert_id, user_id, join_id, joined_at, early, position, admitted_at
  FROM queue_entries WHERE concert_id = $1 AND user_id = $2
"""

# An early join holds the on-sale row FOR SHARE until it commits: the draw's FOR UPDATE waits
# for it, so no early entry is ever left out of the draw.
JOIN_GUARD_SQL = """
SELECT drawn_at, opens_at <= now() AS open FROM onsales WHERE concert_id = $1 FOR SHARE
"""

EARLY_JOIN_SQL = """
INSERT INTO queue_entries (concert_id, user_id, join_id, early)
VALUES ($1, $2, $3, true)
ON CONFLICT DO NOTHING
RETURNING concert_id, user_id, join_id, joined_at, early, position, admitted_at
"""

# Late joiners serialize on the on-sale row (its lock first, then "have I a place already?").
# Under that lock drawn_at is the truth: not drawn yet (a draw still to run, or in flight in
# another process), the join is an early one; the draw's FOR UPDATE waits for this lock.
LATE_LOCK_SQL = "SELECT drawn_at FROM onsales WHERE concert_id = $1 FOR NO KEY UPDATE"

# The next position, in arrival order. An idle queue (the frontier ran past the last place)
# re-bases the frontier at this newcomer, let in at once; without it, credit saved while the
# queue was empty would let a later burst in all at the same moment.
LATE_JOIN_SQL = """
WITH taken AS (
    UPDATE onsales SET
        next_position = next_position + 1,
        rate_base_at = CASE WHEN idle THEN now() ELSE rate_base_at END,
        rate_base_count = CASE WHEN idle THEN next_position ELSE rate_base_count END
      FROM (
        SELECT rate_base_count + floor(extract(epoch FROM now() - rate_base_at)
                   * rate_per_minute / 60) > next_position - 1 AS idle
          FROM onsales WHERE concert_id = $1
      ) AS frontier
     WHERE concert_id = $1
 RETURNING next_position - 1 AS position
)
INSERT INTO queue_entries (concert_id, user_id, join_id, early, position)
SELECT $1, $2, $3, false, position FROM taken
RETURNING concert_id, user_id, join_id, joined_at, early, position, admitted_at
"""

# Written once per visitor: the first time the frontier is found past their place.
ADMIT_SQL = """
UPDATE queue_entries SET admitted_at = now()
 WHERE concert_id = $1 AND user_id = $2 AND admitted_at IS NULL AND position IS NOT NULL
RETURNING admitted_at
"""

# Every protected on-sale's tiers: what the booking gate keeps in memory (refreshed each second).
PROTECTED_TIERS_SQL = """
SELECT t.id AS tier_id, o.concert_id, o.opens_at, now() AS db_now
  FROM onsales o JOIN ticket_tiers t ON t.concert_id = o.concert_id
 WHERE o.protected
"""

# The published record, a snapshot taken at the draw (entries that go later don't change it).
RECORD_SQL = """
SELECT concert_id, opens_at, seed, seed_hash, drawn_at, early_count, draw_order
  FROM onsales WHERE concert_id = $1
"""
