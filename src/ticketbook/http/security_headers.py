"""Pure-ASGI middleware: security headers on every HTTP answer (API JSON, pages, static files,
errors, 404s), wrapped around the whole app so even a 500 or a 413 gets them.

A header the response already set wins: the pages keep their own Content-Security-Policy
(``web/rendering.py`` PAGE_HEADERS); everything else gets a CSP that allows nothing, which
suits JSON, CSS and icons, since none of them needs to load or run anything.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Two years, the preload lists' minimum; sent only over HTTPS, where browsers heed it.
HSTS = "max-age=63072000; includeSubDomains"

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", DEFAULT_CSP.encode()),
)
_HTTPS_HEADERS = (*SECURITY_HEADERS, (b"strict-transport-security", HSTS.encode()))


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # uvicorn sets the scheme from X-Forwarded-Proto only for trusted proxies.
        extra = _HTTPS_HEADERS if scope["scheme"] == "https" else SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
