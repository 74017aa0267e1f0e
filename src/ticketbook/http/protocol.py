"""The HTTP/1.1 protocol `ticketbook serve` runs: uvicorn's httptools protocol plus the limits
it lacks, enforced before the app sees anything.

uvicorn's httptools parser takes a request head of any size (a 60 MB header was read whole,
and parsing it stalled every other request of the worker for seconds) and waits forever for a
head or a body that trickles in or never comes. This subclass:

- answers 431 once the request line and headers pass ``TICKETBOOK_MAX_HEADER_BYTES``, having
  parsed no more than that;
- answers 408 (or just closes an idle connection) when a request's head has not arrived
  ``TICKETBOOK_HEADER_TIMEOUT_S`` after the connection opened or the request's first byte, or
  its body ``TICKETBOOK_BODY_TIMEOUT_S`` after its head;
- closes its side gently after such an answer (a lingering close, RFC 9112 section 9.6), so the
  client reads the answer instead of a reset.

Idle kept-alive connections are uvicorn's own ``timeout_keep_alive``
(``TICKETBOOK_KEEP_ALIVE_TIMEOUT_S``). The figures behind the defaults: docs/operations.md.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any, NamedTuple

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from ticketbook.http.security_headers import SECURITY_HEADERS
from ticketbook.settings import Settings

# After an error answer, how long and how much the client may still send before we close.
LINGER_S = 2.0
LINGER_BYTES = 1024 * 1024


class ServerLimits(NamedTuple):
    max_header_bytes: int
    header_timeout_s: float
    body_timeout_s: float


@functools.cache
def server_limits() -> ServerLimits:
    """This process's limits, read once from the environment (as each worker's app is)."""
    settings = Settings.from_env()
    return ServerLimits(
        settings.max_header_bytes, settings.header_timeout_s, settings.body_timeout_s
    )


def error_answer(status: int, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 answer with our JSON error body, closing the connection."""
    body = json.dumps({"success": False, "error": code, "message": message}).encode()
    head = [STATUS_LINE[status]]
    for name, value in (
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *SECURITY_HEADERS,
    ):
        head += [name, b": ", value, b"\r\n"]
    return b"".join([*head, b"\r\n", body])


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = server_limits()
        self._reading_head = True  # between requests, or inside a request line and headers
        self._head_bytes = 0  # bytes of the current head so far
        self._deadline: asyncio.TimerHandle | None = None
        self._lingering = False
        self._lingered_bytes = 0

    # -- timers

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self._lingering:
            return
        if self._reading_head and self._head_bytes == 0:
            self.transport.close()  # an idle connection: nothing to answer
            return
        if not self._reading_head and self.cycle is not None and self.cycle.response_started:
            self._drop_current_request()
            self.transport.close()  # answered already; the body just never finished
            return
        self._refuse(408, "REQUEST_TIMEOUT", "The request did not arrive in time")

    # -- refusing

    def _drop_current_request(self) -> None:
        """The app stops waiting for the rest of this request's body: it reads a disconnect."""
        if not self._reading_head and self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._disarm()
        self._drop_current_request()
        self.logger.info("refused a request: %s %s", status, message)
        self.transport.write(error_answer(status, code, message))
        # Stop writing, but read (and drop) what the client is still sending for a moment, so
        # that its TCP stack delivers our answer rather than a reset.
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._deadline = self.loop.call_later(LINGER_S, self.transport.close)

    # -- the protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def eof_received(self) -> None:
        if self._lingering:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._lingered_bytes += len(data)
            if self._lingered_bytes > LINGER_BYTES:
                self.transport.close()
            return
        if not self._reading_head:
            super().data_received(data)
            return
        if self._deadline is None:
            # The first bytes of another request on a kept-alive connection.
            self._arm(self.limits.header_timeout_s)
        room = self.limits.max_header_bytes - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # More than a head may take: parse only what fits, and refuse unless the head ended there.
        self._head_bytes += room
        super().data_received(data[:room])
        if self.transport.is_closing() or self._lingering:
            return
        if self._reading_head:
            self._refuse(
                431,
                "HEADERS_TOO_LARGE",
                f"The request line and headers are larger than {self.limits.max_header_bytes} "
                "bytes",
            )
            return
        self.data_received(data[room:])

    # -- parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.limits.header_timeout_s)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._arm(self.limits.body_timeout_s)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._reading_head = True
        self._head_bytes = 0
