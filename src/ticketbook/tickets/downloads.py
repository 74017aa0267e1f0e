"""The tickets' PDF as the edges serve it: made off the event loop (fpdf2 is pure Python,
about 110 ms for 10 tickets, which would hold up every other request of the worker), and
sent as a private download. Both the pages and the API use these."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.responses import Response

from ticketbook.tickets.pdf import tickets_pdf
from ticketbook.tickets.service import TicketView


async def render_pdf(tickets: Sequence[TicketView], *, title: str) -> bytes:
    """``tickets_pdf`` in a worker thread: the loop serves other requests meanwhile."""
    return await asyncio.to_thread(tickets_pdf, list(tickets), title=title)


def pdf_response(document: bytes, filename: str) -> Response:
    return Response(
        document,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            # A ticket's code is a credential: no shared cache may keep it.
            "Cache-Control": "private, no-store",
        },
    )
