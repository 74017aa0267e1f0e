"""How the pages show a failure: a friendly HTML page with the failure's status code (or,
for a form sent by the pages' script, a small JSON answer it shows in place). Which failure
gets which status is decided once, in ``http/errors.py``.
"""

from __future__ import annotations

import logging

from fastapi import Request
from starlette.responses import Response

from ticketbook.http.errors import Failure
from ticketbook.http.responses import json_response
from ticketbook.web import rendering
from ticketbook.web.routes import wants_json
from ticketbook.web.session import PageSession, current_session, known_session

log = logging.getLogger(__name__)

TITLES = {
    400: "Something's not right with that request",
    401: "Please sign in",
    403: "That didn't go through",
    404: "Page not found",
    405: "That page can't do that",
    409: "That can't be done right now",
    413: "That's too much",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "We're very busy right now",
}

DEFAULT_MESSAGES = {
    400: "Some of the details sent were not valid.",
    404: "We couldn't find the page you were looking for. It may have moved, or the link "
    "may be mistyped.",
    405: "This address only accepts forms sent from our pages.",
    413: "The form you sent was larger than we accept.",
    500: "We've logged the problem. Please try again in a moment.",
    503: "Too many people are booking at once. Please try again in a few seconds; nothing "
    "was booked twice.",
}


# A form page that failed (say, too many sign-in attempts) offers a way back to it.
BACK_LINKS = {"/login": "Back to sign in", "/register": "Back to create an account"}


async def _session(request: Request, *, ask_db: bool) -> PageSession | None:
    """Who the header shows as signed in. When the database is what failed, or the handler
    already failed in some unknown way, only what needs no database (a guest cookie)."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return None
    if ask_db:
        try:
            return await current_session(request, services)
        except Exception as exc:  # the error page must render whatever happened
            log.debug("no session for the error page: %r", exc)
    return known_session(request, services.signer)


async def error_page(
    request: Request,
    status_code: int,
    message: str | None,
    headers: dict[str, str] | None = None,
    *,
    ask_db: bool = True,
) -> Response:
    text = DEFAULT_MESSAGES.get(status_code) if status_code >= 500 or not message else message
    text = text or DEFAULT_MESSAGES.get(status_code) or "Please go back and try again."
    if wants_json(request):
        return json_response(status_code, {"ok": False, "message": text}, headers)
    path = request.url.path
    back = BACK_LINKS.get(path) if status_code in (400, 403, 429) else None
    response = rendering.page(
        "error.html",
        {
            "status_code": status_code,
            "title": TITLES.get(status_code, "Something went wrong"),
            "message": text,
            "session": await _session(request, ask_db=ask_db),
            "path": path,
            "back": {"href": path, "label": back} if back else None,
        },
        status_code,
    )
    if headers:
        response.headers.update(headers)
    return response


async def render_page_error(request: Request, failure: Failure) -> Response:
    return await error_page(
        request,
        failure.status_code,
        failure.message if failure.public else None,
        failure.headers,
        ask_db=not failure.database_suspect,
    )
