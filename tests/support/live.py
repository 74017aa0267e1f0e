"""Read a Server-Sent Events stream in the background, the way EventSource does."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx


class EventReader:
    """Connects to ``url`` and collects its events; ``wait_for`` returns the first one that
    matches. The reading thread is a daemon and ends when the server closes the stream."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.status: int | None = None
        self.content_type: str | None = None
        self.ended = threading.Event()
        self.connected = threading.Event()
        self.comments = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self.connected.wait(10), f"could not connect to {url}"

    def _read(self) -> None:
        try:
            with httpx.stream("GET", self.url, timeout=httpx.Timeout(5, read=None)) as response:
                self.status = response.status_code
                self.content_type = response.headers.get("content-type")
                self.connected.set()
                event, data = "message", []
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments += 1
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "" and data:
                        self.events.put((event, json.loads("\n".join(data))))
                        event, data = "message", []
        except httpx.HTTPError:
            pass
        finally:
            self.connected.set()
            self.ended.set()

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen: list[Any] = []
        while time.monotonic() < deadline:
            try:
                event, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(data)
            if event == "availability" and predicate(data):
                return data  # type: ignore[no-any-return]
        raise AssertionError(f"no matching event within {timeout}s; saw {seen}")

    def wait_for_count(self, tier_id: str, available: int, timeout: float = 10.0) -> None:
        self.wait_for(
            lambda d: d["tierId"] == tier_id and d["availableQuantity"] == available, timeout
        )
