"""The OpenAPI document, corrected to say what the API really answers.

FastAPI documents a 422 HTTPValidationError for every operation with parameters; ours answer
invalid input with 400 and our error body, and any operation may answer 413, 500 or 503.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_COMMON = {
    "400": "Invalid input",
    "413": "Request body too large",
    "500": "Unexpected server error",
    "503": "Database unreachable or busy; retry after the Retry-After seconds",
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
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = document
    return document
