"""The rate limiter on a real database, in-process: a window opens at the first request and a
fresh one starts when it is over. (Moved from tests/http/test_rate_limits.py.)"""

from __future__ import annotations

import asyncio
import time

from ticketbook.db.pool import open_database
from ticketbook.domain.errors import RateLimited
from ticketbook.ratelimit.limiter import RateLimiter
from ticketbook.settings import LimitSettings, RateRule, Settings


def test_a_window_opens_at_the_first_request_and_resets_when_over(db_url: str) -> None:
    """The limiter itself, on a real database: 2 per 2 s, then a fresh window."""

    async def scene() -> tuple[list[str], int]:
        db = await open_database(db_url, Settings())
        limits = LimitSettings(login_per_account=RateRule(2, 2), login_per_address=RateRule(0, 1))
        limiter = RateLimiter(db, limits)
        outcomes: list[str] = []
        retry_after = 0

        async def attempt() -> None:
            nonlocal retry_after
            try:
                await limiter.hit("login", account="fan@example.com", address="192.0.2.1")
                outcomes.append("ok")
            except RateLimited as exc:
                retry_after = exc.retry_after_s
                outcomes.append("limited")

        try:
            for _ in range(3):
                await attempt()
            started = time.monotonic()
            # This sleep is the subject: a window is a span of wall-clock time, so the test
            # lets it run out (the rule's windows are whole seconds; 2 s is the shortest here).
            await asyncio.sleep(2.2)
            assert time.monotonic() - started >= 2
            await attempt()
        finally:
            await db.close()
        return outcomes, retry_after

    outcomes, retry_after = asyncio.run(scene())
    assert outcomes == ["ok", "ok", "limited", "ok"]
    assert 1 <= retry_after <= 2
