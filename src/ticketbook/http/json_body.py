"""A JSON body read into a model by hand, for a route that takes only the Request.

FastAPI's dependency solving costs a hot route about a fifth of its CPU (measured on the
booking route in-process: 1.5-1.9 ms per request with it, 1.2-1.5 ms without; see
docs/performance.md). A route that reads its own body raises what FastAPI raises for the
same input, so ``http/errors.py`` answers it the same way: a RequestValidationError (JSON
that does not decode, a missing body, a model's errors located under ``body``), or the 400
HTTPException with FastAPI's detail (a body that can't be decoded at all: bad UTF-8, nesting
too deep, a number with too many digits).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException

from ticketbook.http.errors import BODY_PARSE_DETAIL, UnsupportedMediaType

Model = TypeVar("Model", bound=BaseModel)


def require_json_content(request: Request) -> None:
    """415 unless the body is declared as JSON."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType()


async def read_json(request: Request) -> Any:
    """The body decoded as JSON (``None`` when there is none)."""
    body = await request.body()
    if not body:
        return None
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        error = {
            "type": "json_invalid",
            "loc": ("body", exc.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise RequestValidationError([error]) from exc
    except Exception as exc:
        raise HTTPException(status_code=400, detail=BODY_PARSE_DETAIL) from exc


def check_header(adapter: TypeAdapter[Any], name: str, value: str | None) -> list[dict[str, Any]]:
    """A header's validation errors, located as FastAPI locates them."""
    if value is None:
        return []
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        return _located(exc, ("header", name))
    return []


def parse_body(model: type[Model], data: Any) -> tuple[Model | None, list[dict[str, Any]]]:
    """The body as ``model``, or its validation errors located under ``body``."""
    if data is None:
        return None, [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
    try:
        # As FastAPI validates a body: an object's attributes would do as well as a dict.
        return model.model_validate(data, from_attributes=True), []
    except ValidationError as exc:
        return None, _located(exc, ("body",))


def _located(exc: ValidationError, loc: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{**e, "loc": (*loc, *e["loc"])} for e in exc.errors(include_url=False)]
