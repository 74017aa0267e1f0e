"""Live availability's pieces, no database: changes fit in NOTIFY payloads and round-trip, a
subscription keeps only the latest count per tier, the poll interval is validated. (Moved
from tests/system/test_live.py.)"""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from ticketbook.live.hub import MAX_PAYLOAD_BYTES, Subscription, decode_changes, encode_changes


def test_changes_fit_in_notifications_and_round_trip() -> None:
    changes = {(str(uuid.uuid4()), str(uuid.uuid4())): n for n in range(500)}
    payloads = encode_changes(changes)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD_BYTES for p in payloads)
    decoded: dict[tuple[str, str], int] = {}
    for payload in payloads:
        decoded.update(decode_changes(payload))
    assert decoded == changes
    assert orjson.loads(payloads[0])[0].keys() == {"concertId", "tierId", "availableQuantity"}


def test_a_subscription_keeps_only_the_latest_count_per_tier() -> None:
    async def scenario() -> None:
        sub = Subscription("concert")
        assert await sub.changes(0.01) == {}  # nothing yet: a heartbeat
        for n in range(100, 0, -1):
            sub.push("hot-tier", n)
        sub.push("other", 7)
        assert await sub.changes(1) == {"hot-tier": 1, "other": 7}
        sub.close()
        assert await sub.changes(1) is None

    asyncio.run(scenario())


@pytest.mark.parametrize("value", ["0", "61", "soon"])
def test_poll_interval_is_validated(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from ticketbook.settings import ConfigError, Settings

    monkeypatch.setenv("TICKETBOOK_LIVE_POLL_INTERVAL_S", value)
    with pytest.raises(ConfigError):
        Settings.from_env()
