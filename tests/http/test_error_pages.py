"""Error pages without a database: pages get friendly HTML, the API keeps its JSON."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.support.pages import text, title
from ticketbook.app import build_app
from ticketbook.settings import Settings


@pytest.fixture(scope="module")
def app() -> FastAPI:
    app = build_app(Settings(), database_url="unused")

    @app.get("/boom")
    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/busy")
    @app.get("/api/busy")
    async def busy() -> None:
        raise asyncpg.CannotConnectNowError("the database is starting up")

    return app


def get(app: FastAPI, path: str) -> httpx.Response:
    """In-process request; the app's lifespan (and so the database) is never started."""

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(run())


def test_a_bug_on_a_page_is_a_friendly_500(app: FastAPI) -> None:
    page = get(app, "/boom")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert title(page.text) == "Something went wrong on our side · TicketBook"
    assert "a bug" not in page.text  # details are logged, not shown
    api = get(app, "/api/boom")
    assert api.status_code == 500
    assert api.json()["error"] == "INTERNAL_ERROR"


def test_database_unavailable_is_a_503_page_with_retry_after(app: FastAPI) -> None:
    page = get(app, "/busy")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "1"
    assert "Please try again in a few seconds" in text(page.text)
    assert 'href="/concerts"' in page.text
    api = get(app, "/api/busy")
    assert api.status_code == 503
    assert api.json()["error"] == "SERVICE_UNAVAILABLE"
