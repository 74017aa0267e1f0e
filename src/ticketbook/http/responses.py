"""JSON answers, written with orjson (both edges send some)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


def json_response(
    status_code: int, body: Any, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def error_body(error: str, message: str, details: Any = None) -> dict[str, Any]:
    """The API's error shape: {success: false, error: CODE, message[, details]}."""
    body: dict[str, Any] = {"success": False, "error": error, "message": message}
    if details is not None:
        body["details"] = details
    return body
