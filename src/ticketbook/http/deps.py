"""Request dependencies both edges use: the services, the caller's address, path ids."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from ticketbook.domain.errors import NotFound
from ticketbook.services import AppServices

# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread
# pool, which costs more than everything else a catalog read does.


def services_of(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


async def get_services(request: Request) -> AppServices:
    return services_of(request)


Services = Annotated[AppServices, Depends(get_services)]


def client_address(request: Request) -> str | None:
    """The caller's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return request.client.host if request.client else None


def parse_id(raw: str, what: str) -> uuid.UUID:
    """A path id; anything that is not a UUID names nothing, so it is a 404."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"{what} not found") from None
