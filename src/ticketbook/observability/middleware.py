"""One pure-ASGI middleware per request: a request id (returned as X-Request-ID and put on
every log line) and the request count and latency metrics by route template and status."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbook.observability.logs import request_id_var
from ticketbook.observability.metrics import REQUEST_SECONDS, REQUESTS

log = logging.getLogger("ticketbook.access")

# A caller's own request id is kept if it is short and plain, so traces join up.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _ACCEPTED_ID.match(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route as a template (/api/concerts/{concert_id}): a bounded label set.

    Rebuilt from the path and its parameters, since routes of included routers only know
    the part of the path below their prefix.
    """
    if scope.get("route") is None:
        return "unmatched"
    params: dict[str, object] = scope.get("path_params") or {}
    if not params:
        return str(scope["path"])
    names = {str(value): name for name, value in params.items()}
    segments = [f"{{{names[s]}}}" if s in names else s for s in scope["path"].split("/")]
    return "/".join(segments)


class RequestObserver:
    def __init__(self, app: ASGIApp, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            method = scope["method"]
            REQUESTS.labels(method, template, str(status)).inc()
            REQUEST_SECONDS.labels(method, template).observe(elapsed)
            if self.access_log or status >= 500:
                log.log(
                    logging.WARNING if status >= 500 else logging.INFO,
                    "%s %s %d",
                    method,
                    scope["path"],
                    status,
                    extra={"route": template, "status": status, "ms": round(elapsed * 1000, 2)},
                )
            request_id_var.reset(token)
