from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request

from ticketbook.api.deps import OPTIONAL_AUTH, CurrentIdentity, OptionalIdentity, require_json
from ticketbook.auth.service import SignedIn
from ticketbook.domain.enums import SessionKind
from ticketbook.domain.errors import InvalidInput
from ticketbook.domain.schemas import AccountSession, Credentials, Done, ErrorBody, GuestSession, Me
from ticketbook.http.deps import Services, client_address

router = APIRouter(tags=["auth"])

_SIGN_IN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    415: {"model": ErrorBody},
    429: {"model": ErrorBody, "description": "Too many attempts; see Retry-After"},
}


@router.post(
    "/auth/guest",
    response_model=GuestSession,
    responses={429: {"model": ErrorBody, "description": "Too many new guests from this address"}},
)
async def guest(request: Request, services: Services) -> GuestSession:
    """Create a guest identity and return its bearer token. Limited per client address
    (429 with Retry-After past it)."""
    user_id = await services.accounts.create_guest(client_address(request))
    return GuestSession(user_id=user_id, token=services.signer.issue(user_id))


def _session(services: Services, signed_in: SignedIn) -> AccountSession:
    identity = signed_in.identity
    assert identity.email is not None
    return AccountSession(
        user_id=identity.user_id,
        email=identity.email,
        role=identity.role,
        token=signed_in.token,
        expires_at=datetime.now(UTC) + timedelta(seconds=services.accounts.session_ttl_s),
        moved_bookings=signed_in.moved_bookings,
    )


@router.post(
    "/auth/register",
    response_model=AccountSession,
    status_code=201,
    dependencies=[Depends(require_json)],
    responses={**_SIGN_IN_ERRORS, 409: {"model": ErrorBody, "description": "Email taken"}},
    openapi_extra=OPTIONAL_AUTH,
)
async def register(
    body: Credentials, request: Request, services: Services, caller: OptionalIdentity
) -> AccountSession:
    """Create a fan account and sign it in. Sent with a guest's token, the guest's bookings
    move into the new account (and that guest token names an empty guest from then on)."""
    if caller is not None and not caller.is_guest:
        raise InvalidInput("You are signed in already; sign out to register another account")
    signed_in = await services.accounts.register(
        email=body.email,
        password=body.password,
        address=client_address(request),
        guest_id=caller.user_id if caller else None,
        kind=SessionKind.API,
    )
    return _session(services, signed_in)


@router.post(
    "/auth/login",
    response_model=AccountSession,
    dependencies=[Depends(require_json)],
    responses=_SIGN_IN_ERRORS,
    openapi_extra=OPTIONAL_AUTH,
)
async def login(
    body: Credentials, request: Request, services: Services, caller: OptionalIdentity
) -> AccountSession:
    """Sign in with email and password for a bearer token. A wrong email and a wrong
    password get the same answer. Sent with a guest's token, the guest's bookings move into
    the account."""
    signed_in = await services.accounts.sign_in(
        email=body.email,
        password=body.password,
        address=client_address(request),
        kind=SessionKind.API,
        guest_id=caller.user_id if caller is not None and caller.is_guest else None,
    )
    return _session(services, signed_in)


@router.post("/auth/logout", response_model=Done, responses={401: {"model": ErrorBody}})
async def logout(identity: CurrentIdentity, services: Services) -> Done:
    """Revoke the token this request carries; it is refused from now on."""
    if identity.session_id is None:
        raise InvalidInput("A guest token is not a sign-in; just forget it")
    await services.accounts.sign_out(identity.session_id)
    return Done(message="Signed out")


@router.get("/auth/me", response_model=Me, responses={401: {"model": ErrorBody}})
async def me(identity: CurrentIdentity) -> Me:
    """Who this token belongs to."""
    return Me(user_id=identity.user_id, role=identity.role, email=identity.email)
