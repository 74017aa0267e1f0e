"""Check-in at the door (docs/checkin.md): scans, the offline bundle and sync, gate counts,
and the organizer's door staff. The rules are the desk's (checkin/service.py)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ticketbook.api.deps import CurrentIdentity, CurrentOrganizer, require_json
from ticketbook.checkin.service import bundle_etag, offline_scans
from ticketbook.domain.schemas import (
    CheckinBundle,
    Done,
    ErrorBody,
    GateCounts,
    ItemEnvelope,
    ListEnvelope,
    NewStaff,
    ScanAnswer,
    ScanRequest,
    StaffMember,
    SyncAnswer,
    SyncRequest,
)
from ticketbook.http.deps import Services, parse_id
from ticketbook.http.responses import conditional_json, json_response

router = APIRouter(tags=["check-in"])

# Holder names and seats: never in a shared cache or the browser's.
NO_STORE = {"Cache-Control": "no-store"}

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "Not door staff or the organizer of this concert"},
    404: {"model": ErrorBody},
}


@router.post(
    "/checkin",
    response_model=ScanAnswer,
    dependencies=[Depends(require_json)],
    responses={**_ERRORS, 409: {"model": ErrorBody}, 415: {"model": ErrorBody}},
)
async def scan(body: ScanRequest, caller: CurrentIdentity, services: Services) -> Response:
    """Check a scanned code in: verified, checked for revocation and recorded at once. Every
    outcome (ADMIT, ALREADY_USED, REVOKED, INVALID, WRONG_EVENT) is a 200; a scanId sent again
    gets its first answer (409 if it came with another code)."""
    answer = await services.checkin.scan(
        concert_id=body.concert_id,
        code=body.code,
        gate=body.gate,
        scan_id=body.scan_id,
        staff_id=caller.user_id,
        device=body.device,
    )
    return json_response(200, answer.model_dump(mode="json"), NO_STORE)


@router.get(
    "/checkin/{concert_id}/bundle",
    response_model=CheckinBundle,
    responses={**_ERRORS, 304: {"description": "If-None-Match named the current ETag"}},
)
async def bundle(
    concert_id: str, request: Request, caller: CurrentIdentity, services: Services
) -> Response:
    """What a scanner keeps to check codes offline: the public key, the live tickets (seat,
    tier, holder, admission key), the revoked ones, the admissions so far. Send the ETag back
    as If-None-Match: 304 while nothing changed."""
    concert = parse_id(concert_id, "Concert")
    await services.checkin.authorize(caller.user_id, concert)
    answer = await services.checkin.bundle(concert)
    return conditional_json(
        request.headers.get("if-none-match"), bundle_etag(answer), answer, NO_STORE
    )


@router.post(
    "/checkin/{concert_id}/sync",
    response_model=SyncAnswer,
    dependencies=[Depends(require_json)],
    responses={**_ERRORS, 409: {"model": ErrorBody}, 415: {"model": ErrorBody}},
)
async def sync(
    concert_id: str, body: SyncRequest, caller: CurrentIdentity, services: Services
) -> Response:
    """Record the scans a device made offline (each idempotent by its scanId) and answer them,
    with every conflict of the concert: admissions let in at more than one offline gate."""
    concert = parse_id(concert_id, "Concert")
    answer = await services.checkin.sync(
        concert_id=concert,
        staff_id=caller.user_id,
        device=body.device,
        scans=offline_scans(body),
    )
    return json_response(200, answer, NO_STORE)


@router.get("/checkin/{concert_id}/gates", response_model=GateCounts, responses=_ERRORS)
async def gates(concert_id: str, caller: CurrentIdentity, services: Services) -> GateCounts:
    """Admitted so far, per gate."""
    concert = parse_id(concert_id, "Concert")
    await services.checkin.authorize(caller.user_id, concert)
    counts = await services.checkin.gate_counts(concert)
    return GateCounts(concert_id=concert, gates=counts, admitted=sum(counts.values()))


# -- door staff (organizer) -----------------------------------------------------------------


@router.post(
    "/organizer/concerts/{concert_id}/staff",
    response_model=ItemEnvelope[StaffMember],
    status_code=201,
    dependencies=[Depends(require_json)],
    responses={**_ERRORS, 415: {"model": ErrorBody}},
)
async def grant_staff(
    concert_id: str, body: NewStaff, caller: CurrentOrganizer, services: Services
) -> ItemEnvelope[StaffMember]:
    """Give an account (by its email) check-in rights for one of the caller's concerts;
    granting twice keeps the first grant."""
    member = await services.checkin.grant(
        concert_id=parse_id(concert_id, "Concert"), email=body.email, by=caller
    )
    return ItemEnvelope(data=member)


@router.get(
    "/organizer/concerts/{concert_id}/staff",
    response_model=ListEnvelope[StaffMember],
    responses=_ERRORS,
)
async def list_staff(
    concert_id: str, caller: CurrentOrganizer, services: Services
) -> ListEnvelope[StaffMember]:
    """The concert's door staff."""
    members = await services.checkin.staff(concert_id=parse_id(concert_id, "Concert"), by=caller)
    return ListEnvelope(data=members, count=len(members))


@router.delete(
    "/organizer/concerts/{concert_id}/staff/{user_id}", response_model=Done, responses=_ERRORS
)
async def revoke_staff(
    concert_id: str, user_id: str, caller: CurrentOrganizer, services: Services
) -> Done:
    """Take an account's check-in rights for the concert back (at once: its next scan is 403)."""
    member = await services.checkin.revoke(
        concert_id=parse_id(concert_id, "Concert"),
        user_id=_user_id(user_id),
        by=caller,
    )
    return Done(message=f"{member.email} may no longer check tickets in for this concert")


def _user_id(raw: str) -> uuid.UUID:
    return parse_id(raw, "Staff member")
