"""The benchmark harness itself: every scenario runs, reports its figures and a clean inventory.

Timings are not asserted (this machine is shared and noisy); the harness's honesty is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import free_port

SCENARIOS = {
    "browse",
    "hot-tier",
    "raw-sql-hot-tier",
    "hot-tier/split32",
    "raw-sql-hot-tier/split32",
    "hot-tier-realistic",
    "hot-tier-steady@256",
    "hot-tier-realistic-steady@256",
    "spread",
    "spread/no-tickets",
    "my-bookings",
    "raw-sql-spread",
    "spread@2000",
    "my-bookings@2000",
    "seated",
    "raw-sql-seated",
    "seat-states@6000",
    "checkin",
    "onsale-joins",
    "onsale-polls",
    "onsale-bookings",
}


def test_bench_runs_every_scenario_with_a_clean_inventory(admin_url: str, tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ticketbook.cli.main",
            "bench",
            "--duration",
            "0.5",
            "--rows",
            "2000",
            "--port",
            str(free_port()),
            "--output",
            str(output),
            "--quick",
        ],
        env={**os.environ, "DATABASE_URL": admin_url, "TICKETBOOK_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads(output.read_text())
    assert {r["scenario"] for r in results} == SCENARIOS
    for r in results:
        assert r["requests"] > 0 and r["throughput_rps"] > 0
        assert r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"]
        assert sum(r["statuses"].values()) == r["requests"]
        assert not set(r["statuses"]) - {"200", "402", "409"}, r["statuses"]
        # CPU per request, from /proc: PostgreSQL always, the app's processes when HTTP ran
        # (A cached answer, such as the seat states', may cost PostgreSQL next to nothing.)
        assert r["pg_cpu_ms_per_request"] >= 0, r
        if "inventory" in r:
            assert r["pg_cpu_ms_per_request"] > 0, r
        if r["scenario"].startswith("raw-sql"):
            assert r["app_cpu_ms_per_request"] is None
        else:
            assert r["app_cpu_ms_per_request"] > 0, r
        if "steady" in r["scenario"]:
            # Measured while on sale: the tier has far more tickets than a window sells.
            assert "409" not in r["statuses"], r
            # ... and it is the tier the window sold (one ticket per confirmed booking).
            assert r["steady_tier_sold"] == r["statuses"]["200"], r
        if "inventory" in r:
            assert r["inventory"]["oversold_tickets"] == 0
            assert r["inventory"]["conservation_holds"] is True
    by_name = {r["scenario"]: r for r in results}
    # Reserved seats: groups of 2 booked (the fan's seats are in the answers), and the
    # stadium's states answer is 2 bits a seat (--quick seats a tenth of its 60,000).
    assert by_name["seated"]["statuses"].get("200", 0) > 0
    assert by_name["seat-states@6000"]["body_bytes"] == 1_500
    # The door scanned each ticket once: every scan admitted, one entry each.
    door = by_name["checkin"]
    assert door["outcomes"] == {"ADMIT": door["requests"]}, door
    assert door["admitted"] == door["requests"]
    assert door["sign_us_per_ticket"] > 0 and door["code_chars"] == 154
    # The on-sale: the crowd joined, polled, was drawn, and the admitted booked.
    joins, admitted = by_name["onsale-joins"], by_name["onsale-bookings"]
    assert joins["statuses"] == {"200": joins["requests"]} and joins["queued"] == 2_000
    assert by_name["onsale-polls"]["statuses"] == {"200": by_name["onsale-polls"]["requests"]}
    assert admitted["drawn"] == 2_000 and admitted["statuses"].get("200", 0) > 0, admitted
    assert "joins/s" in result.stdout and "status polls/s" in result.stdout
    assert "scans/s" in result.stdout and "spread / spread/no-tickets" in result.stdout
    assert "x raw SQL" in result.stdout and "| scenario |" in result.stdout
    assert "app CPU ms/req" in result.stdout and "hot-tier-realistic / hot-tier" in result.stdout
    assert '{"fill":{"rows":2000' in result.stdout
    assert "hot-tier/split32 / its tier in one row" in result.stdout
    assert "hot-tier-realistic-steady@256 / hot-tier-steady@256 = " in result.stdout
