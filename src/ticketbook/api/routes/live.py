from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import StreamingResponse

from ticketbook.catalog import service as catalog
from ticketbook.domain.errors import NotFound
from ticketbook.domain.schemas import ErrorBody
from ticketbook.http.deps import Services, parse_id
from ticketbook.live.stream import availability_stream

router = APIRouter(tags=["concerts"])

# OpenAPI 3.1 reads the `schema` of an event stream as the fields of one event.
AVAILABILITY_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"const": "availability"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {
                "type": "object",
                "required": ["concertId", "tierId", "availableQuantity"],
                "properties": {
                    "concertId": {"type": "string", "format": "uuid"},
                    "tierId": {"type": "string", "format": "uuid"},
                    "availableQuantity": {"type": "integer", "minimum": 0},
                },
            },
        },
    },
}

EVENT_STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx and similar proxies must pass events on at once, not buffer them.
    "X-Accel-Buffering": "no",
}


@router.get(
    "/concerts/{concert_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events. First the current count of every tier, then "
            "each change: `event: availability` with data "
            '`{"concertId", "tierId", "availableQuantity"}`.',
            "content": {"text/event-stream": {"schema": AVAILABILITY_EVENT}},
        },
        404: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def concert_events(concert_id: str, services: Services) -> StreamingResponse:
    """Live availability of one concert's tiers, as a Server-Sent Events stream."""
    hub = services.live
    concert_uuid = parse_id(concert_id, "Concert")
    if hub is None:
        raise NotFound("Live updates are not enabled on this server")
    # Subscribe first, then read the counts: a change in between is sent after the snapshot.
    subscription = hub.subscribe(str(concert_uuid))
    try:
        concert = await catalog.get_concert(services.db, concert_uuid)
    except BaseException:
        hub.unsubscribe(subscription)
        raise
    if concert is None:
        hub.unsubscribe(subscription)
        raise NotFound("Concert not found")
    snapshot = [(str(t.id), t.available_quantity) for t in concert.ticket_tiers]
    return StreamingResponse(
        availability_stream(hub, subscription, snapshot),
        media_type="text/event-stream",
        headers=EVENT_STREAM_HEADERS,
    )
