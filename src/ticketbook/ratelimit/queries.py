"""SQL for the rate limits: counting a request, and dropping windows that are over."""

from __future__ import annotations


def count_sql(names: str, windows: str) -> str:
    """Count one request in each bucket named by the parameter ``names`` (text[]), whose
    windows in seconds are ``windows`` (int[], same order); locked in name order, so two
    requests sharing buckets can't deadlock. A window opens at the first request into an
    empty (or expired) bucket, so it is not aligned to the clock. (The booking hold runs
    it as its first step: booking/queries.py.)"""
    return f"""
INSERT INTO rate_limit_buckets AS b (bucket, window_ends_at, hits)
SELECT k.bucket, now() + make_interval(secs => k.window_s), 1
  FROM unnest({names}::text[], {windows}::int[]) AS k (bucket, window_s)
 ORDER BY k.bucket
    ON CONFLICT (bucket) DO UPDATE
   SET hits = CASE WHEN b.window_ends_at > now() THEN b.hits + 1 ELSE 1 END,
       window_ends_at = CASE WHEN b.window_ends_at > now() THEN b.window_ends_at
                             ELSE EXCLUDED.window_ends_at END
RETURNING b.bucket, b.hits, extract(epoch FROM b.window_ends_at - now())::float8 AS remaining_s
"""


HIT_SQL = count_sql("$1", "$2")

# Empty one bucket ($1): a sign-in with the right password forgives its pair's failures.
FORGET_SQL = "DELETE FROM rate_limit_buckets WHERE bucket = $1"

# Buckets whose window is over count nothing any more. SKIP LOCKED leaves a bucket that a
# request is counting right now to that request, so pruning never waits on (or deadlocks
# with) a hit.
PRUNE_SQL = """
DELETE FROM rate_limit_buckets
 WHERE bucket IN (SELECT bucket FROM rate_limit_buckets
                   WHERE window_ends_at < now()
                     FOR UPDATE SKIP LOCKED)
"""
