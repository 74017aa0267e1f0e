from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from ticketbook.catalog import service as catalog
from ticketbook.domain.errors import NotFound
from ticketbook.domain.schemas import (
    Concert,
    ConcertAvailability,
    ErrorBody,
    ItemEnvelope,
    ListEnvelope,
)
from ticketbook.http.deps import Services, parse_id
from ticketbook.http.responses import json_response
from ticketbook.services import AppServices

router = APIRouter(tags=["concerts"])


@router.get("/concerts", response_model=ListEnvelope[Concert])
async def list_concerts(services: Services) -> Response:
    """Upcoming concerts, soonest first, each with its tiers and live availability."""
    concerts = await catalog.upcoming_wire(services.catalog_db)
    return json_response(200, {"success": True, "data": concerts, "count": len(concerts)})


@router.get(
    "/concerts/{concert_id}",
    response_model=ItemEnvelope[Concert],
    responses={404: {"model": ErrorBody}},
)
async def get_concert(concert_id: str, services: Services) -> Response:
    concert = await _concert_wire(services, concert_id)
    return json_response(200, {"success": True, "data": concert})


@router.get(
    "/concerts/{concert_id}/availability",
    response_model=ItemEnvelope[ConcertAvailability],
    responses={404: {"model": ErrorBody}},
)
async def get_availability(concert_id: str, services: Services) -> Response:
    """The live ticket counts of a concert's tiers (the brief's availability route)."""
    concert = await _concert_wire(services, concert_id)
    return json_response(200, {"success": True, "data": catalog.availability_wire(concert)})


async def _concert_wire(services: AppServices, raw_id: str) -> dict[str, Any]:
    """One concert in its wire shape, from the catalog's (replica) pool; 404 when unknown."""
    concert = await catalog.concert_wire(services.catalog_db, parse_id(raw_id, "Concert"))
    if concert is None:
        raise NotFound("Concert not found")
    return concert
