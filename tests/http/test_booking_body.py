"""POST /api/bookings reads its own request (no FastAPI dependencies: http/json_body.py). Its
refusals must be the ones FastAPI gave when it read the request from the route's signature:
here a reference route declared that way, on the same app, is sent the same bad requests.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, Header
from starlette.responses import Response

from tests.support.api import guest_identity
from tests.support.inprocess import InProcessApp
from ticketbook.api.deps import CurrentUser, require_json
from ticketbook.domain.schemas import BookingRequest

REFERENCE = "/api/reference-booking"


@pytest.fixture(scope="module")
def reference(shared_app: InProcessApp) -> InProcessApp:
    async def reference_booking(
        body: BookingRequest,
        user_id: CurrentUser,
        idempotency_key: Annotated[
            str | None, Header(alias="Idempotency-Key", max_length=64)
        ] = None,
    ) -> Response:
        return Response(status_code=204)

    shared_app.app.router.add_api_route(
        REFERENCE, reference_booking, methods=["POST"], dependencies=[Depends(require_json)]
    )
    return shared_app


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


TIER = str(uuid.uuid4())
JSON = {"content-type": "application/json"}
BAD: dict[str, tuple[bytes, dict[str, str]]] = {
    "no body": (b"", JSON),
    "not JSON": (b"{", JSON),
    "a list": (b"[]", JSON),
    "a string": (b'"x"', JSON),
    "tier as a number": (b'{"ticketTierId": 1, "quantity": 1}', JSON),
    "quantity as text": (b'{"ticketTierId": "t", "quantity": "2"}', JSON),
    "quantity 0": (b'{"ticketTierId": "t", "quantity": 0}', JSON),
    "quantity 11": (b'{"ticketTierId": "t", "quantity": 11}', JSON),
    "quantity true": (b'{"ticketTierId": "t", "quantity": true}', JSON),
    "quantity 1.5": (b'{"ticketTierId": "t", "quantity": 1.5}', JSON),
    "an unknown field": (b'{"ticketTierId": "t", "quantity": 1, "seat": "A1"}', JSON),
    "fields missing": (b"{}", JSON),
    "invalid UTF-8": (b'{"ticketTierId": "\xff", "quantity": 1}', JSON),
    "5000 deep": (_deep(5000), JSON),
    "10**5000": (b'{"ticketTierId": "t", "quantity": 1' + b"0" * 5000 + b"}", JSON),
    "a key over 64 and a bad body": (
        b'{"quantity": 0}',
        {**JSON, "idempotency-key": "k" * 65},
    ),
    "a key over 64": (
        f'{{"ticketTierId": "{TIER}", "quantity": 1}}'.encode(),
        {**JSON, "idempotency-key": "k" * 65},
    ),
    "no content type": (b'{"ticketTierId": "t", "quantity": 1}', {}),
    "text/plain": (b'{"ticketTierId": "t", "quantity": 1}', {"content-type": "text/plain"}),
    "JSON with a charset": (
        b'{"quantity": 0}',
        {"content-type": "application/json; charset=utf-8"},
    ),
}


def _answer(client: httpx.Client, path: str, body: bytes, headers: dict[str, str]) -> Any:
    response = client.post(path, content=body, headers=headers)
    return response.status_code, response.json()


@pytest.mark.parametrize("case", list(BAD))
def test_refusals_are_fastapis(reference: InProcessApp, case: str) -> None:
    body, headers = BAD[case]
    with reference.client() as client:
        _, auth = guest_identity(client)
        ours = _answer(client, "/api/bookings", body, {**auth, **headers})
        theirs = _answer(client, REFERENCE, body, {**auth, **headers})
    assert ours == theirs
    assert ours[0] in (400, 415), ours


@pytest.mark.parametrize("case", ["no body", "not JSON", "quantity 0", "text/plain"])
@pytest.mark.parametrize("auth", ["none", "malformed", "unknown"])
def test_refusals_without_a_valid_token_are_fastapis(
    reference: InProcessApp, case: str, auth: str
) -> None:
    """Which comes first, the token or the body, as FastAPI decided it."""
    body, headers = BAD[case]
    token = {"none": {}, "malformed": {"authorization": "Basic x"}}.get(
        auth, {"authorization": "Bearer not-a-token"}
    )
    with reference.client() as client:
        ours = _answer(client, "/api/bookings", body, {**token, **headers})
        theirs = _answer(client, REFERENCE, body, {**token, **headers})
    assert ours == theirs
