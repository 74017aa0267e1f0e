from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import Response

from ticketbook.api.booking_answers import booking_answer, booking_headers
from ticketbook.api.deps import CurrentUser, require_json
from ticketbook.booking.idempotency import InvalidIdempotencyKey, parse_key
from ticketbook.domain.errors import Forbidden, InvalidInput
from ticketbook.domain.schemas import (
    BookingEnvelope,
    BookingRequest,
    BookingWithDetails,
    ErrorBody,
    ListEnvelope,
)
from ticketbook.http.deps import Services, client_address, parse_id
from ticketbook.http.responses import json_response

router = APIRouter(tags=["bookings"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
}


@router.post(
    "/bookings",
    response_model=BookingEnvelope,
    dependencies=[Depends(require_json)],
    responses={
        **_ERRORS,
        402: {"model": BookingEnvelope, "description": "Payment failed; tickets released"},
        415: {"model": ErrorBody},
        422: {"model": ErrorBody, "description": "Idempotency key reused with another payload"},
        429: {"model": ErrorBody, "description": "Too many booking requests; see Retry-After"},
    },
)
async def create_booking(
    body: BookingRequest,
    request: Request,
    user_id: CurrentUser,
    services: Services,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=64)] = None,
) -> Response:
    """Hold, pay and settle in one call: 200 confirmed, 402 payment failed, 409 sold out."""
    if body.user_id is not None and _as_uuid(body.user_id) != user_id:
        raise Forbidden("userId must be your own (or left out)")
    try:
        key = parse_key(idempotency_key, body.idempotency_key)
    except InvalidIdempotencyKey as exc:
        raise InvalidInput(str(exc)) from None
    tier_id = _as_uuid(body.ticket_tier_id)
    if tier_id is None:
        raise InvalidInput("ticketTierId must be a UUID")
    result = await services.engine.book(
        user_id=user_id,
        tier_id=tier_id,
        quantity=body.quantity,
        key=key,
        address=client_address(request),
    )
    status, answer = booking_answer(
        result, ticket_cap=services.settings.limits.max_tickets_per_concert
    )
    return json_response(status, answer, booking_headers(result))


def _as_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


@router.get(
    "/bookings/{user_id}", response_model=ListEnvelope[BookingWithDetails], responses=_ERRORS
)
async def list_bookings(user_id: str, caller: CurrentUser, services: Services) -> Response:
    """The caller's own bookings, newest first. Anyone else's are refused."""
    if parse_id(user_id, "User") != caller:
        raise Forbidden("You can only list your own bookings")
    bookings = await services.engine.list_for_user_wire(caller)
    return json_response(200, {"success": True, "data": bookings, "count": len(bookings)})


@router.post("/bookings/{booking_id}/cancel", response_model=BookingEnvelope, responses=_ERRORS)
async def cancel_booking(
    booking_id: str, caller: CurrentUser, services: Services
) -> BookingEnvelope:
    """Cancel your confirmed booking; its tickets go back on sale. Repeating it is harmless."""
    booking = await services.engine.cancel(
        user_id=caller, booking_id=parse_id(booking_id, "Booking")
    )
    return BookingEnvelope(success=True, booking=booking, message="Booking cancelled")
