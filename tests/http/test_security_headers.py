"""Security headers on every response (pages, API JSON, static files, errors), in-process,
HSTS and the session cookie's Secure flag only over HTTPS, as a trusted proxy reports it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.inventory import make_concert
from tests.support.pages import booking_form, post_form
from ticketbook.app import build_app
from ticketbook.http.security_headers import DEFAULT_CSP, HSTS
from ticketbook.settings import Settings
from ticketbook.web.rendering import PAGE_HEADERS, static_url

PAGE_CSP = PAGE_HEADERS["Content-Security-Policy"]
EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
HTTPS = {"X-Forwarded-Proto": "https"}


def assert_secure_headers(response: httpx.Response, csp: str, *, hsts: bool = False) -> None:
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    for name, value in EXPECTED.items():
        # Exactly once: the pages used to set some of these themselves.
        assert response.headers.get_list(name) == [value], (where, name)
    assert response.headers.get_list("content-security-policy") == [csp], where
    if hsts:
        assert response.headers.get_list("strict-transport-security") == [HSTS], where
    else:
        assert "strict-transport-security" not in response.headers, where


def directives(csp: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in csp.split(";"):
        name, *values = part.split()
        parsed[name.lower()] = values
    return parsed


def session_cookie(response: httpx.Response) -> list[str]:
    """The attributes of the tb_session Set-Cookie, lower-cased (name=value first)."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("tb_session="):
            return [part.strip().lower() for part in header.split(";")]
    raise AssertionError(f"no tb_session cookie set: {response.headers.get_list('set-cookie')}")


@pytest.fixture(scope="module")
def concert(shared_db: str) -> dict[str, Any]:
    return make_concert(shared_db, {"VIP": 5, "GA": 50})


def test_every_kind_of_response_carries_the_headers(
    client: httpx.Client, concert: dict[str, Any]
) -> None:
    too_big = b"x" * (64 * 1024 + 1)

    def streamed() -> Iterator[bytes]:
        # No Content-Length: the limit trips while the body streams in.
        for _ in range(20):
            yield b"x" * 8192

    json_body = {"Content-Type": "application/json"}
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("GET", "/", {}, 200, PAGE_CSP),
        ("GET", "/concerts", {}, 200, PAGE_CSP),
        ("GET", f"/concerts/{concert['id']}", {}, 200, PAGE_CSP),
        ("GET", "/bookings", {}, 200, PAGE_CSP),
        ("GET", "/nope", {}, 404, PAGE_CSP),
        ("POST", "/concerts", {}, 405, PAGE_CSP),
        ("GET", "/static/app.css", {}, 200, DEFAULT_CSP),
        ("GET", static_url("app.js"), {}, 200, DEFAULT_CSP),
        ("GET", "/api/concerts", {}, 200, DEFAULT_CSP),
        ("GET", f"/api/concerts/{concert['id']}", {}, 200, DEFAULT_CSP),
        ("GET", "/api/health-check", {}, 200, DEFAULT_CSP),
        ("GET", "/api/nope", {}, 404, DEFAULT_CSP),
        ("PUT", "/api/health-check", {}, 405, DEFAULT_CSP),
        ("POST", "/api/bookings", {"content": too_big, "headers": json_body}, 413, DEFAULT_CSP),
        ("POST", "/api/bookings", {"content": streamed(), "headers": json_body}, 413, DEFAULT_CSP),
        ("POST", "/api/bookings", {"json": {}}, 401, DEFAULT_CSP),
        ("GET", "/api/docs", {}, 200, DEFAULT_CSP),
        ("GET", "/api/openapi.json", {}, 200, DEFAULT_CSP),
        ("GET", "/metrics", {}, 200, DEFAULT_CSP),
    ]
    for method, path, kwargs, status, csp in cases:
        response = client.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.text[:200])
        assert_secure_headers(response, csp)


def test_the_page_csp_runs_no_inline_script_and_no_eval(client: httpx.Client) -> None:
    response = client.get("/concerts")
    policy = directives(response.headers["content-security-policy"])
    # script-src governs scripts (default-src only if it were missing); -elem/-attr refine it.
    for name in ("script-src", "script-src-elem", "script-src-attr", "default-src"):
        values = [v.lower() for v in policy.get(name, [])]
        assert "'unsafe-inline'" not in values, name
        assert "'unsafe-eval'" not in values, name
        assert "*" not in values and "data:" not in values, name
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    strict = directives(DEFAULT_CSP)
    assert strict == {
        "default-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }


def test_json_answers_to_the_page_script_keep_the_page_csp(
    client: httpx.Client, concert: dict[str, Any]
) -> None:
    page = client.get(f"/concerts/{concert['id']}")
    form = booking_form(page.text, concert["tiers"]["GA"])
    answer = post_form(client, form, accept_json=True, quantity="1")
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["ok"] is True
    assert_secure_headers(answer, PAGE_CSP)
    assert answer.headers["cache-control"] == "private, no-cache"


def test_hsts_and_a_secure_cookie_only_over_https(client: httpx.Client) -> None:
    plain = client.get("/concerts")
    assert_secure_headers(plain, PAGE_CSP, hsts=False)
    cookie = session_cookie(plain)
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie

    # A TLS-terminating proxy on 127.0.0.1 (trusted by default) reports HTTPS.
    with client.visitor() as fresh:
        https = fresh.get("/concerts", headers=HTTPS)
        assert_secure_headers(https, PAGE_CSP, hsts=True)
        cookie = session_cookie(https)
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert_secure_headers(fresh.get("/api/health-check", headers=HTTPS), DEFAULT_CSP, hsts=True)
        assert_secure_headers(fresh.get("/api/nope", headers=HTTPS), DEFAULT_CSP, hsts=True)


# Whether X-Forwarded-Proto from an untrusted address is ignored is uvicorn's proxy-headers
# setting as `ticketbook serve` configures it: tested on a real server, in
# tests/system/test_served_http.py.


# -- a 500 (no route of the real app fails on purpose) ----------------------


@pytest.fixture(scope="module")
def failing_app() -> FastAPI:
    app = build_app(Settings(), database_url="unused")

    @app.get("/boom")
    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    return app


def get(app: FastAPI, url: str) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport) as c:
            return await c.get(url)

    return asyncio.run(run())


def test_an_unhandled_error_still_gets_the_headers(failing_app: FastAPI) -> None:
    api = get(failing_app, "http://test/api/boom")
    assert api.status_code == 500 and api.json()["error"] == "INTERNAL_ERROR"
    assert_secure_headers(api, DEFAULT_CSP)
    page = get(failing_app, "http://test/boom")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert_secure_headers(page, PAGE_CSP)
    # ASGITransport takes the scheme from the URL: as if TLS ended at uvicorn itself.
    assert_secure_headers(get(failing_app, "https://test/api/boom"), DEFAULT_CSP, hsts=True)
