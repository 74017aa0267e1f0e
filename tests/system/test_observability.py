"""Operators' view: Prometheus metrics summed over workers, request ids, JSON logs."""

from __future__ import annotations

import json
import re
import uuid

import httpx

from tests.conftest import ServerFactory
from tests.support.api import book, guest_identity
from tests.support.inventory import make_concert


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus exposition text (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        found_name, _, found_labels = sample.partition("{")
        found = ",".join(sorted(found_labels.rstrip("}").split(","))) if found_labels else ""
        if found_name == name and found == wanted:
            return float(value)
    return 0.0


def test_metrics_count_every_worker(db_url: str, start_server: ServerFactory) -> None:
    concert = make_concert(db_url, {"GA": 50})
    server = start_server(
        db_url,
        workers=2,
        TICKETBOOK_PAYMENT_SUCCESS_RATE="0.5",
        TICKETBOOK_PAYMENT_TIMEOUT_SHARE="0",
        TICKETBOOK_PAYMENT_ERROR_SHARE="0",
        # One fan books twelve tickets here; the cap (10 by default) is not the subject.
        TICKETBOOK_MAX_TICKETS_PER_CONCERT="12",
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        _, auth = guest_identity(client)
    statuses = []
    # The kernel spreads new connections over both workers; /metrics, answered by one of
    # them, must still count all twelve.
    for _ in range(12):
        # A new connection each time, so both workers answer some of them.
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            statuses.append(book(client, auth, concert["tiers"]["GA"], 1).status_code)
            client.get(f"/api/concerts/{concert['id']}")
    text = httpx.get(f"{server.base_url}/metrics").text

    route = "/api/concerts/{concert_id}"
    assert (
        metric(text, "ticketbook_http_requests_total", method="GET", route=route, status="200")
        == 12
    )
    assert metric(
        text, "ticketbook_http_requests_total", method="POST", route="/api/bookings", status="200"
    ) == statuses.count(200)
    assert (
        metric(text, "ticketbook_http_request_duration_seconds_count", method="GET", route=route)
        == 12
    )
    assert metric(text, "ticketbook_bookings_total", outcome="confirmed") == statuses.count(200)
    assert metric(text, "ticketbook_bookings_total", outcome="declined") == statuses.count(402)
    assert metric(text, "ticketbook_holds_created_total") == 12
    assert metric(text, "ticketbook_payments_total", outcome="succeeded") == statuses.count(200)
    assert metric(text, "ticketbook_payments_total", outcome="declined") == statuses.count(402)
    assert "ticketbook_db_pool_in_use" in text and "ticketbook_db_pool_waiting" in text
    assert metric(text, "ticketbook_reaper_runs_total", result="ok") >= 1


def test_request_ids_are_returned_and_logged(db_url: str, start_server: ServerFactory) -> None:
    server = start_server(db_url, workers=1, TICKETBOOK_ACCESS_LOG="1")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        generated = client.get("/api/concerts").headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
        mine = f"trace-{uuid.uuid4().hex[:8]}"
        echoed = client.get("/api/concerts/nope", headers={"X-Request-ID": mine})
        assert echoed.status_code == 404 and echoed.headers["x-request-id"] == mine
        hostile = client.get("/api/concerts", headers={"X-Request-ID": "a b\tc" * 30})
        assert hostile.headers["x-request-id"] != "a b\tc" * 30
    server.stop()
    entries = [
        json.loads(line)
        for line in server.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    access = {e.get("request_id"): e for e in entries if e["logger"] == "ticketbook.access"}
    assert access[generated]["status"] == 200 and access[generated]["route"] == "/api/concerts"
    assert access[mine]["status"] == 404
    assert all({"ts", "level", "logger", "message", "pid"} <= e.keys() for e in entries)


# Readiness against the schema revision needs no server process: tests/http/test_readiness.py.
