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

Action = Literal["login", "register", "booking", "guest", "transfer"]

MESSAGES: dict[Action, str] = {
    "login": "Too many sign-in attempts",
    "register": "Too many sign-ups",
    "booking": "Too many booking requests",
    "guest": "Too many new guests from this address",
    "transfer": "Too many ticket transfers",
}


@dataclass(frozen=True)
class RateLimiter:
    db: Database
    limits: LimitSettings

    async def hit(self, action: Action, *, account: str | None, address: str | None) -> None:
        """Count one request; raise RateLimited when the account or the address is over."""
        rules = self._rules(action, account, address)
        counted = await self._count(rules)
        retry_after = 0.0
        for bucket, (hits, remaining_s) in counted.items():
            if hits > rules[bucket].limit:
                retry_after = max(retry_after, remaining_s)
        refuse_if(action, retry_after)

    def buckets(self, action: Action, *, account: str | None, address: str | None) -> Buckets:
        """The buckets one request counts in, for a statement that counts them itself
        (the booking hold: ``count_sql``), with their windows and limits."""
        rules = self._rules(action, account, address)
        names = sorted(rules)
        return Buckets(names, [rules[n].window_s for n in names], [rules[n].limit for n in names])

    def _rules(
        self, action: Action, account: str | None, address: str | None
    ) -> dict[str, RateRule]:
        rules: dict[str, RateRule] = {}
        # Guests have no per-account rule: a guest is what the request is making.
        per_account: RateRule | None = getattr(self.limits, f"{action}_per_account", None)
        per_address: RateRule = getattr(self.limits, f"{action}_per_address")
        if account is not None and per_account is not None and per_account.enabled:
            rules[f"{action}:account:{account}"] = per_account
        if address is not None and per_address.enabled:
            rules[f"{action}:address:{address}"] = per_address
        return rules

    async def hit_sign_in(self, *, account: str, address: str | None) -> None:
        """Count one sign-in attempt for the email ``account`` from ``address``; raise
        RateLimited when it must not be tried.

        Three counts, in one statement: every attempt from the address (any email); the
        attempts for this email from this address since its last right password (the pair:
        a stranger failing on purpose fills their own pair, never the owner's); and the
        attempts for this email from everywhere. Over the last, an address whose pair has
        failed in its window is refused until that window ends, while an address that has
        not failed (the owner's) may still try: so many addresses get one guess each, not a
        pair's full allowance each, and nobody can lock the owner out.
        """
        limits = self.limits
        pair_rule, everywhere = limits.login_per_account, limits.login_per_account_all_addresses
        rules: dict[str, RateRule] = {}
        if address is not None and limits.login_per_address.enabled:
            rules[f"login:address:{address}"] = limits.login_per_address
        pair = pair_bucket(account, address)
        if pair_rule.enabled:
            rules[pair] = pair_rule
        elif everywhere.enabled:
            # Still counted (in the wider window): the all-addresses rule asks who failed.
            rules[pair] = RateRule(0, everywhere.window_s)
        if everywhere.enabled:
            rules[f"login:account:{account}"] = everywhere
        counted = await self._count(rules)
        retry_after = 0.0
        for bucket, (hits, remaining_s) in counted.items():
            rule = rules[bucket]
            if rule.enabled and bucket != f"login:account:{account}" and hits > rule.limit:
                retry_after = max(retry_after, remaining_s)
        if everywhere.enabled:
            total, total_remaining = counted[f"login:account:{account}"]
            pair_hits, pair_remaining = counted[pair]
            # pair_hits counts this attempt: more than one means this address has failed.
            if total > everywhere.limit and pair_hits > 1:
                retry_after = max(retry_after, min(total_remaining, pair_remaining))
        refuse_if("login", retry_after)

    async def sign_in_succeeded(self, *, account: str, address: str | None) -> None:
        """A right password from ``address``: its pair's failures are forgiven."""
        await self.db.execute(queries.FORGET_SQL, pair_bucket(account, address))

    async def _count(self, rules: dict[str, RateRule]) -> dict[str, tuple[int, float]]:
        """Count one request in each bucket: {bucket: (hits in its window, seconds left)}."""
        if not rules:
            return {}
        names = list(rules)
        rows = await self.db.fetch(queries.HIT_SQL, names, [rules[n].window_s for n in names])
        return {row["bucket"]: (row["hits"], row["remaining_s"]) for row in rows}


def pair_bucket(account: str, address: str | None) -> str:
    """The bucket of one email's sign-ins from one address. An address never holds "|", so
    the name can't be read two ways."""
    return f"login:pair:{address or '-'}|{account}"


@dataclass(frozen=True)
class Buckets:
    """Rate-limit buckets as a statement's three array parameters (same order)."""

    names: list[str]
    windows_s: list[int]
    limits: list[int]

    def arguments(self) -> tuple[list[str], list[int], list[int]]:
        return self.names, self.windows_s, self.limits


NO_BUCKETS = Buckets([], [], [])


def refuse_if(action: Action, retry_after: float) -> None:
    """Raise RateLimited (and count it) when ``retry_after`` seconds must pass first."""
    if retry_after > 0:
        RATE_LIMITED.labels(action).inc()
        seconds = max(1, math.ceil(retry_after))
        raise RateLimited(f"{MESSAGES[action]}; try again in {seconds} s", seconds)
