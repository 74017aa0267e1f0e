"""The FastAPI application: JSON API under /api, error handlers, lifespan (database, reaper)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.responses import Response
from starlette.types import ASGIApp

from ticketbook import __version__
from ticketbook.api.errors import install_error_handlers, json_response
from ticketbook.api.limits import BodySizeLimit
from ticketbook.api.openapi import build_openapi
from ticketbook.api.routes import auth, bookings, concerts, health, live, organizer, testing
from ticketbook.api.security_headers import SecurityHeaders
from ticketbook.auth.passwords import configure_hashing
from ticketbook.auth.secrets import load_secret_key
from ticketbook.auth.tokens import TokenSigner
from ticketbook.booking.reaper import run_reaper
from ticketbook.booking.service import BookingEngine
from ticketbook.db.pool import open_database
from ticketbook.db.urls import asyncpg_dsn
from ticketbook.live.hub import AvailabilityHub, start_live_hub
from ticketbook.observability.metrics import render as render_metrics
from ticketbook.observability.middleware import RequestObserver
from ticketbook.payments.gateway import PaymentGateway
from ticketbook.payments.simulated import SimulatedGateway
from ticketbook.ratelimit.limiter import RateLimiter
from ticketbook.services import AppServices
from ticketbook.settings import Settings
from ticketbook.web.app import install_pages


class TicketBookApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Security headers go outside everything, Starlette's ServerErrorMiddleware included:
        # that one answers a 500 straight to the server, past any add_middleware() layer.
        return SecurityHeaders(super().build_middleware_stack())


def build_app(
    settings: Settings,
    database_url: str | None = None,
    gateway: PaymentGateway | None = None,
    run_background_jobs: bool = True,
) -> FastAPI:
    """Build the app. ``database_url`` must already be migrated (the CLI sees to that)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dsn = database_url or settings.database_url
        if dsn is None:
            raise RuntimeError("no database URL: start through `ticketbook serve`")
        # First, so a worker refuses a bad production key before it opens any connection.
        signer = TokenSigner(load_secret_key(settings))
        configure_hashing(settings.password_hash)
        dsn = asyncpg_dsn(dsn)
        db = await open_database(dsn, settings)
        read_db = (
            await open_database(asyncpg_dsn(settings.read_database_url), settings, read_only=True)
            if settings.read_database_url
            else None
        )
        payment_gateway = gateway or SimulatedGateway(settings.payment)
        limiter = RateLimiter(db, settings.limits)
        engine = BookingEngine(
            db=db,
            gateway=payment_gateway,
            hold_seconds=settings.hold_seconds,
            max_tickets_per_concert=settings.limits.max_tickets_per_concert,
            limiter=limiter,
            # A little over the provider's own timeout, as a backstop.
            payment_timeout_s=settings.payment.timeout_ms / 1000.0 + 1.0,
        )
        # Live availability for open concert pages: one LISTEN connection per process.
        live_hub: AvailabilityHub | None = (
            await start_live_hub(dsn, settings) if run_background_jobs else None
        )
        app.state.services = AppServices(
            settings=settings,
            db=db,
            gateway=payment_gateway,
            engine=engine,
            signer=signer,
            limiter=limiter,
            live=live_hub,
            read_db=read_db,
        )
        reaper: asyncio.Task[None] | None = None
        if run_background_jobs:
            reaper = asyncio.create_task(
                run_reaper(
                    db, payment_gateway, settings.reaper_interval_s, settings.reaper_batch_size
                )
            )
        try:
            yield
        finally:
            if reaper is not None:
                reaper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reaper
            if live_hub is not None:
                await live_hub.stop()
            if read_db is not None:
                await read_db.close()
            await db.close()

    app = TicketBookApp(
        title="TicketBook",
        version=__version__,
        description="Concert tickets that are never oversold, never double-booked, never lost.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Added last, so it wraps everything: every answer gets a request id and is counted.
    app.add_middleware(RequestObserver, access_log=settings.access_log)
    for module in (health, concerts, live, auth, bookings, organizer):
        app.include_router(module.router, prefix="/api")
    if settings.enable_test_routes:
        app.include_router(testing.router, prefix="/api")

    # The fan's pages (/, /concerts, /bookings), static files and HTML error pages.
    install_pages(app)

    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]

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
