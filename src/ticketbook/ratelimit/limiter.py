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
from ticketbook.ratelimit import queries
from ticketbook.settings import LimitSettings, RateRule

Action = Literal["login", "register", "booking"]

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
        rows = await self.db.fetch(queries.HIT_SQL, names, [rules[n].window_s for n in names])
        retry_after = 0.0
        for row in rows:
            rule = rules[row["bucket"]]
            if row["hits"] > rule.limit:
                retry_after = max(retry_after, row["remaining_s"])
        if retry_after > 0:
            RATE_LIMITED.labels(action).inc()
            seconds = max(1, math.ceil(retry_after))
            raise RateLimited(f"{MESSAGES[action]}; try again in {seconds} s", seconds)
