"""The door scanner's pages: the concerts a signed-in account may scan, the scanner page, and
the JSON endpoints its script calls (scan, bundle, sync), thin edges over ``CheckinDesk``
(``checkin/service.py``). The rules (who may scan, what a code admits, conflicts) are the
desk's; docs/checkin.md, "The scanner page", says how the page works offline.

The JSON endpoints ride on the page's cookie session. Their CSRF protection is a header, not a
form field: every call carries ``X-CSRF-Token`` (the session's form token, which the page
holds in a data attribute) and a JSON body. Another site can't read the token, and can't send
a custom header or a JSON body cross-origin without a CORS preflight, which this app never
grants.
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from ticketbook.catalog import service as catalog
from ticketbook.checkin.service import OfflineScan
from ticketbook.domain.errors import Forbidden, InvalidInput, NotFound
from ticketbook.domain.schemas import Concert, ScanRequest, SyncRequest
from ticketbook.http.deps import Services, parse_id
from ticketbook.http.responses import json_response
from ticketbook.services import AppServices
from ticketbook.web.routes import render_page
from ticketbook.web.session import CsrfRejected, PageSession, current_session, page_session

router = APIRouter(include_in_schema=False)
Body = TypeVar("Body", bound=BaseModel)

CSRF_HEADER = "x-csrf-token"
# Holder names and seats: never in a shared cache, never kept by the browser's HTTP cache.
JSON_HEADERS = {"Cache-Control": "no-store"}


def wire(answer: Any) -> Any:
    """A desk answer as the page's JSON (its own ``to_json``, or a pydantic model's camelCase)."""
    if hasattr(answer, "to_json"):
        return answer.to_json()
    if isinstance(answer, BaseModel):
        return answer.model_dump(mode="json", by_alias=True)
    if isinstance(answer, dict):
        return {k: wire(v) for k, v in answer.items()}
    if isinstance(answer, list | tuple):
        return [wire(v) for v in answer]
    return answer


async def _staff_session(request: Request, services: AppServices, concert_id: uuid.UUID) -> bool:
    session = await current_session(request, services)
    if session is None or session.is_guest:
        return False
    return await services.checkin.may_scan(session.user_id, concert_id)


async def _scannable(services: AppServices, raw_id: str) -> Concert:
    concert = await catalog.get_concert(services.db, parse_id(raw_id, "Concert"))
    if concert is None:
        raise NotFound("We couldn't find that concert.")
    return concert


@router.get("/checkin")
async def checkin_home(request: Request, services: Services) -> Response:
    """The upcoming concerts this account may scan. (A concert that has started is scanned
    from its own address, /checkin/{id}, which staff keep open from before the doors open.)"""
    session = await page_session(request, services)
    concerts: list[Concert] = []
    if not session.is_guest:
        candidates = await catalog.list_upcoming(services.db)
        allowed = await asyncio.gather(
            *(services.checkin.may_scan(session.user_id, c.id) for c in candidates)
        )
        concerts = [c for c, ok in zip(candidates, allowed, strict=True) if ok]
    return render_page(
        request,
        services,
        session,
        "checkin_list.html",
        {"concerts": concerts, "nav": "checkin"},
    )


@router.get("/checkin/{concert_id}")
async def scanner(concert_id: str, request: Request, services: Services) -> Response:
    session = await page_session(request, services)
    concert = await _scannable(services, concert_id)
    if session.is_guest or not await services.checkin.may_scan(session.user_id, concert.id):
        # Its own page, not the generic 403: it says who may scan and offers a sign-in.
        return render_page(
            request,
            services,
            session,
            "checkin_denied.html",
            {"concert": concert, "nav": "checkin"},
            status_code=403,
        )
    return render_page(
        request,
        services,
        session,
        "checkin.html",
        {"concert": concert, "nav": "checkin"},
    )


async def _json_call(
    request: Request, services: AppServices, concert_id: str
) -> tuple[PageSession, uuid.UUID]:
    """The staff session a scanner call acts for: its cookie, its header token, its grant."""
    session = await current_session(request, services)
    if session is None:
        raise CsrfRejected("Your session has expired. Reload the page and sign in again.")
    submitted = request.headers.get(CSRF_HEADER, "")
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
        raise CsrfRejected("This scanner page has expired. Reload it and try again.")
    concert = parse_id(concert_id, "Concert")
    if session.is_guest or not await services.checkin.may_scan(session.user_id, concert):
        raise Forbidden("This account may not scan tickets for this concert.")
    return session, concert


async def _body(request: Request, model: type[Body]) -> Body:
    """The JSON body, read with the API's own request model (domain/schemas.py)."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise InvalidInput("Send a JSON body.")
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise InvalidInput("The scanner sent something we can't read. Reload the page.") from exc


@router.post("/checkin/{concert_id}/scan")
async def scan(concert_id: str, request: Request, services: Services) -> Response:
    session, concert = await _json_call(request, services, concert_id)
    body = await _body(request, ScanRequest)
    if body.concert_id != concert:
        raise InvalidInput("This scan is for another concert's scanner. Reload the page.")
    answer = await services.checkin.scan(
        concert_id=concert,
        code=body.code,
        gate=body.gate,
        scan_id=body.scan_id,
        staff_id=session.user_id,
        device=body.device,
    )
    return json_response(200, wire(answer), JSON_HEADERS)


@router.get("/checkin/{concert_id}/bundle")
async def bundle(concert_id: str, request: Request, services: Services) -> Response:
    """What the page keeps to check codes offline: key, tickets (seat, holder), revocations,
    admissions so far."""
    _, concert = await _json_call(request, services, concert_id)
    return json_response(200, wire(await services.checkin.bundle(concert)), JSON_HEADERS)


@router.post("/checkin/{concert_id}/sync")
async def sync(concert_id: str, request: Request, services: Services) -> Response:
    """Scans made offline, recorded now (idempotent per scan id); conflicts are answered."""
    session, concert = await _json_call(request, services, concert_id)
    body = await _body(request, SyncRequest)
    result = await services.checkin.sync(
        concert_id=concert,
        staff_id=session.user_id,
        device=body.device,
        scans=[
            OfflineScan(
                scan_id=s.scan_id,
                code=s.code,
                gate=s.gate,
                scanned_at=s.scanned_at,
                offline_outcome=s.offline_outcome,
            )
            for s in body.scans
        ],
    )
    return json_response(200, wire(result), JSON_HEADERS)
