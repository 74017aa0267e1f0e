"""A development mailbox: a real SMTP server on the loopback (aiosmtpd) that keeps every
message it receives as an .eml file, so `make run` can send its emails somewhere you can
read them (`make mailbox`; docs/tickets.md, "Email and the outbox").

aiosmtpd is a development dependency: production mail goes to a real SMTP server.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_MAILBOX_ENV = (
    "TICKETBOOK_SMTP_HOST={host} TICKETBOOK_SMTP_PORT={port} TICKETBOOK_SMTP_SECURITY=none"
)


def server_env(host: str, port: int) -> str:
    """The settings that send a server's mail to this mailbox."""
    return _MAILBOX_ENV.format(host=host, port=port)


class _Keeper:
    """aiosmtpd handler: each message into ``folder`` as NNNN-<time>.eml."""

    def __init__(self, folder: Path, announce: Callable[[str], None]) -> None:
        self.folder = folder
        self.announce = announce
        self._numbers = itertools.count(len(list(folder.glob("*.eml"))) + 1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        path = self.folder / f"{next(self._numbers):04d}-{time.strftime('%Y%m%dT%H%M%S')}.eml"
        path.write_bytes(raw)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        recipients = ", ".join(envelope.rcpt_tos)
        self.announce(f"mail to {recipients}: {message['Subject']} ({path})")
        return "250 OK"


def start_mailbox(
    folder: Path, host: str = "127.0.0.1", port: int = 8025, announce: Callable[[str], None] = print
) -> Any:
    """A started aiosmtpd Controller keeping mail in ``folder``; call ``.stop()`` when done."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError as exc:  # an install without the development dependencies
        raise RuntimeError(
            "the development mailbox needs aiosmtpd (a development dependency: `make install`)"
        ) from exc
    folder.mkdir(parents=True, exist_ok=True)
    # aiosmtpd logs every SMTP command at INFO; one line per message (announce) is enough.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(_Keeper(folder, announce), hostname=host, port=port)
    controller.start()
    return controller
