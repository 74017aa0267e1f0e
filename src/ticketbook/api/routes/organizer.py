from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import StreamingResponse

from ticketbook.api.deps import CurrentOrganizer, require_json
from ticketbook.domain.schemas import (
    Concert,
    ConcertSales,
    ErrorBody,
    ItemEnvelope,
    ListEnvelope,
    NewConcert,
)
from ticketbook.http.deps import Services, parse_id
from ticketbook.organizer import service as organizer

router = APIRouter(tags=["organizer"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "Not an organizer, or not this concert's"},
    404: {"model": ErrorBody},
}


@router.post(
    "/concerts",
    response_model=ItemEnvelope[Concert],
    status_code=201,
    dependencies=[Depends(require_json)],
    responses={**_ERRORS, 415: {"model": ErrorBody}},
)
async def create_concert(
    body: NewConcert, caller: CurrentOrganizer, services: Services
) -> ItemEnvelope[Concert]:
    """Create a concert with its tiers (organizers only); it goes on sale at once."""
    concert = await organizer.create_concert(services.db, caller, body)
    return ItemEnvelope(data=concert)


@router.get("/organizer/concerts", response_model=ListEnvelope[ConcertSales], responses=_ERRORS)
async def my_concerts(caller: CurrentOrganizer, services: Services) -> ListEnvelope[ConcertSales]:
    """The caller's concerts with their sales per tier."""
    sales = await organizer.my_sales(services.db, caller)
    return ListEnvelope(data=sales, count=len(sales))


@router.get(
    "/organizer/concerts/{concert_id}/sales",
    response_model=ItemEnvelope[ConcertSales],
    responses=_ERRORS,
)
async def concert_sales(
    concert_id: str, caller: CurrentOrganizer, services: Services
) -> ItemEnvelope[ConcertSales]:
    """Sold, held and available tickets and revenue per tier, for the concert's organizer."""
    sales = await organizer.concert_sales(services.db, caller, parse_id(concert_id, "Concert"))
    return ItemEnvelope(data=sales)


@router.get(
    "/organizer/concerts/{concert_id}/sales.csv",
    response_class=StreamingResponse,
    responses={
        **_ERRORS,
        200: {
            "description": "One row per paid booking (confirmed or cancelled); no buyer data",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
async def export_sales(
    concert_id: str, caller: CurrentOrganizer, services: Services
) -> StreamingResponse:
    """The concert's sales as CSV, for the concert's organizer."""
    uuid_ = parse_id(concert_id, "Concert")
    rows = await organizer.export_rows(services.db, caller, uuid_)
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sales-{uuid_}.csv"'},
    )
