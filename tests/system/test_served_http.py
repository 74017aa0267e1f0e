"""What only a real `ticketbook serve` can show, in front of the app: uvicorn's HTTP parser
refuses NUL bytes in raw headers (from tests/http/test_hostile_input.py), and X-Forwarded-Proto
is believed only from TICKETBOOK_FORWARDED_ALLOW_IPS (from tests/http/test_security_headers.py).
"""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit

import httpx

from tests.conftest import ServerFactory
from tests.http.test_security_headers import HTTPS, PAGE_CSP, assert_secure_headers, session_cookie
from tests.support.api import guest_identity
from tests.support.inventory import make_concert, snapshot
from tests.support.server import LiveServer


def _raw_request(base_url: str, request: bytes) -> int:
    """Send bytes no HTTP client library would; return the answer's status code."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_nul_bytes_in_headers_are_refused(
    shared_server: LiveServer, shared_db: str, client: httpx.Client
) -> None:
    tier_id = make_concert(shared_db, {"GA": 100})["tiers"]["GA"]
    _, fan = guest_identity(client)
    auth = b"Authorization: " + fan["Authorization"].encode()
    body = f'{{"ticketTierId": "{tier_id}", "quantity": 1}}'.encode()
    host = urlsplit(shared_server.base_url).netloc.encode()
    before = snapshot(shared_db)
    for headers in (
        [b"Idempotency-Key: " + str(uuid.uuid4()).encode() + b"\x00", auth],
        [b"Idempotency-Key: " + str(uuid.uuid4()).encode(), auth + b"\x00"],
    ):
        request = (
            b"POST /api/bookings HTTP/1.1\r\nHost: " + host + b"\r\n"
            b"Content-Type: application/json\r\n"
            + b"".join(h + b"\r\n" for h in headers)
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        status = _raw_request(shared_server.base_url, request)
        assert 400 <= status < 500, status
    assert snapshot(shared_db) == before


def test_forwarded_proto_from_an_untrusted_address_is_ignored(
    start_server: ServerFactory, db_url: str
) -> None:
    # Only 192.0.2.1 (a documentation address) may speak for clients: 127.0.0.1 may not.
    server = start_server(db_url, workers=1, TICKETBOOK_FORWARDED_ALLOW_IPS="192.0.2.1")
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        response = c.get("/concerts", headers=HTTPS)
        assert response.status_code == 200
        assert_secure_headers(response, PAGE_CSP, hsts=False)
        assert "secure" not in session_cookie(response)
