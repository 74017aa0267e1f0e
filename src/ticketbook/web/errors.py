"""Friendly HTML error pages for the pages; the JSON API under /api keeps its JSON errors.

Wraps the handlers ``api/errors.py`` installed: a request under ``/api`` goes to them
unchanged; any other path gets an HTML page with the same status code (or, for a form sent
by the pages' script, a small JSON answer it shows in place).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ticketbook.api.errors import UNAVAILABLE_ERRORS, json_response, status_for
from ticketbook.domain.errors import DomainError, RateLimited
from ticketbook.web import rendering
from ticketbook.web.routes import wants_json
from ticketbook.web.session import CsrfRejected, PageSession, current_session, known_session

log = logging.getLogger(__name__)

Handler = Callable[[Request, Any], Awaitable[Response]]
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]

TITLES = {
    400: "Something's not right with that request",
    401: "Please sign in",
    403: "That didn't go through",
    404: "Page not found",
    405: "That page can't do that",
    409: "That can't be done right now",
    413: "That's too much",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "We're very busy right now",
}

DEFAULT_MESSAGES = {
    404: "We couldn't find the page you were looking for. It may have moved, or the link "
    "may be mistyped.",
    405: "This address only accepts forms sent from our pages.",
    413: "The form you sent was larger than we accept.",
    500: "We've logged the problem. Please try again in a moment.",
    503: "Too many people are booking at once. Please try again in a few seconds; nothing "
    "was booked twice.",
}


def is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


# A form page that failed (say, too many sign-in attempts) offers a way back to it.
BACK_LINKS = {"/login": "Back to sign in", "/register": "Back to create an account"}


async def _session(request: Request, *, ask_db: bool) -> PageSession | None:
    """Who the header shows as signed in. When the database is what failed, or the handler
    already failed in some unknown way, only what needs no database (a guest cookie)."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return None
    if ask_db:
        try:
            return await current_session(request, services)
        except Exception as exc:  # the error page must render whatever happened
            log.debug("no session for the error page: %r", exc)
    return known_session(request, services.signer)


async def error_page(
    request: Request,
    status_code: int,
    message: str | None,
    headers: dict[str, str] | None = None,
    *,
    ask_db: bool = True,
) -> Response:
    text = DEFAULT_MESSAGES.get(status_code) if status_code >= 500 or not message else message
    text = text or DEFAULT_MESSAGES.get(status_code) or "Please go back and try again."
    if wants_json(request):
        return json_response(status_code, {"ok": False, "message": text}, headers)
    path = request.url.path
    back = BACK_LINKS.get(path) if status_code in (400, 403, 429) else None
    response = rendering.page(
        "error.html",
        {
            "status_code": status_code,
            "title": TITLES.get(status_code, "Something went wrong"),
            "message": text,
            "session": await _session(request, ask_db=ask_db),
            "path": path,
            "back": {"href": path, "label": back} if back else None,
        },
        status_code,
    )
    if headers:
        response.headers.update(headers)
    return response


def install_page_errors(app: FastAPI) -> None:
    """Call after ``install_error_handlers``: wraps its handlers for non-API paths."""

    def wrap(exc_type: type[Exception] | int, page: Handler) -> None:
        api_handler: AnyHandler | None = app.exception_handlers.get(exc_type)

        async def handler(request: Request, exc: Any) -> Response:
            if is_api(request) and api_handler is not None:
                answer = api_handler(request, exc)
                return answer if isinstance(answer, Response) else await answer
            return await page(request, exc)

        app.add_exception_handler(exc_type, handler)

    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        return await error_page(request, exc.status_code, None, dict(exc.headers or {}))

    async def on_domain(request: Request, exc: DomainError) -> Response:
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
        return await error_page(request, status_for(exc), exc.message, headers)

    async def on_validation(request: Request, _: RequestValidationError) -> Response:
        return await error_page(request, 400, "Some of the details sent were not valid.")

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %r", exc)
        return await error_page(request, 503, None, {"Retry-After": "1"}, ask_db=False)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return await error_page(request, 500, None, ask_db=False)

    async def on_csrf(request: Request, exc: Exception) -> Response:
        return await error_page(request, 403, str(exc))

    wrap(StarletteHTTPException, on_http)
    wrap(DomainError, on_domain)
    wrap(RequestValidationError, on_validation)
    for error_type in UNAVAILABLE_ERRORS:
        wrap(error_type, on_unavailable)
    wrap(Exception, on_unexpected)
    app.add_exception_handler(CsrfRejected, on_csrf)
