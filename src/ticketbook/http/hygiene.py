"""Pure-ASGI guards for what every answer must get right whichever route gives it.

- ``HeadAsGet``: HEAD is answered on every GET route (RFC 9110 section 9.3.2: the GET's status
  and headers, no body). FastAPI routes list GET only, so HEAD was 405. The route runs as a GET
  and the answer ends right after its headers: a stream (Server-Sent Events) is not run on.
- ``RelativeRedirects``: a redirect never names the host the request's ``Host`` header gave
  (Starlette's trailing-slash redirect builds an absolute URL from it: ``Host: evil.example``
  sent the visitor to evil.example). A Location on the request's own host becomes a path.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# RFC 3986 pchar and "/" (and "%", which keeps escapes as they are).
PATH_SAFE = "/%!$&'()*+,;=:@-._~"


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Message) -> None:
            nonlocal finished
            if finished:
                return
            if message["type"] == "http.response.start":
                await send(message)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                finished = True
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class RelativeRedirects:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relative_location(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message["headers"] = [
                    (name, _relative(value, scope) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", ())
                ]
            await send(message)

        await self.app(scope, receive, relative_location)


def _own_hosts(scope: Scope) -> set[str]:
    hosts = {value.decode("latin-1").lower() for name, value in scope["headers"] if name == b"host"}
    server = scope.get("server")
    if server:
        host, port = server
        hosts.add(f"{host}:{port}".lower() if port is not None else str(host).lower())
    return hosts


def _relative(location: bytes, scope: Scope) -> bytes:
    """``http://<this request's host>/path?q`` as ``/path?q``; any other Location as it is."""
    text = location.decode("latin-1")
    parts = urlsplit(text)
    if not parts.netloc or parts.netloc.lower() not in _own_hosts(scope):
        return location
    # Percent-encoded, and one leading slash: a browser takes "//evil.example" for another
    # host, and so "/" + backslash or tab + "/evil.example", which it normalizes to that.
    path = "/" + quote(parts.path, safe=PATH_SAFE).lstrip("/")
    relative = path + (f"?{parts.query}" if parts.query else "")
    return relative.encode("latin-1")
