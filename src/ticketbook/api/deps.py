"""Request dependencies: the app's services, the caller's identity, id parsing."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ticketbook.api.state import AppServices
from ticketbook.domain.errors import NotFound, Unauthenticated


class UnsupportedMediaType(Exception):
    pass


# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread
# pool, which costs more than everything else a catalog read does.


async def get_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


Services = Annotated[AppServices, Depends(get_services)]


# Declares the bearer scheme in the OpenAPI document; we check the header ourselves so that
# every failure gets our error body.
bearer_scheme = HTTPBearer(auto_error=False, description="Token from POST /api/auth/guest")


async def current_user_id(
    services: Services,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> uuid.UUID:
    if not authorization:
        raise Unauthenticated("Sign in first: send Authorization: Bearer <token>")
    scheme, _sep, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be: Bearer <token>")
    user_id = services.signer.verify(token.strip())
    if user_id is None:
        raise Unauthenticated("Invalid token")
    return user_id


CurrentUser = Annotated[uuid.UUID, Depends(current_user_id)]


async def require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType()


def parse_id(raw: str, what: str) -> uuid.UUID:
    """A path id; anything that is not a UUID names nothing, so it is a 404."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"{what} not found") from None
