"""Protected on-sales (docs/queue.md): the organizer sets one, visitors join its waiting room
and poll their place, and anyone reads the draw's record. The rules are the waiting room's
(queue/service.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from starlette.responses import Response

from ticketbook.api.deps import CurrentIdentity, CurrentOrganizer, require_json
from ticketbook.domain.schemas import (
    DrawRecord,
    ErrorBody,
    ItemEnvelope,
    OnSale,
    OnSaleRequest,
    Place,
    QueueStatus,
)
from ticketbook.http.deps import Services, parse_id
from ticketbook.http.responses import json_response

router = APIRouter(tags=["queue"])

# A place and its admission token are the caller's own: never in a shared cache.
NO_STORE = {"Cache-Control": "no-store"}
# A drawn record is final (a snapshot taken at the draw): shared caches may keep it.
FINAL = "public, max-age=300"

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    404: {"model": ErrorBody, "description": "No such concert, or it has no on-sale"},
}


@router.put(
    "/organizer/concerts/{concert_id}/onsale",
    response_model=ItemEnvelope[OnSale],
    dependencies=[Depends(require_json)],
    responses={
        **_ERRORS,
        403: {"model": ErrorBody, "description": "Not an organizer, or not this concert's"},
        409: {
            "model": ErrorBody,
            "description": "opensAt can't change: opened, drawn, or moved to the past after joins",
        },
        415: {"model": ErrorBody},
    },
)
async def set_onsale(
    concert_id: str, body: OnSaleRequest, caller: CurrentOrganizer, services: Services
) -> ItemEnvelope[OnSale]:
    """Set the concert's on-sale: when it opens, whether its waiting room protects it, the
    rate visitors are let in at and how long an admission lasts. The secret seed is drawn
    when the on-sale is first set and never changes (its SHA-256 is published at once);
    opensAt can't move once it has passed, nor into the past once anyone has joined."""
    onsale = await services.queue.set_onsale(
        parse_id(concert_id, "Concert"),
        opens_at=body.opens_at,
        protected=body.protected,
        rate_per_minute=body.rate_per_minute,
        window_s=body.admission_window_s,
        by=caller,
    )
    return ItemEnvelope(data=onsale)


@router.post(
    "/concerts/{concert_id}/queue",
    response_model=ItemEnvelope[Place],
    responses={**_ERRORS, 409: {"model": ErrorBody, "description": "No waiting room"}},
)
async def join_queue(concert_id: str, caller: CurrentIdentity, services: Services) -> Response:
    """Join the concert's waiting room (any identity, guests too). Joining again gives the
    same place: one per identity. Before the on-sale the place is drawn at random at the
    opening; after it, places go in arrival order."""
    place = await services.queue.join(parse_id(concert_id, "Concert"), caller.user_id)
    return json_response(200, {"success": True, "data": place.model_dump(mode="json")}, NO_STORE)


@router.get(
    "/concerts/{concert_id}/queue", response_model=ItemEnvelope[QueueStatus], responses=_ERRORS
)
async def queue_status(concert_id: str, caller: CurrentIdentity, services: Services) -> Response:
    """Where the caller stands: position, people ahead, the frontier, an estimated wait, the
    draw's hash (its seed after the draw), and once admitted the admission token to send as
    X-Queue-Admission with POST /api/bookings."""
    status = await services.queue.status(parse_id(concert_id, "Concert"), caller.user_id)
    return json_response(200, {"success": True, "data": status.model_dump(mode="json")}, NO_STORE)


@router.get(
    "/concerts/{concert_id}/queue/draw",
    response_model=ItemEnvelope[DrawRecord],
    responses={
        304: {"description": "Not modified (If-None-Match named its ETag)"},
        404: {"model": ErrorBody},
    },
)
async def draw_record(
    concert_id: str,
    services: Services,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The draw's public record: before the draw the seed's SHA-256 and the opening time;
    after it the seed, the early joiners' anonymised ids (sorted) and their order, enough to
    recompute it (docs/queue.md). A drawn record is a snapshot taken at the draw and never
    changes: it is served with an ETag and may be cached for 5 minutes."""
    body, etag, final = await services.queue.draw_record_json(parse_id(concert_id, "Concert"))
    headers = {"ETag": etag, "Cache-Control": FINAL if final else "no-cache"}
    if etag in (tag.strip() for tag in (if_none_match or "").split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
