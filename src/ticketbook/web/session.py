"""The visitor's page session (the ``tb_session`` cookie) and CSRF tokens for the pages' forms.

- **Session.** The cookie holds one of two kinds of token, resolved with
  ``Accounts.identify`` (``auth/service.py``) like an API bearer token:

  - a *guest* token: a random user id signed with the same key and format as the API's guest
    tokens. A first visit gets one (nothing is written to the database until the visitor
    books, see ``ensure_guest``, so crawlers and browsing cost no writes), for 400 days;
  - an *account* page session (``tb_…``, opened with ``kind=SessionKind.PAGE`` by
    ``Accounts.sign_in`` or ``Accounts.register``), set by signing in or registering, for
    ``settings.session_ttl_s``. It is looked up in the database on every request, so signing
    out (or any revocation) ends it at once.

  Both are HttpOnly (scripts can't read them), SameSite=Lax (other sites' forms don't carry
  them) and Secure when the request came over HTTPS. A cookie that names nobody (a bad
  signature, a revoked or expired session, garbage) is ignored: the visitor gets a fresh guest
  session, as on a first visit.
- **CSRF.** Every form carries ``csrf_token`` = HMAC(key, "csrf:" + what the cookie names): the
  guest's user id, or for an account the session id (new at every sign-in, so a token seen
  before signing in is useless after). A POST is accepted only with a cookie that resolves and
  the token that matches it (constant-time compare), so another site can neither read a token
  nor forge one for someone else's session. The sign-in and register forms are bound to the
  visitor's guest session the same way, so nobody can sign a victim into their own account
  (login CSRF).
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ticketbook.auth.identity import Identity
from ticketbook.auth.tokens import TokenSigner
from ticketbook.domain.enums import Role, SessionKind
from ticketbook.domain.errors import Forbidden
from ticketbook.services import AppServices

COOKIE_NAME = "tb_session"
# Browsers cap cookie lifetimes at 400 days.
COOKIE_MAX_AGE_S = 400 * 24 * 3600
CSRF_FIELD = "csrf_token"
# Where the request's resolved session is kept, so an error page needn't look it up again.
_STATE_KEY = "page_session"


class CsrfRejected(Forbidden):
    """A form POST without a valid session, or with a missing or wrong CSRF token."""

    code = "CSRF_REJECTED"


@dataclass(frozen=True)
class PageSession:
    identity: Identity
    csrf_token: str
    # A guest session started by this response (its cookie is not set yet).
    is_new: bool = False

    @property
    def user_id(self) -> uuid.UUID:
        return self.identity.user_id

    @property
    def is_guest(self) -> bool:
        return self.identity.is_guest

    @property
    def email(self) -> str | None:
        return self.identity.email


def csrf_token_for(signer: TokenSigner, identity: Identity) -> str:
    if identity.session_id is not None:
        # An account's token changes with every sign-in.
        return signer.mac("csrf", "session:" + identity.session_id.hex)
    return signer.mac("csrf", identity.user_id.hex)


def _cookie(request: Request) -> str | None:
    raw = request.cookies.get(COOKIE_NAME)
    # Both kinds of token are short ASCII; anything else names nobody (no lookup for it).
    if not raw or len(raw) > 200 or not raw.isascii():
        return None
    return raw


async def current_session(request: Request, services: AppServices) -> PageSession | None:
    """The session the request's cookie names, or None (no cookie, or it names nobody)."""
    cached = getattr(request.state, _STATE_KEY, None)
    if isinstance(cached, PageSession):
        return cached
    raw = _cookie(request)
    identity = await services.accounts.identify(raw, SessionKind.PAGE) if raw else None
    if identity is None:
        return None
    session = PageSession(identity, csrf_token_for(services.signer, identity))
    setattr(request.state, _STATE_KEY, session)
    return session


def known_session(request: Request, signer: TokenSigner) -> PageSession | None:
    """For error pages: the session this request already resolved, or a guest cookie (checked
    by its signature alone). Never asks the database, which may be what failed."""
    cached = getattr(request.state, _STATE_KEY, None)
    if isinstance(cached, PageSession):
        return cached
    raw = _cookie(request)
    user_id = signer.verify(raw) if raw else None
    if user_id is None:
        return None
    identity = Identity(user_id, Role.GUEST)
    return PageSession(identity, csrf_token_for(signer, identity))


def new_guest_session(request: Request, signer: TokenSigner) -> PageSession:
    identity = Identity(uuid.uuid4(), Role.GUEST)
    session = PageSession(identity, csrf_token_for(signer, identity), is_new=True)
    setattr(request.state, _STATE_KEY, session)
    return session


async def page_session(request: Request, services: AppServices) -> PageSession:
    """The visitor's session; a new guest one (not yet sent) on a first visit, or when the
    cookie names nobody."""
    session = await current_session(request, services)
    return session or new_guest_session(request, services.signer)


def _set_cookie(response: Response, request: Request, value: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def remember(
    response: Response, request: Request, signer: TokenSigner, session: PageSession
) -> None:
    """Set the session cookie if this response starts a guest session."""
    if session.is_new:
        _set_cookie(response, request, signer.issue(session.user_id), COOKIE_MAX_AGE_S)


def sign_in_cookie(response: Response, request: Request, token: str, ttl_s: int) -> None:
    """Put a new account page session in the cookie (replacing the guest token)."""
    _set_cookie(response, request, token, ttl_s)


def forget(response: Response, request: Request) -> None:
    """Delete the session cookie; the next page starts a fresh guest session."""
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


@dataclass(frozen=True)
class Welcome:
    """The notice /bookings shows right after registering or signing in."""

    registered: bool  # a new account (else a sign-in)
    moved: int  # the guest's bookings now in the account
    kept: int  # the guest's bookings that stayed with it (the per-concert cap)


def welcome_code(
    signer: TokenSigner, user_id: uuid.UUID, moved: int, kept: int = 0, registered: bool = True
) -> str:
    """The ``welcome`` query value /bookings shows its notice for: ``r`` (registered) or
    ``s`` (signed in), the bookings moved and kept, and a MAC over them and the account id,
    so only that account's session can show it."""
    body = f"{'r' if registered else 's'}.{moved}.{kept}"
    return f"{body}.{signer.mac('welcome', f'{user_id.hex}:{body}')}"


def welcome_notice(signer: TokenSigner, session: PageSession, code: str | None) -> Welcome | None:
    """What ``code`` says happened to this account; None if it is not this account's."""
    if not code or session.is_guest or len(code) > 200:
        return None
    kind, _, rest = code.partition(".")
    moved, _, rest = rest.partition(".")
    kept, _, _ = rest.partition(".")
    if kind not in ("r", "s") or not all(n.isdigit() and len(n) <= 9 for n in (moved, kept)):
        return None
    welcome = Welcome(kind == "r", int(moved), int(kept))
    expected = welcome_code(
        signer, session.user_id, welcome.moved, welcome.kept, welcome.registered
    )
    return welcome if hmac.compare_digest(code.encode(), expected.encode()) else None


# The guest a page sign-in left bookings with (the per-concert cap): signing out goes back
# to it, so those bookings are still in this browser.
LEFT_GUEST_COOKIE = "tb_guest"


def remember_left_guest(
    response: Response, request: Request, signer: TokenSigner, guest_id: uuid.UUID
) -> None:
    response.set_cookie(
        LEFT_GUEST_COOKIE,
        signer.issue(guest_id),
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def return_to_left_guest(response: Response, request: Request, signer: TokenSigner) -> bool:
    """On sign-out: make the guest a sign-in left bookings with this browser's session again
    (True), if there is one."""
    raw = request.cookies.get(LEFT_GUEST_COOKIE)
    user_id = signer.verify(raw) if raw and len(raw) <= 200 and raw.isascii() else None
    response.delete_cookie(
        LEFT_GUEST_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    if user_id is None or raw is None:
        return False
    _set_cookie(response, request, raw, COOKIE_MAX_AGE_S)
    return True


async def check_csrf(request: Request, services: AppServices, submitted: str | None) -> PageSession:
    """The session a form POST acts for; CsrfRejected unless its token matches."""
    session = await current_session(request, services)
    if session is None:
        raise CsrfRejected("Your session has expired. Reload the page and try again.")
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
        raise CsrfRejected("This form has expired. Reload the page and try again.")
    return session
