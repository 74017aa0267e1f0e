from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ticketbook.domain.schemas import Health, Readiness
from ticketbook.http.deps import Services
from ticketbook.http.responses import json_response
from ticketbook.ops.health import database_answers, database_state

router = APIRouter(tags=["health"])

HEALTH_TIMEOUT_S = 2.0


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(services: Services) -> Response:
    """Readiness: the database answers and its schema is at this code's migration. A load
    balancer sends traffic only to ready instances; liveness is /api/health-check."""
    state = await database_state(services.db, HEALTH_TIMEOUT_S)
    readiness = Readiness(
        success=state.ready,
        status="ready" if state.ready else "not_ready",
        database="reachable" if state.reachable else "unreachable",
        schema_revision=state.revision,
        expected_revision=state.expected_revision,
    )
    status = 200 if readiness.success else 503
    headers = None if readiness.success else {"Retry-After": "1"}
    return json_response(status, readiness.model_dump(mode="json"), headers)


@router.get("/health-check", response_model=Health, responses={503: {"model": Health}})
async def health_check(services: Services) -> Response:
    """Liveness plus database reachability: 503 when PostgreSQL does not answer."""
    if await database_answers(services.db, HEALTH_TIMEOUT_S):
        health = Health(success=True, status="ok", database="reachable")
        return json_response(200, health.model_dump(mode="json"))
    health = Health(success=False, status="unavailable", database="unreachable")
    return json_response(503, health.model_dump(mode="json"), {"Retry-After": "1"})
