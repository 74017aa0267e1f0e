"""TEST-ONLY routes, mounted only when TICKETBOOK_ENABLE_TEST_ROUTES=1 (see ``app.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, StrictInt, StrictStr

from ticketbook.api.deps import CurrentUser, require_json
from ticketbook.http.deps import Services, parse_id
from ticketbook.testing.naive_booking import naive_book

router = APIRouter(tags=["testing"], include_in_schema=False)


class NaiveBookingRequest(BaseModel):
    ticketTierId: StrictStr
    quantity: StrictInt


@router.post("/_test/naive-bookings", dependencies=[Depends(require_json)])
async def naive_booking(
    body: NaiveBookingRequest, user_id: CurrentUser, services: Services
) -> dict[str, bool]:
    tier_id = parse_id(body.ticketTierId, "Ticket tier")
    return {"booked": await naive_book(services.db, user_id, tier_id, body.quantity)}
