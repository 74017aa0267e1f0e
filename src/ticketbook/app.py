"""The ASGI app: the JSON API under /api and the pages elsewhere, two thin edges on the
services ``services.py`` builds, with one error mapping (``http/errors.py``) for both."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.responses import Response
from starlette.types import ASGIApp

from ticketbook import __version__
from ticketbook.api import mount as api
from ticketbook.api.errors import render_api_error
from ticketbook.http.errors import install_error_handlers
from ticketbook.http.forwarded import ForwardedHeaders, TrustedProxies
from ticketbook.http.hygiene import HeadAsGet, RelativeRedirects
from ticketbook.http.limits import BodySizeLimit
from ticketbook.http.responses import json_response
from ticketbook.http.security_headers import SecurityHeaders
from ticketbook.observability.metrics import render as render_metrics
from ticketbook.observability.middleware import RequestObserver
from ticketbook.payments.gateway import PaymentGateway
from ticketbook.services import open_services
from ticketbook.settings import Settings
from ticketbook.web import mount as web
from ticketbook.web.errors import render_page_error

# FastAPI's own OpenTelemetry instrumentation, off: we export Prometheus metrics and request
# ids ourselves (observability/), and with it on every request read the environment three
# times to ask whether an OpenTelemetry provider had been configured meanwhile.
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


class TicketBookApp(FastAPI):
    trusted_proxies = TrustedProxies.parse(Settings().forwarded_allow_ips)

    def build_middleware_stack(self) -> ASGIApp:
        # Security headers go outside everything, Starlette's ServerErrorMiddleware included:
        # that one answers a 500 straight to the server, past any add_middleware() layer. The
        # client's address and scheme (from trusted proxies) are settled before anything else.
        return ForwardedHeaders(
            SecurityHeaders(super().build_middleware_stack()), self.trusted_proxies
        )


def build_app(
    settings: Settings,
    database_url: str | None = None,
    gateway: PaymentGateway | None = None,
    run_background_jobs: bool = True,
) -> FastAPI:
    """Build the app; its lifespan builds the services. ``database_url`` must already be
    migrated (the CLI sees to that)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(
            settings,
            database_url=database_url,
            gateway=gateway,
            run_background_jobs=run_background_jobs,
        ) as services:
            app.state.services = services
            yield

    app = TicketBookApp(
        title="TicketBook",
        version=__version__,
        description="Concert tickets that are never oversold, never double-booked, never lost.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        telemetry=NO_TELEMETRY,
    )
    app.trusted_proxies = TrustedProxies.parse(settings.forwarded_allow_ips)
    install_error_handlers(app, api=render_api_error, pages=render_page_error)
    # Innermost: HEAD runs the GET route; redirects name no host the request made up.
    app.add_middleware(RelativeRedirects)
    app.add_middleware(HeadAsGet)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Added last, so it wraps everything: every answer gets a request id and is counted.
    app.add_middleware(RequestObserver, access_log=settings.access_log)
    api.install(app)
    if settings.enable_test_routes:
        # Imported only here: production never loads the test-only package.
        from ticketbook.testing.routes import router as testing_router

        app.include_router(testing_router, prefix="/api")
    web.install(app)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    @app.get("/api/docs", include_in_schema=False)
    async def openapi_document() -> Response:
        return json_response(200, app.openapi())

    return app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as the app serves it (used to keep docs/openapi.json fresh)."""
    document: dict[str, Any] = build_app(Settings(), database_url="unused").openapi()
    return document
