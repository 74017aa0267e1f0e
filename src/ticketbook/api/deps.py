"""The API's request dependencies: the caller's identity from the bearer token, JSON bodies.
(The services, client address and path ids are shared with the pages: ``http/deps.py``.)"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ticketbook.auth.identity import Identity
from ticketbook.domain.enums import SessionKind
from ticketbook.domain.errors import Forbidden, Unauthenticated
from ticketbook.http.deps import Services
from ticketbook.http.json_body import require_json_content
from ticketbook.services import AppServices

# Declares the bearer scheme in the OpenAPI document; we check the header ourselves so that
# every failure gets our error body.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A token from POST /api/auth/login (an account) or POST /api/auth/guest",
)


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _sep, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be: Bearer <token>")
    return token.strip()


async def bearer_identity(services: AppServices, authorization: str | None) -> Identity | None:
    """The caller, or None when no Authorization is sent; a bad token is still refused."""
    token = _bearer_token(authorization)
    if token is None:
        return None
    identity = await services.accounts.identify(token, SessionKind.API)
    if identity is None:
        raise Unauthenticated("Invalid or expired token; sign in again")
    return identity


def signed_in(identity: Identity | None) -> Identity:
    if identity is None:
        raise Unauthenticated("Sign in first: send Authorization: Bearer <token>")
    return identity


async def optional_identity(
    services: Services,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Identity | None:
    return await bearer_identity(services, authorization)


async def current_identity(
    identity: Annotated[Identity | None, Depends(optional_identity)],
) -> Identity:
    return signed_in(identity)


async def current_user_id(identity: Annotated[Identity, Depends(current_identity)]) -> uuid.UUID:
    return identity.user_id


async def current_organizer(identity: Annotated[Identity, Depends(current_identity)]) -> Identity:
    if not identity.is_organizer:
        raise Forbidden("Only organizers can do this")
    return identity


OptionalIdentity = Annotated[Identity | None, Depends(optional_identity)]
# `openapi_extra` for a route with an OptionalIdentity: FastAPI lists the bearer scheme as
# required, and this adds the empty requirement, "or no token at all".
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}
CurrentIdentity = Annotated[Identity, Depends(current_identity)]
CurrentUser = Annotated[uuid.UUID, Depends(current_user_id)]
CurrentOrganizer = Annotated[Identity, Depends(current_organizer)]


async def require_json(request: Request) -> None:
    require_json_content(request)
