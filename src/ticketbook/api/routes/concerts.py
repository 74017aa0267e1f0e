from __future__ import annotations

from fastapi import APIRouter

from ticketbook.api.deps import Services, parse_id
from ticketbook.catalog import service as catalog
from ticketbook.domain.errors import NotFound
from ticketbook.domain.schemas import Concert, ErrorBody, ItemEnvelope, ListEnvelope

router = APIRouter(tags=["concerts"])


@router.get("/concerts", response_model=ListEnvelope[Concert])
async def list_concerts(services: Services) -> ListEnvelope[Concert]:
    """Upcoming concerts, soonest first, each with its tiers and live availability."""
    concerts = await catalog.list_upcoming(services.db)
    return ListEnvelope[Concert](data=concerts, count=len(concerts))


@router.get(
    "/concerts/{concert_id}",
    response_model=ItemEnvelope[Concert],
    responses={404: {"model": ErrorBody}},
)
async def get_concert(concert_id: str, services: Services) -> ItemEnvelope[Concert]:
    concert = await catalog.get_concert(services.db, parse_id(concert_id, "Concert"))
    if concert is None:
        raise NotFound("Concert not found")
    return ItemEnvelope[Concert](data=concert)
