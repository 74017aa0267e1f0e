"""Every failure becomes one answer, decided here once: which status, code, message and
headers. The JSON API renders it under ``/api`` (``api/errors.py``), the pages everywhere
else (``web/errors.py``); nothing else installs an exception handler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ticketbook.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    QueueRequired,
    RateLimited,
    Unauthenticated,
)

log = logging.getLogger(__name__)


class UnsupportedMediaType(Exception):
    """A body that must be JSON came as something else."""


@dataclass(frozen=True)
class Failure:
    status_code: int
    code: str
    message: str
    headers: dict[str, str] | None = None
    details: Any = None
    # The message was written for people (a domain rule's words), not a framework's default.
    public: bool = True
    # The database failed, or something unknown did: an error page must not ask it anything.
    database_suspect: bool = False


Renderer = Callable[[Request, Failure], Awaitable[Response]]

STATUS_FOR: dict[type[DomainError], int] = {
    Unauthenticated: 401,
    NotFound: 404,
    Forbidden: 403,
    QueueRequired: 403,  # the waiting room's: join the queue, or your admission lapsed
    Conflict: 409,
    InvalidInput: 400,
    RateLimited: 429,
}

# The database is down, restarting, or too busy: tell the client when to retry.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.LockNotAvailableError,
    asyncpg.QueryCanceledError,
    asyncpg.TooManyConnectionsError,
    ConnectionError,
    OSError,
    TimeoutError,
)

# FastAPI's answer to a JSON body that json.loads raised on with anything but a JSONDecodeError
# (the error it raised is its __cause__): invalid UTF-8, nesting past the recursion limit, an
# integer past Python's 4300 digits. Answered as the validation error it is, in words.
BODY_PARSE_DETAIL = "There was an error parsing the body"

HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


def status_for(exc: DomainError) -> int:
    """The HTTP status of a domain error (a subclass answers as its kind does)."""
    for kind in type(exc).__mro__:
        if kind in STATUS_FOR:
            return STATUS_FOR[kind]
    return 400


def _domain_headers(exc: DomainError) -> dict[str, str] | None:
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


def _describe(errors: list[dict[str, Any]]) -> str:
    if any(err.get("type") == "json_invalid" for err in errors):
        return "Request body is not valid JSON"
    parts = []
    for err in errors[:5]:
        location = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{location}: {err.get('msg')}" if location else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def _unparseable(cause: BaseException | None) -> str:
    if isinstance(cause, UnicodeError):
        return "Request body is not valid UTF-8"
    if isinstance(cause, RecursionError):
        return "Request body is nested too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "Request body has a number with too many digits"
    return "Request body could not be parsed"


def failure_for(request: Request, exc: Exception) -> Failure:
    """The one mapping from anything a handler raised to what the caller is told."""
    if isinstance(exc, DomainError):
        return Failure(status_for(exc), exc.code, exc.message, _domain_headers(exc))
    if isinstance(exc, RequestValidationError):
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return Failure(400, "VALIDATION_ERROR", _describe(errors), details=errors, public=False)
    if isinstance(exc, UnsupportedMediaType):
        return Failure(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json")
    if (
        isinstance(exc, StarletteHTTPException)
        and exc.status_code == 400
        and exc.detail == BODY_PARSE_DETAIL
    ):
        message = _unparseable(exc.__cause__)
        details = [{"loc": ["body"], "msg": message, "type": "body_unparseable"}]
        return Failure(400, "VALIDATION_ERROR", message, details=details)
    if isinstance(exc, ClientDisconnect):
        # The client went away (or was cut off by a timeout) before its body arrived: nobody
        # reads this answer, and it is not our error.
        return Failure(400, "CLIENT_DISCONNECTED", "The request body did not arrive", public=False)
    if isinstance(exc, StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        headers = dict(exc.headers) if exc.headers else None
        return Failure(exc.status_code, code, str(exc.detail), headers, public=False)
    if isinstance(exc, UNAVAILABLE_ERRORS):
        log.warning("database unavailable: %r", exc)
        return Failure(
            503,
            "SERVICE_UNAVAILABLE",
            "The booking database is busy or unreachable; please retry shortly",
            {"Retry-After": "1"},
            public=False,
            database_suspect=True,
        )
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return Failure(
        500,
        "INTERNAL_ERROR",
        "Something went wrong on our side",
        public=False,
        database_suspect=True,
    )


def is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def install_error_handlers(app: FastAPI, *, api: Renderer, pages: Renderer) -> None:
    """One handler for every kind of failure: JSON under /api, HTML pages elsewhere."""

    async def answer(request: Request, exc: Exception) -> Response:
        failure = failure_for(request, exc)
        return await (api if is_api(request) else pages)(request, failure)

    handled: tuple[type[Exception], ...] = (
        DomainError,
        RequestValidationError,
        UnsupportedMediaType,
        StarletteHTTPException,
        ClientDisconnect,
        *UNAVAILABLE_ERRORS,
        Exception,
    )
    for kind in handled:
        app.add_exception_handler(kind, answer)
