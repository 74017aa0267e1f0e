"""`ticketbook mailbox`: a real SMTP server on the loopback keeps what it is sent."""

from __future__ import annotations

import email
import email.policy
import smtplib
from email.message import EmailMessage
from pathlib import Path

from tests.support.smtp import free_port
from ticketbook.mail.devbox import server_env, start_mailbox


def test_the_mailbox_keeps_each_message_as_an_eml_file(tmp_path: Path) -> None:
    port = free_port()
    heard: list[str] = []
    controller = start_mailbox(tmp_path / "mailbox", "127.0.0.1", port, heard.append)
    try:
        for n in (1, 2):
            message = EmailMessage()
            message["From"] = "tickets@ticketbook.test"
            message["To"] = "fan@example.com"
            message["Subject"] = f"Your tickets {n}"
            message.set_content("See you at the door.")
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                smtp.send_message(message)
    finally:
        controller.stop()
    kept = sorted((tmp_path / "mailbox").glob("*.eml"))
    assert [p.name[:4] for p in kept] == ["0001", "0002"]
    read = email.message_from_bytes(kept[1].read_bytes(), policy=email.policy.default)
    assert read["Subject"] == "Your tickets 2" and "See you at the door." in read.as_string()
    assert heard[0].startswith("mail to fan@example.com: Your tickets 1 (")
    assert server_env("127.0.0.1", port) == (
        f"TICKETBOOK_SMTP_HOST=127.0.0.1 TICKETBOOK_SMTP_PORT={port} TICKETBOOK_SMTP_SECURITY=none"
    )
