"""Mounts the JSON API on the app: its routes under /api and its OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI

from ticketbook.api.openapi import build_openapi
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


def install(app: FastAPI) -> None:
    for module in (
        health,
        concerts,
        live,
        auth,
        bookings,
        organizer,
        seating,
        checkin,
        tickets,
        queue,
    ):
        app.include_router(module.router, prefix="/api")
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
