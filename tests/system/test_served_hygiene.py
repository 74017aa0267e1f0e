"""What only a real `ticketbook serve` shows about HTTP hygiene (issue 11, point 7), over raw
sockets: a request head past TICKETBOOK_MAX_HEADER_BYTES gets 431 having been read no further,
and a 60 MB one no longer stalls the worker's other requests; slow and idle connections are
closed after the header, body and keep-alive timeouts; HEAD and unparseable bodies answer over
the wire as they do in-process (tests/http/test_http_hygiene.py).

The server runs with the production header limit and short timeouts (a test waits for them);
the figures behind the defaults and the stall bound are in docs/operations.md.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.inventory import make_concert
from tests.support.server import LiveServer
from ticketbook.settings import Settings

MAX_HEADER_BYTES = Settings().max_header_bytes  # the production default: not overridden here
TIMEOUT_S = 1.0  # header, body and keep-alive timeouts of this module's server
SLACK_S = 3.0  # how much later than a timeout a close may come on a busy machine
# A 60 MB header stalled every other request of the worker for 3.4-8.7 s before the limit;
# with it, the slowest concurrent request took 11-16 ms (docs/operations.md). A bound well
# between the two, for a shared 2-core machine.
STALL_BOUND_S = 1.0

SERVER_ENV = {
    "TICKETBOOK_HEADER_TIMEOUT_S": str(TIMEOUT_S),
    "TICKETBOOK_BODY_TIMEOUT_S": str(TIMEOUT_S),
    "TICKETBOOK_KEEP_ALIVE_TIMEOUT_S": str(int(TIMEOUT_S)),
}


@pytest.fixture(scope="module")
def server(shared_db: str, data_dir: Path) -> Iterator[LiveServer]:
    live = LiveServer(shared_db, data_dir, SERVER_ENV, workers=1).start()
    try:
        yield live
    finally:
        live.stop()


def connect(server: LiveServer, timeout_s: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout_s)


def read_answer(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One answer off the socket: status, headers (lower case), body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split(" ")[1]), headers, body


def read_answer_head_only(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """A HEAD answer: status and headers only (its Content-Length is the GET's)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(1)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += chunk
    lines = data.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
    return int(lines[0].split(" ")[1]), headers, b""


def closed_within(conn: socket.socket, seconds: float) -> float:
    """Seconds until the server closes ``conn`` (whatever it answered first); fails after."""
    start = time.monotonic()
    conn.settimeout(seconds)
    try:
        while conn.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the connection was still open after {seconds:g} s")
    return time.monotonic() - start


def get(path: str, extra: bytes = b"", keep_alive: bool = False) -> bytes:
    connection = b"" if keep_alive else b"Connection: close\r\n"
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + connection + extra + b"\r\n"


# --- header size -------------------------------------------------------------------------------


def test_a_head_just_inside_the_limit_is_served_one_byte_more_is_431(server: LiveServer) -> None:
    base = get("/api/health-check", b"X-Pad: \r\n")
    pad = MAX_HEADER_BYTES - len(base)
    fits = get("/api/health-check", b"X-Pad: " + b"p" * pad + b"\r\n")
    assert len(fits) == MAX_HEADER_BYTES
    with connect(server) as conn:
        conn.sendall(fits)
        assert read_answer(conn)[0] == 200
    with connect(server) as conn:
        conn.sendall(get("/api/health-check", b"X-Pad: " + b"p" * (pad + 1) + b"\r\n"))
        status, headers, body = read_answer(conn)
    assert status == 431
    assert headers["connection"] == "close"
    assert json.loads(body)["error"] == "HEADERS_TOO_LARGE"
    print(f"\nhead of {MAX_HEADER_BYTES} bytes: 200; {MAX_HEADER_BYTES + 1} bytes: 431")


def test_a_60_mb_header_is_431_and_read_no_further(server: LiveServer) -> None:
    start = time.monotonic()
    with connect(server, timeout_s=30) as conn:
        sent = 0
        payload = memoryview(get("/", b"X-Big: " + b"a" * 60_000_000 + b"\r\n"))
        try:
            while sent < len(payload):
                sent += conn.send(payload[sent : sent + (1 << 20)])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: that is the point
        status, _, body = read_answer(conn)
    elapsed = time.monotonic() - start
    assert status == 431 and json.loads(body)["error"] == "HEADERS_TOO_LARGE"
    assert sent < 60_000_000
    print(f"\n60 MB header: 431 after {elapsed:.2f} s, {sent / 1e6:.1f} MB sent before the close")


ATTACK = """
import socket, sys
payload = b"GET / HTTP/1.1\\r\\nHost: t\\r\\nX-Big: " + b"a" * 60_000_000 + b"\\r\\n\\r\\n"
for _ in range(int(sys.argv[2])):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
    try:
        s.sendall(payload)
    except OSError:
        pass
    s.close()
"""


def test_60_mb_headers_do_not_stall_a_concurrent_request(server: LiveServer) -> None:
    # The attacker is another process, so that it competes for the server, not for our GIL.
    attacker = subprocess.Popen([sys.executable, "-c", ATTACK, str(server.port), "10"])
    latencies = []
    try:
        while attacker.poll() is None or not latencies:
            start = time.monotonic()
            with connect(server) as conn:
                conn.sendall(get("/api/health-check"))
                assert read_answer(conn)[0] == 200
            latencies.append(time.monotonic() - start)
    finally:
        attacker.wait(60)
    print(
        f"\n{len(latencies)} requests during ten 60 MB headers: slowest "
        f"{max(latencies) * 1000:.0f} ms (bound {STALL_BOUND_S * 1000:.0f} ms)"
    )
    assert max(latencies) < STALL_BOUND_S


# --- timeouts ----------------------------------------------------------------------------------


def test_an_idle_new_connection_is_closed_after_the_header_timeout(server: LiveServer) -> None:
    with connect(server) as conn:
        took = closed_within(conn, TIMEOUT_S + SLACK_S)
    print(f"\nidle new connection closed after {took:.2f} s (header timeout {TIMEOUT_S:g} s)")
    assert took >= TIMEOUT_S * 0.9


def test_a_trickled_head_gets_408_at_the_header_timeout(server: LiveServer) -> None:
    start = time.monotonic()
    with connect(server) as conn:
        conn.sendall(b"GET /api/health-check HTTP/1.1\r\nHost: t\r\n")
        status = None
        # One header line every 0.2 s, forever: the sleep is the slowness under test.
        while time.monotonic() - start < TIMEOUT_S + SLACK_S:
            try:
                conn.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            conn.settimeout(0.2)
            try:
                status, _, body = read_answer(conn)
                break
            except TimeoutError:
                continue
        took = time.monotonic() - start
    assert status == 408, status
    assert json.loads(body)["error"] == "REQUEST_TIMEOUT"
    print(f"\ntrickled head: 408 after {took:.2f} s (header timeout {TIMEOUT_S:g} s)")
    assert TIMEOUT_S * 0.9 <= took < TIMEOUT_S + SLACK_S


def test_a_body_that_stops_arriving_gets_408_at_the_body_timeout(server: LiveServer) -> None:
    start = time.monotonic()
    with connect(server) as conn:
        conn.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"email": '
        )
        conn.settimeout(TIMEOUT_S + SLACK_S)
        status, _, body = read_answer(conn)
        took = time.monotonic() - start
        closed_within(conn, SLACK_S)
    assert status == 408 and json.loads(body)["error"] == "REQUEST_TIMEOUT"
    print(f"\nstalled body: 408 after {took:.2f} s (body timeout {TIMEOUT_S:g} s)")
    assert TIMEOUT_S * 0.9 <= took < TIMEOUT_S + SLACK_S
    log = server.log_path.read_text()
    assert "Exception in ASGI application" not in log and "unhandled error" not in log


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    server: LiveServer,
) -> None:
    with connect(server) as conn:
        for _ in range(2):  # kept alive between requests
            conn.sendall(get("/api/health-check", keep_alive=True))
            assert read_answer(conn)[0] == 200
        took = closed_within(conn, TIMEOUT_S + SLACK_S)
    print(f"\nidle kept-alive connection closed after {took:.2f} s")
    assert took >= TIMEOUT_S * 0.9


def test_a_live_stream_outlives_every_timeout(server: LiveServer, shared_db: str) -> None:
    concert_id = make_concert(shared_db, {"GA": 10})["id"]
    with connect(server) as conn:
        conn.sendall(get(f"/api/concerts/{concert_id}/events", keep_alive=True))
        conn.settimeout(TIMEOUT_S)
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head
        # Longer than all three timeouts: the stream is a response, which none of them bounds.
        deadline = time.monotonic() + 3 * TIMEOUT_S + 1
        conn.settimeout(0.5)
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                assert conn.recv(65536) != b"", "the server closed the live stream"


# --- HEAD and bodies over the wire -------------------------------------------------------------


def test_head_answers_without_a_body_and_keeps_the_connection(
    server: LiveServer, shared_db: str
) -> None:
    concert_id = make_concert(shared_db, {"GA": 10})["id"]
    with connect(server) as conn:
        for path in ("/api/concerts", f"/api/concerts/{concert_id}/events", "/concerts"):
            conn.sendall(get(path, keep_alive=True).replace(b"GET", b"HEAD", 1))
            conn.settimeout(5)
            status, _, _ = read_answer_head_only(conn)
            assert status == 200, (path, status)
        conn.sendall(get("/api/health-check"))
        assert read_answer(conn)[0] == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "\xff\xfe@example.com", "password": "x"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"email": ' + b"9" * 5001 + b', "password": "x"}',
    ],
    ids=["invalid-utf8", "5000-deep", "10**5000"],
)
def test_unparseable_bodies_are_400_validation_error(server: LiveServer, body: bytes) -> None:
    with connect(server) as conn:
        conn.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        status, _, answer = read_answer(conn)
    assert status == 400
    assert json.loads(answer)["error"] == "VALIDATION_ERROR"
