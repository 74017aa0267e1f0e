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

import hmac
import uuid
from typing import TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from ticketbook.catalog import service as catalog
from ticketbook.checkin.service import bundle_etag, offline_scans
from ticketbook.domain.errors import Forbidden, InvalidInput, NotFound
from ticketbook.domain.schemas import Concert, ScanRequest, SyncRequest
from ticketbook.http.deps import Services, parse_id
from ticketbook.http.responses import conditional_json, json_response
from ticketbook.services import AppServices
from ticketbook.web.routes import render_page
from ticketbook.web.session import CsrfRejected, PageSession, current_session, page_session

router = APIRouter(include_in_schema=False)
Body = TypeVar("Body", bound=BaseModel)

CSRF_HEADER = "x-csrf-token"
# Holder names and seats: never in a shared cache, never kept by the browser's HTTP cache.
JSON_HEADERS = {"Cache-Control": "no-store"}


async def _scannable(services: AppServices, raw_id: str) -> Concert:
    concert = await catalog.get_concert(services.db, parse_id(raw_id, "Concert"))
    if concert is None:
        raise NotFound("We couldn't find that concert.")
    return concert


@router.get("/checkin")
async def checkin_home(request: Request, services: Services) -> Response:
    """The concerts this account may scan: upcoming, and those started in the last hours
    (staff who open the list after the doors find tonight's show), in one query."""
    session = await page_session(request, services)
    concerts = []
    if not session.is_guest:
        concerts = await services.checkin.scannable_concerts(session.user_id)
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
    request: Request, services: AppServices, concert_id: str, *, check_grant: bool = True
) -> tuple[PageSession, uuid.UUID]:
    """The staff session a scanner call acts for: its cookie, its header token, its grant
    (``check_grant=False`` where the desk checks it in its own statement: the scan)."""
    session = await current_session(request, services)
    if session is None:
        raise CsrfRejected("Your session has expired. Reload the page and sign in again.")
    submitted = request.headers.get(CSRF_HEADER, "")
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
        raise CsrfRejected("This scanner page has expired. Reload it and try again.")
    concert = parse_id(concert_id, "Concert")
    if session.is_guest or (
        check_grant and not await services.checkin.may_scan(session.user_id, concert)
    ):
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
    # SCAN_SQL checks the grant in the scan's own statement (Forbidden, or NotFound).
    session, concert = await _json_call(request, services, concert_id, check_grant=False)
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
    return json_response(200, answer.model_dump(mode="json"), JSON_HEADERS)


@router.get("/checkin/{concert_id}/bundle")
async def bundle(concert_id: str, request: Request, services: Services) -> Response:
    """What the page keeps to check codes offline: key, tickets (seat, holder), revocations,
    admissions so far; 304 when the page's If-None-Match names the list it holds."""
    _, concert = await _json_call(request, services, concert_id)
    answer = await services.checkin.bundle(concert)
    return conditional_json(
        request.headers.get("if-none-match"), bundle_etag(answer), answer, JSON_HEADERS
    )


@router.post("/checkin/{concert_id}/sync")
async def sync(concert_id: str, request: Request, services: Services) -> Response:
    """Scans made offline, recorded now (idempotent per scan id); conflicts are answered."""
    # The desk's sync checks the grant itself.
    session, concert = await _json_call(request, services, concert_id, check_grant=False)
    body = await _body(request, SyncRequest)
    result = await services.checkin.sync(
        concert_id=concert,
        staff_id=session.user_id,
        device=body.device,
        scans=offline_scans(body),
    )
    return json_response(200, result, JSON_HEADERS)
