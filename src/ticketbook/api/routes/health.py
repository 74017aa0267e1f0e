from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.responses import Response

from ticketbook.api.deps import Services
from ticketbook.api.errors import json_response
from ticketbook.domain.schemas import Health

router = APIRouter(tags=["health"])

HEALTH_TIMEOUT_S = 2.0


@router.get("/health-check", response_model=Health, responses={503: {"model": Health}})
async def health_check(services: Services) -> Response:
    """Liveness plus database reachability: 503 when PostgreSQL does not answer."""
    try:
        await asyncio.wait_for(services.db.fetchval("SELECT 1"), HEALTH_TIMEOUT_S)
        health = Health(success=True, status="ok", database="reachable")
        return json_response(200, health.model_dump(mode="json"))
    except Exception:
        health = Health(success=False, status="unavailable", database="unreachable")
        return json_response(503, health.model_dump(mode="json"), {"Retry-After": "1"})
