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


def conditional_json(
    sent_tags: str | None, etag: str, body: Any, headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` with its ETag, or a bodiless 304 when the client's If-None-Match
    (``sent_tags``) already names it."""
    answer_headers = {**(headers or {}), "ETag": etag}
    if etag in (tag.strip() for tag in (sent_tags or "").split(",")):
        return Response(status_code=304, headers=answer_headers)
    return json_response(200, body, answer_headers)


def error_body(error: str, message: str, details: Any = None) -> dict[str, Any]:
    """The API's error shape: {success: false, error: CODE, message[, details]}."""
    body: dict[str, Any] = {"success": False, "error": error, "message": message}
    if details is not None:
        body["details"] = details
    return body
