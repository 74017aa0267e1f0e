"""The busiest API routes served as plain Starlette routes, ahead of FastAPI's routing.

FastAPI's handling of a route (its routers' matching, its request handler, dependency
solving) cost ~75 us of CPU a request here before the endpoint ran, and ~30 us more for a
``Depends``: a tenth of a catalog read's CPU. These routes answer exactly as their FastAPI
declarations (``api/routes``), which stay what the OpenAPI document is built from; only the
way to the same endpoint code is shorter. Errors go through the same app-level handlers.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from ticketbook.api.routes import bookings, concerts
from ticketbook.http.deps import services_of


class PlainRoute(Route):
    """A Starlette route that says it matched (``scope["route"]``), as FastAPI's do: the
    request metrics label answers by their route template (observability/middleware.py).
    Its methods are the ones named, as FastAPI's: Starlette would add HEAD to a GET (and
    to its 405's Allow), but HEAD is a GET by the time it is routed (http/hygiene.py)."""

    def __init__(self, path: str, endpoint: Any, methods: list[str]) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.methods = set(methods)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


async def _list_concerts(request: Request) -> Response:
    return await concerts.list_concerts(services_of(request))


async def _get_concert(request: Request) -> Response:
    return await concerts.get_concert(request.path_params["concert_id"], services_of(request))


def plain_routes() -> list[BaseRoute]:
    return [
        PlainRoute("/api/bookings", bookings.create_booking, methods=["POST"]),
        PlainRoute("/api/concerts", _list_concerts, methods=["GET"]),
        PlainRoute("/api/concerts/{concert_id}", _get_concert, methods=["GET"]),
    ]
