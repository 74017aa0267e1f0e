"""Wait until something is true, with a deadline, instead of sleeping a fixed time.

A fixed sleep is either too short on a busy machine (a flaky test) or too long everywhere
(a slow one). These poll a condition and fail with a message that says what never happened.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition never held before the deadline."""


def wait_until(
    condition: Callable[[], T],
    what: str,
    timeout_s: float = 10.0,
    interval_s: float = 0.02,
) -> T:
    """Call ``condition`` until it returns something truthy and return that; fail at the
    deadline with ``what`` (say what was expected: "the hold is expired") and the last value."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"gave up after {timeout_s:g} s waiting until {what}: {last!r}")
        time.sleep(interval_s)


async def async_wait_until(
    condition: Callable[[], Awaitable[T] | T],
    what: str,
    timeout_s: float = 10.0,
    interval_s: float = 0.02,
) -> T:
    """``wait_until`` inside an event loop, without blocking it; ``condition`` may be a plain
    function or return an awaitable (a query on an async connection)."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while True:
        value = condition()
        last = await value if inspect.isawaitable(value) else value
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"gave up after {timeout_s:g} s waiting until {what}: {last!r}")
        await asyncio.sleep(interval_s)
