"""The waiting room's pages: a thin edge over ``WaitingRoom`` (``queue/service.py``), which owns
the rules (who is protected, the draw, positions, admission tokens). docs/queue.md, "The
waiting room page", says how the page behaves.

- **The gate.** While a concert is protected and the visitor isn't admitted (before the
  on-sale, or still queued after it), the concert page answers a 303 to its waiting room
  (``shop_gate``), and the page booking route refuses to book without a valid admission
  (``admission_token`` is what it hands to ``WaitingRoom.require_admission``).
- **The admission cookie** (``tb_admission``): the signed token ``WaitingRoom`` issues, set by
  the waiting room (and the concert page) once the status says admitted; HttpOnly,
  SameSite=Lax, Secure over HTTPS, its path the concert's (``/concerts/{id}``), so it goes
  only with that concert's pages and forms, and it lasts as long as the admission does.
- **Live.** The page's script follows ``/concerts/{id}/queue/events``: Server-Sent Events, one
  small JSON status whenever it changed, looked at every ``EVENT_INTERVAL_S``. Each look is one
  ``WaitingRoom.status`` call, whatever the number of visitors: no write while the visitor
  waits; the first look after the queue reaches them writes their ``admitted_at`` once (it
  starts the admission window), and no look writes after that. Between looks a stream sleeps,
  woken only by the server's shutdown (``AvailabilityHub.wait_shutdown``), never by ticket
  counts. At most ``MAX_STREAMS_PER_IDENTITY`` streams per identity per process are open at
  once; another gets a 429, and the page's script falls back to reloading the page. Without
  JavaScript a ``<meta http-equiv="refresh">`` in ``<noscript>`` reloads the page every
  ``NO_JS_REFRESH_S`` while the visitor waits.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from markupsafe import escape
from starlette.responses import RedirectResponse, Response, StreamingResponse

from ticketbook.catalog import service as catalog
from ticketbook.domain.errors import Conflict, Forbidden, NotFound
from ticketbook.domain.schemas import Concert, QueueStatus, TicketTier
from ticketbook.http.deps import Services, client_address, parse_id
from ticketbook.http.responses import json_response
from ticketbook.queue import tokens
from ticketbook.services import AppServices
from ticketbook.web import rendering, views
from ticketbook.web.session import CSRF_FIELD, PageSession, check_csrf, page_session, remember

router = APIRouter(include_in_schema=False)

ADMISSION_COOKIE = "tb_admission"
# How often an open waiting room's stream looks at the visitor's status.
EVENT_INTERVAL_S = 2.0
# A comment line this often when nothing changed, so proxies keep the stream open.
HEARTBEAT_S = 15.0
RETRY_MS = 3000
# How often the page reloads itself without JavaScript, while the visitor waits.
NO_JS_REFRESH_S = 10
# Open waiting-room streams one identity may hold in this process (each costs a status call
# every EVENT_INTERVAL_S): a few tabs, not a script opening hundreds.
MAX_STREAMS_PER_IDENTITY = 3
# The states in which the visitor waits in the room (and the page follows the stream).
WAITING = frozenset({"waiting_for_draw", "waiting"})
EVENT_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def queue_url(concert_id: uuid.UUID | str) -> str:
    return f"/concerts/{concert_id}/queue"


def shop_url(concert_id: uuid.UUID | str) -> str:
    return f"/concerts/{concert_id}"


# -- the gate, for the concert page and the booking route (web/routes.py) ----------------------


def admission_token(request: Request) -> str | None:
    """The admission token the request's cookie carries (the waiting room checks it)."""
    raw = request.cookies.get(ADMISSION_COOKIE)
    if not raw or len(raw) > tokens.MAX_LENGTH or not raw.isascii():
        return None
    return raw


def admitted(status: QueueStatus) -> bool:
    """Let in, and the admission still running (an expired one has no token)."""
    return status.state == "admitted" and status.admission_token is not None


def keep_admission(
    response: Response, request: Request, concert_id: uuid.UUID, status: QueueStatus
) -> None:
    """Set the admission cookie when the status says admitted and the cookie isn't it yet."""
    token = status.admission_token
    expires_at = status.admission_expires_at
    if status.state != "admitted" or not token or expires_at is None:
        return
    if admission_token(request) == token:
        return
    lasts = int((expires_at - datetime.now(UTC)).total_seconds())
    if lasts <= 0:
        return
    response.set_cookie(
        ADMISSION_COOKIE,
        token,
        max_age=lasts,
        path=shop_url(concert_id),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


async def shop_gate(
    request: Request, services: AppServices, session: PageSession, concert_id: uuid.UUID
) -> tuple[Response | None, QueueStatus]:
    """For the concert page: (a 303 to the waiting room while the visitor must wait, else None;
    the visitor's queue status)."""
    status = await services.queue.status(concert_id, session.user_id)
    if status.state == "not_protected" or admitted(status):
        return None, status
    return to_waiting_room(request, services, session, concert_id), status


def to_waiting_room(
    request: Request, services: AppServices, session: PageSession, concert_id: uuid.UUID
) -> Response:
    response = RedirectResponse(queue_url(concert_id), status_code=303)
    remember(response, request, services.signer, session)
    return response


async def admission_refused(
    request: Request,
    services: AppServices,
    session: PageSession,
    concert: Concert,
    tier: TicketTier,
) -> Response | None:
    """For the booking route: None when the visitor may book ``tier`` (not protected, or the
    cookie's admission is valid for them); else the answer that sends them to the waiting room
    (a 303; for the page's script a 403 whose result links to it)."""
    try:
        await services.queue.require_admission(session.user_id, tier.id, admission_token(request))
    except Forbidden as refused:
        if "application/json" in request.headers.get("accept", ""):
            url = queue_url(concert.id)
            html = (
                '<div class="result result--error" tabindex="-1">'
                '<p class="result__title">Your turn hasn\'t come yet</p>'
                f"<p>{escape(refused.message)} "
                f'<a href="{url}">Go to the waiting room</a></p></div>'
            )
            body = {"ok": False, "outcome": "queue-required", "html": html, "redirect": url}
            return json_response(403, body, rendering.PAGE_HEADERS)
        return to_waiting_room(request, services, session, concert.id)
    return None


# -- what the page and the stream show -------------------------------------------------------------


def human_wait(seconds: float | None) -> str | None:
    """'less than a minute', 'about 3 minutes', 'about 1 hour 20 minutes'; None if unknown."""
    if seconds is None:
        return None
    if seconds < 60:
        return "less than a minute"
    minutes = -(-int(seconds) // 60)  # rounded up: never promise less than the estimate
    if minutes < 60:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    text = f"about {hours} hour{'s' if hours != 1 else ''}"
    return f"{text} {rest} minute{'s' if rest != 1 else ''}" if rest else text


def human_span(seconds: float) -> str:
    """How long an admission lasts: '10 minutes', '90 seconds'."""
    whole = max(0, round(seconds))
    if whole < 120:
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = whole // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _number(value: Any) -> str | None:
    return f"{value:,}" if isinstance(value, int) else None


def headline(status: QueueStatus) -> str:
    """The sentence the page's live region reads out."""
    if status.state == "not_protected":
        return "There is no waiting room for this concert."
    if status.state == "not_joined":
        return "You haven't joined the queue yet."
    if status.state == "waiting_for_draw":
        return "You're in the queue. Your place is drawn when tickets go on sale."
    if status.state == "admitted" and status.admission_token is None:
        return "Your turn has passed: your admission expired, and the place is not given back."
    if status.state == "admitted":
        return "It's your turn: you can buy tickets now."
    if status.state == "waiting" and status.position is not None:
        text = f"You're number {status.position:,} in the queue"
        if status.ahead is not None:
            text += f": {status.ahead:,} {'person' if status.ahead == 1 else 'people'} ahead of you"
        wait = human_wait(status.estimated_wait_s)
        return f"{text}, {wait} to wait." if wait else f"{text}."
    return "Your place in the queue is being worked out. This page updates by itself."


def status_view(concert: Concert, status: QueueStatus) -> dict[str, Any]:
    """The status as the page and its events show it (camelCase, all text ready to show)."""
    expires_at = status.admission_expires_at
    opens_at = status.opens_at
    return {
        "state": status.state,
        "headline": headline(status),
        "position": status.position,
        "positionText": _number(status.position),
        "ahead": status.ahead,
        "aheadText": _number(status.ahead),
        "admittedThrough": status.admitted_through,
        "estimatedWaitS": status.estimated_wait_s,
        "estimatedWait": human_wait(status.estimated_wait_s),
        # Before the draw the service's estimate is the time left until it.
        "waitLabel": "The draw in" if status.state == "waiting_for_draw" else "Estimated wait",
        "admitted": admitted(status),
        "opensAt": opens_at.isoformat() if opens_at else None,
        "opensAtText": views.long_venue_time(opens_at, concert.timezone) if opens_at else None,
        "seedHash": status.seed_hash,
        "seed": status.seed,
        "joinId": status.join_id,
        "admissionExpiresAt": expires_at.isoformat() if expires_at else None,
        "admissionUntilText": (
            views.time_of_day(expires_at, concert.timezone) if expires_at else None
        ),
        "admissionLasts": (
            human_span((expires_at - datetime.now(UTC)).total_seconds()) if expires_at else None
        ),
        "shopUrl": shop_url(concert.id),
    }


async def _concert(services: AppServices, raw_id: str) -> Concert:
    concert = await catalog.get_concert(services.catalog_db, parse_id(raw_id, "Concert"))
    if concert is None:
        raise NotFound("We couldn't find that concert. It may have been removed.")
    return concert


def _render(
    request: Request,
    services: AppServices,
    session: PageSession,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    response = rendering.page(
        "queue.html",
        {"session": session, "csrf_field": CSRF_FIELD, "path": request.url.path, **context},
        status_code,
    )
    remember(response, request, services.signer, session)
    return response


# -- routes ---------------------------------------------------------------------------------------


@router.get("/concerts/{concert_id}/queue")
async def waiting_room(concert_id: str, request: Request, services: Services) -> Response:
    session = await page_session(request, services)
    concert = await _concert(services, concert_id)
    status = await services.queue.status(concert.id, session.user_id)
    response = _render(
        request,
        services,
        session,
        {
            "concert": concert,
            "status": status,
            "view": status_view(concert, status),
            "waiting": status.state in WAITING,
            "refresh_s": NO_JS_REFRESH_S,
            "events_url": f"{queue_url(concert.id)}/events",
            "draw_url": f"/api/concerts/{concert.id}/queue/draw",
            "nav": "concerts",
        },
    )
    keep_admission(response, request, concert.id, status)
    return response


@router.post("/concerts/{concert_id}/queue")
async def join(concert_id: str, request: Request, services: Services) -> Response:
    form = await request.form()
    submitted = form.get(CSRF_FIELD)
    session = await check_csrf(request, services, submitted if isinstance(submitted, str) else None)
    concert = await _concert(services, concert_id)
    # Refuse an on-sale without a waiting room before anything is written: a guest's row
    # counts against the guest limit, and must not be spent on a join that can't happen.
    onsale = await services.queue.onsale(concert.id)
    if onsale is None:
        raise NotFound("This concert has no waiting room")
    if not onsale.protected:
        raise Conflict("This concert's on-sale has no waiting room: book directly")
    if session.is_guest:
        # A guest's row is made when it first acts (browsing writes nothing), counted as a new
        # guest from this address: the guest rate limit bounds the places guests can take.
        await services.accounts.ensure_guest(session.user_id, client_address(request))
    await services.queue.join(concert.id, session.user_id)
    # Post/redirect/get: a reload of the room never joins again (joining is idempotent anyway).
    return RedirectResponse(queue_url(concert.id), status_code=303)


@router.get("/concerts/{concert_id}/queue/events")
async def waiting_room_events(concert_id: str, request: Request, services: Services) -> Response:
    """The visitor's status as Server-Sent Events (``event: status``), sent when it changes."""
    session = await page_session(request, services)
    concert = await _concert(services, concert_id)
    if open_streams.get(session.user_id, 0) >= MAX_STREAMS_PER_IDENTITY:
        # EventSource doesn't retry a 429; the page's script reloads the page instead.
        return Response(
            "Too many open waiting-room streams for this visitor.\n",
            status_code=429,
            media_type="text/plain",
            headers={"Retry-After": str(NO_JS_REFRESH_S), "Cache-Control": "no-store"},
        )
    return StreamingResponse(
        status_stream(services, concert, session.user_id),
        media_type="text/event-stream",
        headers=EVENT_HEADERS,
    )


# identity -> its waiting-room streams open in this process (MAX_STREAMS_PER_IDENTITY). A soft
# cap: counted once a stream starts, so requests racing in the same instant may pass it.
open_streams: dict[uuid.UUID, int] = {}


def status_event(view: dict[str, Any]) -> bytes:
    return b"event: status\ndata: " + orjson.dumps(view) + b"\n\n"


async def status_stream(
    services: AppServices,
    concert: Concert,
    user_id: uuid.UUID,
    *,
    interval_s: float = EVENT_INTERVAL_S,
    heartbeat_s: float = HEARTBEAT_S,
) -> AsyncIterator[bytes]:
    """One status call every ``interval_s``; an event when what it shows changed, a comment
    line after ``heartbeat_s`` without one. It ends once the visitor is admitted (the page
    moves to the shop), when the client goes away, and when the server shuts down: between
    calls it waits on the live hub's shutdown signal (set on SIGTERM by ``close_streams``),
    which nothing else wakes: a busy concert's ticket counts cost it nothing."""
    hub = services.live
    loop = asyncio.get_running_loop()
    open_streams[user_id] = open_streams.get(user_id, 0) + 1
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        last: bytes | None = None
        quiet_since = loop.time()
        while True:
            status = await services.queue.status(concert.id, user_id)
            view = status_view(concert, status)
            # The text of "how long the admission lasts" ticks every second; not a change.
            event = status_event({**view, "admissionLasts": None})
            if event != last:
                last = event
                quiet_since = loop.time()
                yield status_event(view)
            elif loop.time() - quiet_since >= heartbeat_s:
                quiet_since = loop.time()
                yield b": keep-alive\n\n"
            if status.state not in WAITING:
                return
            if hub is None:
                await asyncio.sleep(interval_s)
            elif await hub.wait_shutdown(interval_s):
                return
    finally:
        left = open_streams.get(user_id, 1) - 1
        if left > 0:
            open_streams[user_id] = left
        else:
            open_streams.pop(user_id, None)
