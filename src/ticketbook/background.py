"""Ending a process's background tasks (the jobs, the live hub) when it shuts down."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

# How long a task is given to end after a cancellation before it is cancelled again.
RECANCEL_AFTER_S = 1.0


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended, cancelling it again while it runs on.

    On Python 3.11 a cancellation can be lost when it arrives in the same loop iteration as
    the future the task awaits completes (asyncio.wait_for's known bug, also inside
    libraries); a task that loops would then run on and shutdown would wait for it forever.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_AFTER_S)
    with contextlib.suppress(asyncio.CancelledError):
        await task
