"""Mounts the pages on the app: their routes and static files."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ticketbook.web import account_routes, checkin_pages, queue_pages, ticket_pages
from ticketbook.web.rendering import STATIC_DIR
from ticketbook.web.routes import router


class VersionedStaticFiles(StaticFiles):
    """Asset URLs carry their content hash (``?v=``), so a browser may keep them for good."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install(app: FastAPI) -> None:
    """The pages' routes and static files. (Their error pages: ``web/errors.py``.)"""
    app.include_router(router)
    app.include_router(account_routes.router)
    app.include_router(checkin_pages.router)
    app.include_router(ticket_pages.router)
    app.include_router(queue_pages.router)
    app.mount("/static", VersionedStaticFiles(directory=STATIC_DIR), name="static")
