"""The wake-ups of requests waiting for held tickets: as many as tickets came back, first come
first served; a count from the live hub wakes as many as it says are free."""

from __future__ import annotations

import asyncio
import uuid

from tests.support.waiting import async_wait_until
from ticketbook.booking.releases import TierReleases


def test_a_release_wakes_that_many_waiters_in_arrival_order() -> None:
    async def scene() -> list[int]:
        releases = TierReleases()
        tier, other = uuid.uuid4(), uuid.uuid4()
        woken: list[int] = []

        async def wait(n: int, on: uuid.UUID) -> None:
            await releases.wait(on, timeout_s=0.5)
            woken.append(n)

        tasks = [asyncio.create_task(wait(n, tier)) for n in range(4)]
        tasks.append(asyncio.create_task(wait(99, other)))
        await async_wait_until(lambda: releases.waiting == 5, "five waiters")
        releases.released(tier, 2)
        await asyncio.sleep(0.05)
        first = list(woken)
        releases.on_counts({(str(uuid.uuid4()), str(tier)): 1})
        await asyncio.sleep(0.05)
        second = list(woken)
        await asyncio.gather(*tasks)  # the rest time out
        return [*first, -1, *second[len(first) :], -1, *woken[len(second) :]]

    order = asyncio.run(scene())
    assert order[:3] == [0, 1, -1]
    assert order[3:5] == [2, -1]
    assert sorted(order[5:]) == [3, 99]


def test_a_confirmation_wakes_at_least_one() -> None:
    async def scene() -> bool:
        releases = TierReleases()
        tier = uuid.uuid4()
        task = asyncio.create_task(releases.wait(tier, timeout_s=5))
        await async_wait_until(lambda: releases.waiting == 1, "one waiter")
        releases.released(tier, 0)
        await asyncio.wait_for(task, 1)
        return releases.waiting == 0

    assert asyncio.run(scene())
