"""The OpenAPI document, corrected to say what the API really answers.

FastAPI documents a 422 HTTPValidationError for every operation with parameters; ours answer
invalid input with 400 and our error body, and any operation may answer 413, 500 or 503.
Every operation that takes a bearer token may answer 401, every one with a JSON body 415;
a 401 carries WWW-Authenticate, a 429 or 503 Retry-After.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from ticketbook.domain.schemas import BookingRequest

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
# Bodies of routes that read their own request (api/routes/bookings.py): FastAPI can't see
# them, so their schemas are added here, where their operations' $refs point.
READ_BY_HAND: tuple[type[BaseModel], ...] = (BookingRequest,)
FASTAPI_OWN = ("HTTPValidationError", "ValidationError")
_COMMON = {
    "400": "Invalid input",
    "413": "Request body too large",
    "500": "Unexpected server error",
    "503": "Database unreachable or busy; retry after the Retry-After seconds",
}


_RETRY_AFTER = {
    "description": "Seconds to wait before retrying",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
_HEADERS: dict[str, dict[str, Any]] = {
    "401": {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with",
            "required": True,
            "schema": {"type": "string", "const": "Bearer"},
        }
    },
    "429": {"Retry-After": _RETRY_AFTER},
    "503": {"Retry-After": _RETRY_AFTER},
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            validation = responses.get("422", {})
            schema = validation.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]
            for status, description in _COMMON.items():
                responses.setdefault(status, _error(description))
            if operation.get("security"):
                responses.setdefault("401", _error("Missing, malformed or invalid bearer token"))
            if "requestBody" in operation:
                responses.setdefault("415", _error("The body is not application/json"))
            for status, headers in _HEADERS.items():
                if status in responses:
                    responses[status].setdefault("headers", {}).update(headers)
    schemas = document.get("components", {}).get("schemas", {})
    schemas.update(_schemas_of_bodies_read_by_hand())
    for unused in FASTAPI_OWN:
        schemas.pop(unused, None)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    app.openapi_schema = document
    return document


def _schemas_of_bodies_read_by_hand() -> dict[str, Any]:
    """The component schemas FastAPI writes for READ_BY_HAND as request bodies (its schema
    generator, not pydantic's default: the document stays as it was when FastAPI read them)."""
    probe = APIRouter()
    for model in READ_BY_HAND:

        async def endpoint(body: Any) -> None:
            """Never served: only its body's schema is read."""

        endpoint.__annotations__ = {"body": model, "return": None}
        probe.add_api_route(f"/{model.__name__}", endpoint, methods=["POST"])
    document = get_openapi(title="probe", version="0", routes=probe.routes)
    schemas: dict[str, Any] = document["components"]["schemas"]
    # Everything else the probe's document holds is FastAPI's own (HTTPValidationError...).
    return {name: schemas[name] for name in schemas if name not in FASTAPI_OWN}
