"""A real SMTP server on the loopback for the tests (aiosmtpd): it accepts every message
and keeps it, parsed, for the test to read. Stop it and start it again (same port) to play
an outage."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Collector:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if self.sink.delay_s:  # a slow server: it answers each message this late
            await asyncio.sleep(self.sink.delay_s)
        with self.sink.lock:
            self.sink.messages.append(message)
            self.sink.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


class SmtpSink:
    """``with SmtpSink() as smtp:``; ``smtp.env`` configures an app to send to it."""

    def __init__(self, port: int | None = None, delay_s: float = 0.0) -> None:
        self.port = port or free_port()
        self.delay_s = delay_s
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            "TICKETBOOK_SMTP_HOST": "127.0.0.1",
            "TICKETBOOK_SMTP_PORT": str(self.port),
            "TICKETBOOK_SMTP_SECURITY": "none",
            "TICKETBOOK_SMTP_TIMEOUT_S": "5",
            "TICKETBOOK_MAIL_INTERVAL_S": "0.1",
            "TICKETBOOK_MAIL_FROM": "TicketBook <tickets@ticketbook.test>",
            "TICKETBOOK_PUBLIC_URL": "http://tickets.test",
        }

    def start(self) -> SmtpSink:
        self._controller = Controller(_Collector(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def wait_for(self, count: int, timeout_s: float = 15.0) -> list[EmailMessage]:
        """The first ``count`` messages, once they have arrived (AssertionError if not)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"{count} message(s) expected, {len(self.messages)} arrived")

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]
