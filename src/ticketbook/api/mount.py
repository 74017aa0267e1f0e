"""Mounts the JSON API on the app: its routes under /api and its OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI

from ticketbook.api.openapi import build_openapi
from ticketbook.api.plain_routes import plain_routes
from ticketbook.api.routes import (
    auth,
    bookings,
    checkin,
    concerts,
    health,
    live,
    organizer,
    queue,
    seating,
    tickets,
)

# The busiest routes first: a request is matched against the routers in this order, and
# each router passed costs its routes' matching (a route in the fifth router spent ~65 us
# matching, in the first ~10 us). No two API paths match the same URL, so the order changes
# nothing else.
ROUTERS_BUSIEST_FIRST = (
    bookings,
    concerts,
    seating,
    queue,
    checkin,
    auth,
    live,
    tickets,
    health,
    organizer,
)


API_PREFIX = "/api"


def install(app: FastAPI) -> None:
    for module in ROUTERS_BUSIEST_FIRST:
        app.include_router(module.router, prefix=API_PREFIX)
    # Ahead of everything, the busiest routes the short way (api/plain_routes.py).
    app.router.routes[0:0] = plain_routes(API_PREFIX)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
