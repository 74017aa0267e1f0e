"""Jinja2 templates and static assets for the pages (no build step, no CDN)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from ticketbook.booking.outcomes import BookingOutcome
from ticketbook.domain.enums import MAX_TICKETS_PER_BOOKING, BookingStatus
from ticketbook.web import views
from ticketbook.web.session import CSRF_FIELD

STATIC_DIR = Path(__file__).with_name("static")

# Pages carry per-visitor data (CSRF token, fresh idempotency keys): never in a shared cache.
# Not `no-store`, so Back restores the same form, and its key, instead of a fresh one.
# The page CSP allows this origin's scripts only: no inline script, no eval. The other security
# headers (nosniff, Referrer-Policy, X-Frame-Options, ...) come from api/security_headers.py,
# which adds them to every response and keeps this CSP where a response sets it.
PAGE_HEADERS = {
    "Cache-Control": "private, no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
        "style-src 'self'; style-src-attr 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


@cache
def asset_version(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """/static/<name>?v=<content hash>: a changed file gets a new URL."""
    return f"/static/{name}?v={asset_version(name)}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ticketbook.web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        static=static_url,
        csrf_field=CSRF_FIELD,
        new_key=lambda: str(uuid.uuid4()),
        tier_name=views.TIER_NAMES.get,
        tier_title=views.tier_title,
        describe_seats=views.describe_seats,
        tier_blurb=views.TIER_BLURBS.get,
        status_label=views.STATUS_LABELS.get,
        availability_labels=views.AVAILABILITY_LABELS,
        availability=views.availability,
        concert_availability=views.concert_availability,
        max_quantity=views.max_quantity,
        max_per_booking=MAX_TICKETS_PER_BOOKING,
        has_started=views.has_started,
        left_share=views.left_share,
        poster_hue=views.poster_hue,
        # The enums, so templates compare against the one definition of each value.
        Outcome=BookingOutcome,
        BookingStatus=BookingStatus,
    )
    env.filters.update(
        money=views.money,
        long_date=views.long_date,
        short_date=views.short_date,
        time_of_day=views.time_of_day,
        venue_time=views.venue_time,
        long_venue_time=views.long_venue_time,
        local_time=views.local,
        reference=views.reference,
    )
    return env


ENV = _environment()


def render(template: str, context: Mapping[str, Any]) -> str:
    return ENV.get_template(template).render(context)


def page(template: str, context: Mapping[str, Any], status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(render(template, context), status_code=status_code, headers=PAGE_HEADERS)
