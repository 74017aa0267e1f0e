"""Shutting down background tasks: one that runs on after a lost cancellation still ends."""

from __future__ import annotations

import asyncio

import pytest

from ticketbook import background


async def _loop_that_loses_one_cancellation(ticks: list[int]) -> None:
    lost = False
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if lost:
                raise
            lost = True  # what Python 3.11's wait_for can do: the loop runs on
        ticks.append(1)


def test_a_task_that_loses_a_cancellation_is_cancelled_again_until_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(background, "RECANCEL_AFTER_S", 0.05)

    async def scene() -> tuple[bool, bool]:
        ticks: list[int] = []
        task = asyncio.create_task(_loop_that_loses_one_cancellation(ticks))
        await asyncio.sleep(0.03)
        await asyncio.wait_for(background.cancel_and_wait(task), 5)
        return task.cancelled(), bool(ticks)

    assert asyncio.run(scene()) == (True, True)


def test_control_one_cancellation_leaves_that_task_running() -> None:
    async def scene() -> bool:
        task = asyncio.create_task(_loop_that_loses_one_cancellation([]))
        await asyncio.sleep(0.03)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=0.3)
        running = not done
        task.cancel()
        await asyncio.wait({task})
        return running

    assert asyncio.run(scene()) is True


def test_a_task_that_fails_as_it_is_cancelled_raises_its_error() -> None:
    async def failing() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    async def scene() -> None:
        task = asyncio.create_task(failing())
        await asyncio.sleep(0)
        await background.cancel_and_wait(task)

    with pytest.raises(RuntimeError, match="cleanup failed"):
        asyncio.run(scene())
