"""Every failure becomes a clear JSON answer: {success: false, error, message}. Never a bare 500."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ticketbook.api.deps import UnsupportedMediaType
from ticketbook.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)

log = logging.getLogger(__name__)

STATUS_FOR: dict[type[DomainError], int] = {
    Unauthenticated: 401,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    InvalidInput: 400,
    RateLimited: 429,
}


def status_for(exc: DomainError) -> int:
    """The HTTP status of a domain error (a subclass answers as its kind does)."""
    for kind in type(exc).__mro__:
        if kind in STATUS_FOR:
            return STATUS_FOR[kind]
    return 400


def error_headers(exc: DomainError) -> dict[str, str] | None:
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


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


def json_response(
    status_code: int, body: Any, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def error_response(
    status_code: int,
    error: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"success": False, "error": error, "message": message}
    if details is not None:
        body["details"] = details
    return json_response(status_code, body, headers)


def _describe(errors: list[Any]) -> str:
    if any(err.get("type") == "json_invalid" for err in errors):
        return "Request body is not valid JSON"
    parts = []
    for err in errors[:5]:
        location = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{location}: {err.get('msg')}" if location else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return error_response(400, "VALIDATION_ERROR", _describe(errors), errors)

    @app.exception_handler(DomainError)
    async def on_domain(_: Request, exc: DomainError) -> Response:
        return error_response(status_for(exc), exc.code, exc.message, headers=error_headers(exc))

    @app.exception_handler(UnsupportedMediaType)
    async def on_media_type(_: Request, __: UnsupportedMediaType) -> Response:
        return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json")

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}.get(
            exc.status_code, "HTTP_ERROR"
        )
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    for error_type in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error_type, _on_unavailable)

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side")


async def _on_unavailable(_: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %r", exc)
    return error_response(
        503,
        "SERVICE_UNAVAILABLE",
        "The booking database is busy or unreachable; please retry shortly",
        headers={"Retry-After": "1"},
    )
