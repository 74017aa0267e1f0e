"""The outbox sender: a background job in every app process that sends the mail waiting in
`email_outbox` through SMTP (aiosmtplib).

The rows are written in the transaction that makes them (the booking trigger, a transfer),
so a booking never waits for SMTP and a message can't be lost between the two. Each round
claims the due rows one at a time, each right before its send (FOR UPDATE SKIP LOCKED, with
a lease longer than the slowest send the timeouts allow: several processes never send one
message at the same time), composes it from the database as it is now (a rotated key's new
code), sends it, and marks it sent. A failure is counted with its error, and the
message waits ``retry_base_s``, doubled per failure up to an hour, then goes again. Delivery
is at least once: a process that dies between the server's "250 OK" and the mark sends it
again when its lease runs out, under the same Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib
import asyncpg

from ticketbook.db.pool import Database
from ticketbook.domain.enums import EmailKind
from ticketbook.mail import messages, queries
from ticketbook.settings import MailSettings
from ticketbook.tickets.service import Tickets

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 3600.0
# The most replies one send waits for, each for up to the SMTP timeout: connect, EHLO,
# STARTTLS, EHLO again, AUTH (two steps), MAIL, RCPT, DATA, the data's end, QUIT.
SMTP_REPLIES = 11
# Composing a message (its PDF) and the database's updates, with room to spare.
COMPOSE_S = 30.0


@dataclass
class Mailer:
    db: Database
    tickets: Tickets
    settings: MailSettings
    _told_unconfigured: bool = field(default=False, init=False)

    @property
    def configured(self) -> bool:
        return self.settings.smtp_host is not None

    def booking_link(self, booking_id: uuid.UUID) -> str:
        return f"{self.settings.public_url.rstrip('/')}/bookings/{booking_id}/tickets"

    def ticket_link(self, ticket_id: uuid.UUID) -> str:
        key = self.tickets.link_key(ticket_id)
        return f"{self.settings.public_url.rstrip('/')}/tickets/{ticket_id}?key={key}"

    async def deliver_due(self) -> int:
        """Send what is due, one message after another; how many were sent."""
        if not self.configured:
            if not self._told_unconfigured:
                waiting = await self.db.fetchval(queries.WAITING_SQL)
                log.warning(
                    "SMTP is not configured (TICKETBOOK_SMTP_HOST): %d message(s) wait in the "
                    "outbox and more will; they are sent once it is set",
                    waiting,
                )
                self._told_unconfigured = True
            return 0
        sent = 0
        while True:
            # Claimed right before it is sent: the lease covers this one send only.
            row = await self.db.fetchrow(queries.CLAIM_SQL, self._lease_s())
            if row is None:
                return sent
            sent += await self._deliver(row)

    def _lease_s(self) -> float:
        # Longer than one send can take: every reply waited for as long as the timeout lets.
        return self.settings.smtp_timeout_s * SMTP_REPLIES + COMPOSE_S

    def retry_delay_s(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failure (1, 2, ...)."""
        return min(self.settings.retry_base_s * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY_S)

    async def _deliver(self, row: asyncpg.Record) -> int:
        try:
            message = await self.compose(row)
            await self._send(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempts = row["attempts"] + 1
            delay = self.retry_delay_s(attempts)
            await self.db.execute(queries.FAILED_SQL, row["id"], _describe(exc), delay)
            log.warning(
                "mail not sent; retrying in %.1f s",
                delay,
                extra={"outbox_id": str(row["id"]), "kind": row["kind"], "attempts": attempts},
            )
            return 0
        await self.db.execute(queries.SENT_SQL, row["id"])
        log.info("mail sent", extra={"outbox_id": str(row["id"]), "kind": row["kind"]})
        return 1

    async def compose(self, row: asyncpg.Record) -> EmailMessage:
        envelope = messages.Envelope(row["id"], row["to_address"], self.settings.from_address)
        if row["kind"] == EmailKind.BOOKING_CONFIRMED:
            owner = await self.db.fetchval(queries.BOOKING_USER_SQL, row["booking_id"])
            booking = await self.tickets.for_booking(row["booking_id"], owner)
            # In a worker thread, as every message: drawing its PDF (fpdf2, pure Python)
            # would hold up the process's requests.
            return await asyncio.to_thread(
                messages.booking_confirmed, envelope, booking, self.booking_link(row["booking_id"])
            )
        ticket = await self.tickets.ticket(row["ticket_id"])
        if ticket is None:
            raise LookupError(f"ticket {row['ticket_id']} is gone")
        given_by = await self.db.fetchval(queries.TRANSFER_SENDER_SQL, ticket.id)
        return await asyncio.to_thread(
            messages.ticket_transferred, envelope, ticket, self.ticket_link(ticket.id), given_by
        )

    async def _send(self, message: EmailMessage) -> None:
        s = self.settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            timeout=s.smtp_timeout_s,
        )


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


async def run_mailer(mailer: Mailer, interval_s: float) -> None:
    """Loop forever (until cancelled): send what is due, then sleep."""
    while True:
        try:
            await mailer.deliver_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The database may be restarting; try again next round.
            log.exception("outbox round failed")
        await asyncio.sleep(interval_s)
