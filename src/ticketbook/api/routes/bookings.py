from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import Field, TypeAdapter
from starlette.responses import Response

from ticketbook.api.booking_answers import booking_answer, booking_headers
from ticketbook.api.deps import CurrentUser, bearer_identity, signed_in
from ticketbook.booking.idempotency import InvalidIdempotencyKey, parse_key
from ticketbook.domain.errors import Forbidden, InvalidInput
from ticketbook.domain.schemas import (
    BookingEnvelope,
    BookingRequest,
    BookingWithDetails,
    ErrorBody,
    ListEnvelope,
)
from ticketbook.http.deps import Services, client_address, parse_id, services_of
from ticketbook.http.json_body import check_header, parse_body, read_json, require_json_content
from ticketbook.http.responses import json_response

router = APIRouter(tags=["bookings"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
}


# The route reads its own request (the hottest one: FastAPI's dependency solving cost it a
# fifth of its CPU), so what FastAPI would have documented from the signature is declared
# here, and the body's schema is added to the components by api/openapi.py.
IDEMPOTENCY_KEY = TypeAdapter(Annotated[str, Field(max_length=64)])
_CREATE_BOOKING_DOC: dict[str, Any] = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {
                "anyOf": [{"maxLength": 64, "type": "string"}, {"type": "null"}],
                "title": "Idempotency-Key",
            },
        },
        {
            "in": "header",
            "name": "X-Queue-Admission",
            "required": False,
            "description": "A protected on-sale's admission token, from GET "
            "/api/concerts/{concertId}/queue once admitted (docs/queue.md)",
            "schema": {
                "anyOf": [{"maxLength": 200, "type": "string"}, {"type": "null"}],
                "title": "X-Queue-Admission",
            },
        },
    ],
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/BookingRequest"}}
        },
        "required": True,
    },
    "security": [{"HTTPBearer": []}],
}


@router.post(
    "/bookings",
    response_model=BookingEnvelope,
    openapi_extra=_CREATE_BOOKING_DOC,
    responses={
        **_ERRORS,
        402: {"model": BookingEnvelope, "description": "Payment failed; tickets released"},
        415: {"model": ErrorBody},
        422: {"model": ErrorBody, "description": "Idempotency key reused with another payload"},
        429: {"model": ErrorBody, "description": "Too many booking requests; see Retry-After"},
    },
)
async def create_booking(request: Request) -> Response:
    """Hold, pay and settle in one call: 200 confirmed, 402 payment failed, 409 sold out."""
    # In FastAPI's order: the body must be JSON (415) and decode (400), the caller must be
    # signed in (401), then every header and body field is checked at once (400).
    require_json_content(request)
    data = await read_json(request)
    services = services_of(request)
    user_id = signed_in(
        await bearer_identity(services, request.headers.get("authorization"))
    ).user_id
    idempotency_key = request.headers.get("idempotency-key")
    errors = check_header(IDEMPOTENCY_KEY, "Idempotency-Key", idempotency_key)
    body, body_errors = parse_body(BookingRequest, data)
    if errors or body is None:
        raise RequestValidationError([*errors, *body_errors])
    if body.user_id is not None and _as_uuid(body.user_id) != user_id:
        raise Forbidden("userId must be your own (or left out)")
    try:
        key = parse_key(idempotency_key, body.idempotency_key)
    except InvalidIdempotencyKey as exc:
        raise InvalidInput(str(exc)) from None
    tier_id = _as_uuid(body.ticket_tier_id)
    if tier_id is None:
        raise InvalidInput("ticketTierId must be a UUID")
    # A protected on-sale's gate (403 QUEUE_REQUIRED): a dictionary lookup for the others.
    await services.queue.require_admission(
        user_id, tier_id, request.headers.get("x-queue-admission")
    )
    result = await services.engine.book(
        user_id=user_id,
        tier_id=tier_id,
        quantity=body.tickets,
        key=key,
        address=client_address(request),
        seats=tuple(body.seat_ids or ()),
        section=body.section,
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
