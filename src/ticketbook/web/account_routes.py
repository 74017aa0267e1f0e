"""Sign in, create an account, sign out: thin pages over ``Accounts`` (``auth/service.py``).

The rules (email and password policy, rate limits, the same answer for a wrong email and a
wrong password, moving a guest's bookings into a new account) live in ``auth/``;
these handlers read the form, check its CSRF token, and turn the outcome into a page or a
redirect with the new session cookie. Every form here is a plain HTML form: no JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from ticketbook.auth.emails import MAX_EMAIL_LENGTH, normalize_email
from ticketbook.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ticketbook.domain.enums import SessionKind
from ticketbook.domain.errors import EmailTaken, InvalidCredentials, InvalidInput
from ticketbook.http.deps import Services, client_address
from ticketbook.services import AppServices
from ticketbook.web.routes import render_page, text_field
from ticketbook.web.session import (
    CSRF_FIELD,
    PageSession,
    check_csrf,
    forget,
    page_session,
    remember_left_guest,
    return_to_left_guest,
    sign_in_cookie,
    welcome_code,
)

router = APIRouter(include_in_schema=False)

DEFAULT_NEXT = "/bookings"
# Pages a sign-in never returns to (the forms themselves, and POST-only sign out).
_NOT_NEXT = {"/login", "/register", "/logout"}
_MAX_NEXT_LENGTH = 1000

NextParam = Annotated[str | None, Query(alias="next")]


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a path on this site, else /bookings.

    Only a relative path that starts with exactly one "/" (never "//host" or "/\\host", which
    browsers read as another host, nor a scheme), printable ASCII without spaces or
    backslashes (browsers drop tabs and newlines from URLs, and read "\\" as "/").
    """
    if (
        not raw
        or len(raw) > _MAX_NEXT_LENGTH
        or not raw.startswith("/")
        or raw.startswith("//")
        or not raw.isascii()
        or any(ch <= " " or ch in "\\\x7f" for ch in raw)
    ):
        return DEFAULT_NEXT
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.path in _NOT_NEXT:
        return DEFAULT_NEXT
    return raw


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def _signed_in_already(session: PageSession, target: str) -> Response | None:
    """An account visiting the sign-in or register page goes on where it was going."""
    return None if session.is_guest else _redirect(target)


# -- sign in -------------------------------------------------------------------------------


def _login_form(
    request: Request,
    services: AppServices,
    session: PageSession,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "next": next_path,
        "email": email,
        "error": error,
        "nav": "login",
    }
    return render_page(request, services, session, "login.html", context, status_code)


@router.get("/login")
async def login_page(request: Request, services: Services, next_path: NextParam = None) -> Response:
    session = await page_session(request, services)
    target = safe_next(next_path)
    return _signed_in_already(session, target) or _login_form(
        request, services, session, next_path=target
    )


@router.post("/login")
async def login(request: Request, services: Services) -> Response:
    form = await request.form()
    session = await check_csrf(request, services, text_field(form, CSRF_FIELD))
    target = safe_next(text_field(form, "next"))
    if (already := _signed_in_already(session, target)) is not None:
        return already
    email = text_field(form, "email") or ""
    password = text_field(form, "password") or ""
    if not email.strip() or not password:
        return _login_form(
            request,
            services,
            session,
            next_path=target,
            email=email,
            error="Enter your email and your password.",
            status_code=400,
        )
    try:
        signed_in = await services.accounts.sign_in(
            email=email,
            password=password,
            address=client_address(request),
            kind=SessionKind.PAGE,
            guest_id=session.user_id if session.is_guest else None,
        )
    except InvalidCredentials as exc:
        # The same page whether the email has an account or not; the typed email stays,
        # the password is never sent back.
        return _login_form(
            request,
            services,
            session,
            next_path=target,
            email=email,
            error=exc.message,
            status_code=401,
        )
    moved, kept = signed_in.moved_bookings, signed_in.kept_bookings
    if kept or (moved and target == DEFAULT_NEXT):
        # What moved, and what stayed with the guest, is shown on My bookings; bookings left
        # behind are worth the detour from ``next``.
        code = welcome_code(
            services.signer, signed_in.identity.user_id, moved, kept, registered=False
        )
        response = _redirect(f"{DEFAULT_NEXT}?{urlencode({'welcome': code})}")
    else:
        response = _redirect(target)
    sign_in_cookie(response, request, signed_in.token, services.settings.session_ttl_s)
    if kept:
        # Signing out goes back to that guest, so its bookings are in this browser still.
        remember_left_guest(response, request, services.signer, session.user_id)
    return response


# -- create an account ---------------------------------------------------------------------


def _register_form(
    request: Request,
    services: AppServices,
    session: PageSession,
    *,
    email: str = "",
    errors: dict[str, str] | None = None,
    email_taken: bool = False,
    status_code: int = 200,
) -> Response:
    errors = errors or {}
    context: dict[str, Any] = {
        "email": email,
        "errors": errors,
        # The first field with a problem gets the focus when the page comes back.
        "first_error": next((f for f in ("email", "password", "confirm") if f in errors), None),
        "email_taken": email_taken,
        "min_password_length": MIN_PASSWORD_LENGTH,
        "max_password_length": MAX_PASSWORD_LENGTH,
        "max_email_length": MAX_EMAIL_LENGTH,
        "nav": "register",
    }
    return render_page(request, services, session, "register.html", context, status_code)


def _is_valid_email(email: str) -> bool:
    try:
        normalize_email(email)
    except InvalidInput:
        return False
    return True


@router.get("/register")
async def register_page(request: Request, services: Services) -> Response:
    session = await page_session(request, services)
    return _signed_in_already(session, DEFAULT_NEXT) or _register_form(request, services, session)


@router.post("/register")
async def register(request: Request, services: Services) -> Response:
    form = await request.form()
    session = await check_csrf(request, services, text_field(form, CSRF_FIELD))
    if (already := _signed_in_already(session, DEFAULT_NEXT)) is not None:
        return already
    email = text_field(form, "email") or ""
    password = text_field(form, "password") or ""
    confirm = text_field(form, "confirm_password") or ""
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = "Enter your email address."
    if not password:
        errors["password"] = "Choose a password."
    elif confirm != password:
        errors["confirm"] = "The two passwords don't match. Type the same password twice."
    if errors:
        return _register_form(
            request, services, session, email=email, errors=errors, status_code=400
        )
    try:
        signed_in = await services.accounts.register(
            email=email,
            password=password,
            address=client_address(request),
            # The bookings this browser made as a guest move into the new account.
            guest_id=session.user_id if session.is_guest else None,
            kind=SessionKind.PAGE,
        )
    except EmailTaken as exc:
        return _register_form(
            request,
            services,
            session,
            email=email,
            errors={"email": exc.message},
            email_taken=True,
            status_code=409,
        )
    except InvalidInput as exc:
        field = "password" if _is_valid_email(email) else "email"
        return _register_form(
            request, services, session, email=email, errors={field: exc.message}, status_code=400
        )
    code = welcome_code(
        services.signer,
        signed_in.identity.user_id,
        signed_in.moved_bookings,
        signed_in.kept_bookings,
    )
    response = _redirect(f"{DEFAULT_NEXT}?{urlencode({'welcome': code})}")
    sign_in_cookie(response, request, signed_in.token, services.settings.session_ttl_s)
    return response


# -- sign out ------------------------------------------------------------------------------


@router.post("/logout")
async def logout(request: Request, services: Services) -> Response:
    form = await request.form()
    session = await check_csrf(request, services, text_field(form, CSRF_FIELD))
    response = _redirect("/")
    session_id = session.identity.session_id
    if session_id is not None:
        await services.accounts.sign_out(session_id)
        # Back to the guest a sign-in left bookings with, if any; else a fresh guest.
        if not return_to_left_guest(response, request, services.signer):
            forget(response, request)
    # A guest has nothing to sign out of; its cookie (and its bookings) stay.
    return response
