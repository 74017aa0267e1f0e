"""Reserved seating in the API: a concert's seating, its layout (served once, revalidated
by ETag), the live seat states (2 bits a seat), and organizers' layouts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from starlette.responses import Response

from ticketbook.api.deps import CurrentOrganizer, require_json
from ticketbook.domain.errors import NotFound
from ticketbook.domain.schemas import (
    ErrorBody,
    ItemEnvelope,
    LayoutInfo,
    SeatConcert,
    SeatingInfo,
    SeatZone,
    format_money,
)
from ticketbook.http.deps import Services, parse_id
from ticketbook.http.responses import json_response
from ticketbook.seating import service as seating
from ticketbook.seating.layout import layout_document
from ticketbook.seating.service import ConcertSeating, StoredLayout

router = APIRouter(tags=["seating"])

_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}
_ORGANIZER_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Not a valid layout (the message names where)"},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "Not an organizer, or not theirs"},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody, "description": "Seats already booked: can't be replaced"},
    415: {"model": ErrorBody},
}
# A layout is served once and then revalidated: 304 while its version is the same.
LAYOUT_CACHE = "public, max-age=0, must-revalidate"
LayoutDocument = Annotated[
    dict[str, Any],
    Body(description="A layout in docs/seating.md's format (`ticketbook.layout/1`)"),
]


async def _seating(services: Services, raw_id: str) -> ConcertSeating:
    found = await seating.concert_seating(services.db, parse_id(raw_id, "Concert"))
    if found is None:
        raise NotFound("This concert has no reserved seats")
    return found


def _seating_info(found: ConcertSeating) -> SeatingInfo:
    concert = found.concert_id
    return SeatingInfo(
        concert_id=concert,
        layout_id=found.layout.id,
        layout_version=found.layout.version,
        seat_count=len(found.layout.layout.seats),
        zones=[
            SeatZone(
                tier_id=z.tier_id,
                zone=z.zone,
                name=z.name,
                price_cents=z.price_cents,
                price=format_money(z.price_cents),
                currency=z.currency,
                total_quantity=z.total,
                available_quantity=z.available,
            )
            for z in found.zones
        ],
        layout_url=f"/api/layouts/{found.layout.id}",
        states_url=f"/api/concerts/{concert}/seats/states",
    )


@router.get(
    "/concerts/{concert_id}/seating", response_model=ItemEnvelope[SeatingInfo], responses=_ERRORS
)
async def concert_seating(concert_id: str, services: Services) -> ItemEnvelope[SeatingInfo]:
    """A seated concert's layout, its price zones (each a SEATED tier) and where the live
    seat states are. 404 for a concert without reserved seats."""
    return ItemEnvelope(data=_seating_info(await _seating(services, concert_id)))


@router.get(
    "/concerts/{concert_id}/seats/states",
    response_class=Response,
    responses={
        **_ERRORS,
        200: {
            "description": "2 bits a seat in layout order, first seat in the high bits of "
            "the first byte: 0 free, 1 held by a payment in flight, 2 sold, 3 not for sale",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
    },
)
async def seat_states(concert_id: str, services: Services) -> Response:
    """Every seat's state now (a 60,000-seat stadium in 15,000 bytes)."""
    states = await seating.seat_states(services.db, parse_id(concert_id, "Concert"))
    return Response(
        states.encoded,
        media_type="application/octet-stream",
        headers={
            "Cache-Control": "no-cache",
            "X-Seat-Count": str(states.count),
            "X-Layout-Version": str(states.layout_version),
        },
    )


@router.get(
    "/layouts/{layout_id}",
    responses={
        **_ERRORS,
        200: {"description": "The layout, every seat explicit (docs/seating.md's format)"},
        304: {"description": "Not modified since the ETag sent in If-None-Match"},
    },
)
async def get_layout(layout_id: str, request: Request, services: Services) -> Response:
    """A layout, for drawing the map: served once, then revalidated with its ETag."""
    stored = await seating.get_layout(services.db, parse_id(layout_id, "Layout"))
    headers = {"ETag": stored.etag, "Cache-Control": LAYOUT_CACHE}
    if request.headers.get("if-none-match") == stored.etag:
        return Response(status_code=304, headers=headers)
    return json_response(200, layout_document(stored.layout), headers)


def _layout_info(stored: StoredLayout) -> LayoutInfo:
    layout = stored.layout
    return LayoutInfo(
        id=stored.id,
        name=layout.name,
        version=stored.version,
        seat_count=len(layout.seats),
        sections=[s.key for s in layout.sections],
        zones=[z.key for z in layout.zones],
    )


@router.post(
    "/organizer/layouts",
    response_model=ItemEnvelope[LayoutInfo],
    status_code=201,
    dependencies=[Depends(require_json)],
    responses=_ORGANIZER_ERRORS,
)
async def create_layout(
    document: LayoutDocument, caller: CurrentOrganizer, services: Services
) -> ItemEnvelope[LayoutInfo]:
    """Store a venue layout (organizers only)."""
    layout = seating.parse(document)
    stored = await seating.create_layout(services.db, layout, organizer_id=caller.user_id)
    return ItemEnvelope(data=_layout_info(stored))


@router.put(
    "/organizer/layouts/{layout_id}",
    response_model=ItemEnvelope[LayoutInfo],
    dependencies=[Depends(require_json)],
    responses=_ORGANIZER_ERRORS,
)
async def replace_layout(
    layout_id: str, document: LayoutDocument, caller: CurrentOrganizer, services: Services
) -> ItemEnvelope[LayoutInfo]:
    """Replace a layout (its next version); the concerts seated on it get its seats. Refused
    (409) once seats of one of them were booked."""
    layout = seating.parse(document)
    stored = await seating.replace_layout(
        services.db, parse_id(layout_id, "Layout"), layout, organizer_id=caller.user_id
    )
    return ItemEnvelope(data=_layout_info(stored))


@router.put(
    "/organizer/concerts/{concert_id}/seating",
    response_model=ItemEnvelope[SeatingInfo],
    dependencies=[Depends(require_json)],
    responses=_ORGANIZER_ERRORS,
)
async def seat_concert(
    concert_id: str, body: SeatConcert, caller: CurrentOrganizer, services: Services
) -> ItemEnvelope[SeatingInfo]:
    """Sell reserved seats for the concert: its layout and a price per zone. Each zone
    becomes a SEATED tier; the concert's general-admission tiers stay. Refused (409) once
    seats were booked."""
    concert = parse_id(concert_id, "Concert")
    await seating.seat_concert(
        services.db,
        concert,
        parse_id(body.layout_id, "Layout"),
        dict(body.prices_cents),
        body.currency,
        organizer_id=caller.user_id,
    )
    return ItemEnvelope(data=_seating_info(await _seating(services, concert_id)))
