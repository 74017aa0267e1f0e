"""A small typed Python client for the TicketBook API, sync and async, on httpx.

    from ticketbook.client import TicketBookClient

    with TicketBookClient("http://127.0.0.1:8000") as api:
        api.guest()                                  # a guest identity; the client keeps its token
        concert = api.concerts()[0]
        answer = api.book(concert.ticket_tiers[0].id, 2)
        if answer.confirmed: ...                     # 402, 409 and the like are answers too

It reads every answer into the pydantic models of `ticketbook.domain.schemas`, the ones the
API is built with. `calls` describes each request once; the two clients only send them.
"""

from ticketbook.client.calls import ApiError, BookingAnswer, Call
from ticketbook.client.clients import AsyncTicketBookClient, TicketBookClient

__all__ = ["ApiError", "AsyncTicketBookClient", "BookingAnswer", "Call", "TicketBookClient"]
