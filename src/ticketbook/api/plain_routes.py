"""The busiest API routes served as plain Starlette routes, ahead of FastAPI's routing.

FastAPI's handling of a route (its routers' matching, its request handler, dependency
solving) cost ~75 us of CPU a request here before the endpoint ran, and ~30 us more for a
``Depends``: a tenth of a catalog read's CPU. These routes answer exactly as their FastAPI
declarations (``api/routes``), which stay what the OpenAPI document is built from; only the
way to the same endpoint code is shorter. Errors go through the same app-level handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from ticketbook.api.deps import bearer_identity, signed_in
from ticketbook.api.routes import bookings, concerts, queue, seating
from ticketbook.auth.identity import Identity
from ticketbook.http.deps import services_of


class PlainRoute(Route):
    """A Starlette route that takes only the requests it serves: any other method on its
    path falls through to the FastAPI routes behind it, which answer (405 and its Allow,
    or another method's route on the same path) exactly as before. It says it matched
    (``scope["route"]``), as FastAPI's routes do: the request metrics label answers by
    their route template (observability/middleware.py)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.FULL:
            return Match.NONE, {}
        child_scope["route"] = self
        return match, child_scope


async def _caller(request: Request) -> Identity:
    """The signed-in caller, as ``api/deps.py``'s CurrentIdentity finds it (401 if none)."""
    authorization = request.headers.get("authorization")
    return signed_in(await bearer_identity(services_of(request), authorization))


async def _list_concerts(request: Request) -> Response:
    return await concerts.list_concerts(services_of(request))


async def _get_concert(request: Request) -> Response:
    return await concerts.get_concert(request.path_params["concert_id"], services_of(request))


async def _seat_states(request: Request) -> Response:
    return await seating.seat_states(request.path_params["concert_id"], services_of(request))


async def _queue_status(request: Request) -> Response:
    caller = await _caller(request)
    return await queue.queue_status(request.path_params["concert_id"], caller, services_of(request))


async def _list_bookings(request: Request) -> Response:
    caller = await _caller(request)
    user_id = request.path_params["user_id"]
    return await bookings.list_bookings(user_id, caller.user_id, services_of(request))


# (a router, its FastAPI route's endpoint, the plain route's endpoint) for the fans' routes a
# crowd calls many times a second: booking, the catalog, the seat map's poll, the waiting
# room's poll, "my bookings". Their paths and methods are read from the FastAPI declarations,
# so the two can't drift apart.
PlainEndpoint = Callable[[Request], Awaitable[Response]]
SHORTCUTS: tuple[tuple[APIRouter, Callable[..., Any], PlainEndpoint], ...] = (
    (bookings.router, bookings.create_booking, bookings.create_booking),
    (concerts.router, concerts.list_concerts, _list_concerts),
    (concerts.router, concerts.get_concert, _get_concert),
    (seating.router, seating.seat_states, _seat_states),
    (queue.router, queue.queue_status, _queue_status),
    (bookings.router, bookings.list_bookings, _list_bookings),
)


def _declared(router: APIRouter, endpoint: Callable[..., Any]) -> APIRoute:
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is endpoint:
            return route
    raise LookupError(f"{endpoint.__qualname__} is no route of its router")


def plain_routes(prefix: str) -> list[BaseRoute]:
    """The shortcuts, at the paths and methods their FastAPI routes are declared with under
    ``prefix`` (the one those routers are included with)."""
    routes: list[BaseRoute] = []
    for router, endpoint, plain in SHORTCUTS:
        declared = _declared(router, endpoint)
        methods = sorted(declared.methods or ())
        routes.append(PlainRoute(prefix + declared.path, plain, methods=methods))
    return routes
