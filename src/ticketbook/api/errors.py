"""How the JSON API shows a failure: {success: false, error, message[, details]}. Which
failure gets which status is decided once, in ``http/errors.py``."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from ticketbook.http.errors import Failure
from ticketbook.http.responses import error_body, json_response


async def render_api_error(_: Request, failure: Failure) -> Response:
    return json_response(
        failure.status_code,
        error_body(failure.code, failure.message, failure.details),
        failure.headers,
    )
