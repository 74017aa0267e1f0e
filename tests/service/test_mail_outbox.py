"""The mail outbox against a real SMTP server (aiosmtpd on the loopback): a confirmed
booking's email with its PDF, read back; with the server down nothing is lost (the message
waits with its attempts and error) and it is delivered exactly once when the server is back;
without SMTP configured, mail just waits."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.support.inprocess import app_settings
from tests.support.inventory import fetch, make_concert
from tests.support.smtp import SmtpSink, free_port
from ticketbook.mail import queries
from ticketbook.mail.outbox import Mailer
from ticketbook.services import AppServices, open_services

PASSWORD = "a decent passphrase 42"


async def _confirmed_booking(services: AppServices, tier: str, quantity: int) -> Any:
    email = f"fan-{uuid.uuid4().hex[:8]}@example.com"
    user_id, _ = await services.accounts.create_account(email, PASSWORD)
    result = await services.engine.book(
        user_id=user_id, tier_id=uuid.UUID(tier), quantity=quantity, key=uuid.uuid4()
    )
    assert result.booking is not None and result.booking.status == "CONFIRMED"
    return email, result.booking


def _pdf_text(message: Any) -> str:
    attachment = next(p for p in message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_a_confirmation_reaches_the_smtp_server_with_its_tickets_and_pdf(
    db_url: str, tmp_path: Path
) -> None:
    concert = make_concert(db_url, {"GA": 10})
    with SmtpSink() as smtp:
        settings = app_settings(tmp_path, **smtp.env)

        async def scene() -> Any:
            async with open_services(
                settings, database_url=db_url, run_background_jobs=False
            ) as services:
                email, booking = await _confirmed_booking(services, concert["tiers"]["GA"], 2)
                tickets = await services.tickets.for_booking(booking.id, booking.user_id)
                sent = await services.mailer.deliver_due()
                again = await services.mailer.deliver_due()
                return email, booking, tickets, sent, again

        email, booking, tickets, sent, again = asyncio.run(scene())
        assert (sent, again) == (1, 0)
        [message] = smtp.wait_for(1)
        assert smtp.recipients == [[email]]
    assert message["To"] == email
    assert message["Subject"] == f"Your tickets for {booking.concert_name}"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    for ticket in tickets.tickets:
        assert ticket.code in text
    assert f"http://tickets.test/bookings/{booking.id}/tickets" in text
    html = message.get_body(("html",))
    assert html is not None and "Open your tickets" in html.get_content()
    pdf = _pdf_text(message)
    assert booking.concert_name in pdf and "General admission" in pdf
    row = fetch(db_url, "SELECT attempts, sent_at, last_error FROM email_outbox")[0]
    assert row["attempts"] == 1 and row["sent_at"] is not None and row["last_error"] is None


def test_with_the_smtp_server_down_mail_waits_and_then_goes_exactly_once(
    db_url: str, tmp_path: Path
) -> None:
    concert = make_concert(db_url, {"GA": 10})
    port = free_port()
    smtp = SmtpSink(port)  # not started: nothing listens on the port
    settings = app_settings(tmp_path, **smtp.env, TICKETBOOK_MAIL_RETRY_BASE_S="0.2")

    async def scene() -> Any:
        async with open_services(
            settings, database_url=db_url, run_background_jobs=False
        ) as services:
            email, _ = await _confirmed_booking(services, concert["tiers"]["GA"], 1)
            failed = await services.mailer.deliver_due()
            queued = await services.db.fetch(
                "SELECT attempts, last_error, sent_at FROM email_outbox"
            )
            smtp.start()
            try:
                await asyncio.sleep(0.3)  # the retry is due
                delivered = await services.mailer.deliver_due()
                after = await services.mailer.deliver_due()
            finally:
                await asyncio.to_thread(smtp.wait_for, 1)
            return email, failed, queued, delivered, after

    try:
        email, failed, queued, delivered, after = asyncio.run(scene())
    finally:
        smtp.stop()
    assert failed == 0
    [waiting] = queued
    assert waiting["attempts"] == 1 and waiting["sent_at"] is None
    assert waiting["last_error"]  # e.g. SMTPConnectError: ... Connection refused
    assert (delivered, after) == (1, 0)
    assert [m["To"] for m in smtp.messages] == [email]
    row = fetch(db_url, "SELECT attempts, sent_at FROM email_outbox")[0]
    assert row["attempts"] == 2 and row["sent_at"] is not None


def test_the_background_sender_delivers_and_the_booking_never_waits_for_it(
    db_url: str, tmp_path: Path
) -> None:
    """With the jobs running: the booking returns (its outbox row written by the trigger) and
    the sender delivers within a few of its rounds."""
    concert = make_concert(db_url, {"GA": 10})
    with SmtpSink() as smtp:
        settings = app_settings(tmp_path, **smtp.env)

        async def scene() -> str:
            async with open_services(settings, database_url=db_url) as services:
                email, _ = await _confirmed_booking(services, concert["tiers"]["GA"], 1)
                await asyncio.to_thread(smtp.wait_for, 1)
                return str(email)

        email = asyncio.run(scene())
        assert [m["To"] for m in smtp.messages] == [email]


def test_without_smtp_configured_mail_stays_in_the_outbox(db_url: str, tmp_path: Path) -> None:
    concert = make_concert(db_url, {"GA": 10})

    async def scene() -> int:
        async with open_services(
            app_settings(tmp_path), database_url=db_url, run_background_jobs=False
        ) as services:
            assert not services.mailer.configured
            await _confirmed_booking(services, concert["tiers"]["GA"], 1)
            return await services.mailer.deliver_due()

    assert asyncio.run(scene()) == 0
    row = fetch(db_url, "SELECT attempts, sent_at FROM email_outbox")[0]
    assert row["attempts"] == 0 and row["sent_at"] is None


def test_two_senders_on_one_outbox_deliver_each_message_once_to_a_slow_server(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes' senders, a server slow with each message (0.2 s), and a lease of 0.6 s
    (the lease scaled down with the server's slowness): a lease covers the one message claimed
    right before its send, so neither sender sends what the other has claimed. (Claiming a
    batch under one lease, the later messages of a batch outlived it and went twice.)"""
    concert = make_concert(db_url, {"GA": 20})
    monkeypatch.setattr(Mailer, "_lease_s", lambda self: 0.6)
    with SmtpSink(delay_s=0.2) as smtp:
        settings = app_settings(tmp_path, **smtp.env)

        async def scene() -> list[int]:
            async with open_services(
                settings, database_url=db_url, run_background_jobs=False
            ) as services:
                for _ in range(8):
                    await _confirmed_booking(services, concert["tiers"]["GA"], 1)
                senders = [services.mailer, Mailer(services.db, services.tickets, settings.mail)]

                async def keep_sending(mailer: Mailer) -> int:
                    sent = 0
                    while await services.db.fetchval(queries.WAITING_SQL):
                        sent += await mailer.deliver_due()
                        await asyncio.sleep(0.05)
                    return sent

                return list(await asyncio.gather(*(keep_sending(m) for m in senders)))

        counts = asyncio.run(scene())
        assert sum(counts) == 8, counts
        ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 8 and len(set(ids)) == 8, ids
    rows = fetch(db_url, "SELECT attempts, sent_at FROM email_outbox")
    assert len(rows) == 8 and all(r["attempts"] == 1 and r["sent_at"] for r in rows)
