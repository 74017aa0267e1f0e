"""Concurrent clients over real HTTP: many guests pressing "Book" at the same moment."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.waiting import async_wait_until


@dataclass
class Outcome:
    status: int
    body: dict[str, Any]


async def make_guests(base_url: str, count: int) -> list[dict[str, str]]:
    """``count`` fans, each arriving from an address of its own (as the local proxy, which
    the server trusts on loopback, reports it): one address may mint only so many guests."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post("/api/auth/guest", headers={"X-Forwarded-For": fan_address(i)})
                for i in range(count)
            )
        )
    for response in responses:
        assert response.status_code == 200, response.text
    return [{"Authorization": f"Bearer {r.json()['token']}"} for r in responses]


def fan_address(n: int) -> str:
    """A distinct address in 198.18.0.0/15 (the benchmarking range) for fan ``n``."""
    return f"198.{18 + (n >> 16) % 2}.{(n >> 8) % 256}.{n % 256}"


async def fire_together(
    base_url: str,
    path: str,
    requests: Sequence[tuple[dict[str, str], dict[str, Any]]],
) -> list[Outcome]:
    """Send every (headers, json) request at once, released by one barrier."""
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        gate = asyncio.Event()
        waiting = 0

        async def one(headers: dict[str, str], body: dict[str, Any]) -> Outcome:
            nonlocal waiting
            waiting += 1
            await gate.wait()
            response = await client.post(path, json=body, headers=headers)
            return Outcome(response.status_code, response.json())

        tasks = [asyncio.create_task(one(h, b)) for h, b in requests]
        await async_wait_until(
            lambda: waiting == len(tasks), "every request waits at the gate", timeout_s=10
        )
        gate.set()
        return await asyncio.gather(*tasks)


def booking_requests(
    guests: Sequence[dict[str, str]], tier_id: str, quantity: int = 1
) -> list[tuple[dict[str, str], dict[str, Any]]]:
    return [
        (
            {**g, "Idempotency-Key": str(uuid.uuid4())},
            {"ticketTierId": tier_id, "quantity": quantity},
        )
        for g in guests
    ]
