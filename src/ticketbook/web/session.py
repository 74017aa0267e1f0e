"""The fan's guest session (a signed cookie) and CSRF tokens for the pages' forms.

- **Session.** On a first visit the server picks a random user id and sets it, signed with the
  same key and format as the API's bearer tokens, in the cookie ``tb_session``: HttpOnly
  (scripts can't read it), SameSite=Lax (other sites' forms don't carry it), Secure when the
  request came over HTTPS, for 400 days. Nothing is written to the database until the visitor
  books (see ``ensure_guest``), so crawlers and browsing cost no writes. A cookie whose
  signature does not verify is ignored and replaced.
- **CSRF.** Every form carries ``csrf_token`` = HMAC(key, "csrf:" + session user id). A POST is
  accepted only with a valid session cookie and the token that matches it (constant-time
  compare), so another site can neither read a token nor forge one for someone else's session.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ticketbook.auth.tokens import TokenSigner

COOKIE_NAME = "tb_session"
# Browsers cap cookie lifetimes at 400 days.
COOKIE_MAX_AGE_S = 400 * 24 * 3600
CSRF_FIELD = "csrf_token"


class CsrfRejected(Exception):
    """A form POST without a valid session, or with a missing or wrong CSRF token."""


@dataclass(frozen=True)
class PageSession:
    user_id: uuid.UUID
    csrf_token: str
    is_new: bool


def csrf_token_for(signer: TokenSigner, user_id: uuid.UUID) -> str:
    return signer.mac("csrf", user_id.hex)


def current_session(request: Request, signer: TokenSigner) -> PageSession | None:
    raw = request.cookies.get(COOKIE_NAME)
    user_id = signer.verify(raw) if raw else None
    if user_id is None:
        return None
    return PageSession(user_id, csrf_token_for(signer, user_id), is_new=False)


def page_session(request: Request, signer: TokenSigner) -> PageSession:
    """The visitor's session; a new one (not yet sent) on a first visit."""
    session = current_session(request, signer)
    if session is not None:
        return session
    user_id = uuid.uuid4()
    return PageSession(user_id, csrf_token_for(signer, user_id), is_new=True)


def remember(
    response: Response, request: Request, signer: TokenSigner, session: PageSession
) -> None:
    """Set the session cookie if this response starts the session."""
    if not session.is_new:
        return
    response.set_cookie(
        COOKIE_NAME,
        signer.issue(session.user_id),
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def check_csrf(request: Request, signer: TokenSigner, submitted: str | None) -> PageSession:
    """The session a form POST acts for; CsrfRejected unless its token matches."""
    session = current_session(request, signer)
    if session is None:
        raise CsrfRejected("Your session has expired. Reload the page and try again.")
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
        raise CsrfRejected("This form has expired. Reload the page and try again.")
    return session
