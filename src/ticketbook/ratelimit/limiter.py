"""Rate limits shared by every worker and host: windowed counters in PostgreSQL.

One statement counts a request against all its buckets (per account, per client address) and
says how full each is. The buckets are locked in sorted order, so two requests sharing two
buckets can't deadlock. A window opens at a bucket's first request and lasts the rule's
length; a burst of up to twice the limit can straddle the end of one window and the start of
the next, which is the price of one cheap row per key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ticketbook.db.pool import Database
from ticketbook.domain.errors import RateLimited
from ticketbook.observability.metrics import RATE_LIMITED
from ticketbook.settings import LimitSettings, RateRule

Action = Literal["login", "register", "booking"]

# $1 bucket names, $2 their window lengths in seconds (same order). A window opens at the
# first request into an empty (or expired) bucket, so it is not aligned to the clock.
HIT_SQL = """
INSERT INTO rate_limit_buckets AS b (bucket, window_ends_at, hits)
SELECT k.bucket, now() + make_interval(secs => k.window_s), 1
  FROM unnest($1::text[], $2::int[]) AS k (bucket, window_s)
 ORDER BY k.bucket
    ON CONFLICT (bucket) DO UPDATE
   SET hits = CASE WHEN b.window_ends_at > now() THEN b.hits + 1 ELSE 1 END,
       window_ends_at = CASE WHEN b.window_ends_at > now() THEN b.window_ends_at
                             ELSE EXCLUDED.window_ends_at END
RETURNING b.bucket, b.hits, extract(epoch FROM b.window_ends_at - now())::float8 AS remaining_s
"""

# Buckets whose window is over count nothing any more.
PRUNE_SQL = "DELETE FROM rate_limit_buckets WHERE window_ends_at < now()"

MESSAGES: dict[Action, str] = {
    "login": "Too many sign-in attempts",
    "register": "Too many sign-ups",
    "booking": "Too many booking requests",
}


@dataclass(frozen=True)
class RateLimiter:
    db: Database
    limits: LimitSettings

    async def hit(self, action: Action, *, account: str | None, address: str | None) -> None:
        """Count one request; raise RateLimited when the account or the address is over."""
        rules: dict[str, RateRule] = {}
        per_account: RateRule = getattr(self.limits, f"{action}_per_account")
        per_address: RateRule = getattr(self.limits, f"{action}_per_address")
        if account is not None and per_account.enabled:
            rules[f"{action}:account:{account}"] = per_account
        if address is not None and per_address.enabled:
            rules[f"{action}:address:{address}"] = per_address
        if not rules:
            return
        names = list(rules)
        rows = await self.db.fetch(HIT_SQL, names, [rules[n].window_s for n in names])
        retry_after = 0.0
        for row in rows:
            rule = rules[row["bucket"]]
            if row["hits"] > rule.limit:
                retry_after = max(retry_after, row["remaining_s"])
        if retry_after > 0:
            RATE_LIMITED.labels(action).inc()
            seconds = max(1, math.ceil(retry_after))
            raise RateLimited(f"{MESSAGES[action]}; try again in {seconds} s", seconds)


async def prune_buckets(db: Database) -> None:
    await db.execute(PRUNE_SQL)
