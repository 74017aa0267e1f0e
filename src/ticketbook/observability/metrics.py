"""Prometheus metrics. With several worker processes `ticketbook serve` points
PROMETHEUS_MULTIPROC_DIR at a fresh directory, so /metrics sums every worker."""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "ticketbook_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "ticketbook_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BOOKINGS = Counter(
    "ticketbook_bookings_total",
    "Booking requests by outcome (confirmed, payment_failed, expired, sold_out, ...)",
    ["outcome"],
)
HOLDS_CREATED = Counter("ticketbook_holds_created_total", "Tickets holds taken")
HELD_WAITS = Counter(
    "ticketbook_held_waits_total",
    "Times a booking request waited for tickets held by payments in flight",
)
HOLDS_EXPIRED = Counter(
    "ticketbook_holds_expired_total", "Holds that ran out before paying", ["by"]
)
PAYMENTS = Counter("ticketbook_payments_total", "Payment attempts by outcome", ["outcome"])
REFUNDS = Counter("ticketbook_refunds_total", "Refunds the provider made")
RATE_LIMITED = Counter(
    "ticketbook_rate_limited_total", "Requests refused with 429, by action", ["action"]
)
SIGN_INS = Counter("ticketbook_sign_ins_total", "Sign-in attempts by outcome", ["outcome"])
POOL_IN_USE = Gauge(
    "ticketbook_db_pool_in_use", "Database connections in use", multiprocess_mode="livesum"
)
POOL_WAITING = Gauge(
    "ticketbook_db_pool_waiting",
    "Requests waiting for a database connection",
    multiprocess_mode="livesum",
)
POOL_TIMEOUTS = Counter(
    "ticketbook_db_pool_timeouts_total", "Requests refused because no connection came free"
)
REAPER_RUNS = Counter("ticketbook_reaper_runs_total", "Reaper rounds", ["result"])
# Live availability (ticketbook.live): open event streams, processes whose LISTEN connection
# is up, and processes publishing (exactly one across all instances of a deployment).
LIVE_STREAMS = Gauge(
    "ticketbook_live_streams", "Open live-availability event streams", multiprocess_mode="livesum"
)
LIVE_LISTENING = Gauge(
    "ticketbook_live_listening",
    "Processes whose live-availability LISTEN connection is up",
    multiprocess_mode="livesum",
)
LIVE_PUBLISHING = Gauge(
    "ticketbook_live_publishing",
    "Processes publishing availability changes (one per deployment)",
    multiprocess_mode="livesum",
)
LIVE_CHANGES = Counter(
    "ticketbook_live_changes_published_total", "Tier counts the publisher announced"
)

_LIVE_FILE = re.compile(r"^gauge_live\w*_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def render() -> tuple[bytes, str]:
    """The exposition text for /metrics and its content type."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    # A worker killed without warning leaves its live gauges behind: drop them.
    for path in Path(directory).glob("gauge_live*.db"):
        match = _LIVE_FILE.match(path.name)
        if match and not _alive(int(match.group(1))):
            path.unlink(missing_ok=True)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry), CONTENT_TYPE_LATEST
