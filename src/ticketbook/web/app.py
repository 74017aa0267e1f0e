"""Adds the pages to the app: their routes, static files and HTML error pages."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ticketbook.web import account_routes
from ticketbook.web.errors import install_page_errors
from ticketbook.web.rendering import STATIC_DIR
from ticketbook.web.routes import router


class VersionedStaticFiles(StaticFiles):
    """Asset URLs carry their content hash (``?v=``), so a browser may keep them for good."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install_pages(app: FastAPI) -> None:
    """Call after the API's error handlers are installed (the page errors wrap them)."""
    install_page_errors(app)
    app.include_router(router)
    app.include_router(account_routes.router)
    app.mount("/static", VersionedStaticFiles(directory=STATIC_DIR), name="static")
