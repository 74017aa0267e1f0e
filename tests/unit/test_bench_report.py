"""The bench's summary table and its fan pool: columns, ratios, and who books next."""

from __future__ import annotations

from typing import Any

from ticketbook.bench.runner import summary_table
from ticketbook.bench.scenarios import BOOKINGS_PER_FAN, Fans, fans_needed


def _result(name: str, rps: float, p50: float = 10.0, **extra: Any) -> dict[str, Any]:
    return {
        "scenario": name,
        "clients": 64,
        "requests": 100,
        "throughput_rps": rps,
        "p50_ms": p50,
        "p90_ms": 2 * p50,
        "p99_ms": 4 * p50,
        "statuses": {"200": 90, "409": 10},
        "error_codes": {"SOLD_OUT": 10},
        "app_cpu_ms_per_request": 1.5,
        "pg_cpu_ms_per_request": 0.5,
        **extra,
    }


def test_the_table_has_cpu_columns_and_the_ratios() -> None:
    table = summary_table(
        [
            _result("hot-tier", 300.0),
            _result("raw-sql-hot-tier", 600.0, app_cpu_ms_per_request=None),
            _result("hot-tier@256", 280.0),
            _result("raw-sql-hot-tier@256", 700.0, app_cpu_ms_per_request=None),
            _result("spread@2000", 300.0, p50=20.0, rows=2000),
            _result("spread", 300.0),
            _result("hot-tier-realistic", 150.0),
        ]
    )
    header, _, hot, raw, *_ = table.splitlines()
    assert "| p99/p50 | app CPU ms/req | PG CPU ms/req |" in header
    assert "| 4.0 | 1.5 | 0.5 | 200:90 409:10 (SOLD_OUT:10) |" in hot
    assert "| 4.0 | - | 0.5 |" in raw
    assert "hot-tier: 300.0 / 600.0 req/s = 0.50 x raw SQL" in table
    assert "hot-tier@256: 280.0 / 700.0 req/s = 0.40 x raw SQL" in table
    assert "hot-tier-realistic / hot-tier = 0.50" in table
    # Only the filled database's runs compare with the small one, not the 256 clients.
    assert "spread@2000 vs small database: p50 2.00 x" in table
    assert "hot-tier@256 vs small" not in table


def test_fans_are_handed_out_once_each() -> None:
    fans = Fans([("u1", "t1"), ("u2", "t2")])
    assert fans.take() == ("u1", "t1") and fans.take() == ("u2", "t2")
    assert fans.take() is None
    assert fans.used == [("u1", "t1"), ("u2", "t2")]
    assert fans.summary() == {"fans": {"minted": 2, "used": 2}}


def test_enough_fans_for_the_window() -> None:
    # Every client starts with one, and the rest cover the booking rate's ceiling.
    assert fans_needed(64, 10.0) >= 64 + 2000 * 10 // BOOKINGS_PER_FAN
