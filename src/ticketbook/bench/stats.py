"""Latency and status counting for one scenario, and its one-line JSON summary."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ticketbook.bench.cpu import CpuProbe, CpuSnapshot, cpu_summary


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


@dataclass
class Recorder:
    """One scenario's measured window: from construction to ``stop()``. Given a probe, it
    reads the CPU time of the processes under test at both ends of that window.

    With ``window_s`` (how long the clients keep sending), throughput counts the answers
    that came within it: the requests still in flight at its end are waited for and
    measured, but the seconds spent draining them (a 3 s payment timeout, say) are not
    time the load was on. A window too short for any answer to come within it (a smoke
    run of a fraction of a second against 256 clients) falls back to the whole run."""

    scenario: str
    clients: int
    cpu: CpuProbe | None = None
    window_s: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    # The error code of each refusal (409, 429): which of them a 409 was.
    error_codes: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    finished: float | None = None
    cpu_started: CpuSnapshot | None = None
    cpu_finished: CpuSnapshot | None = None
    answered_in_window: int = 0

    def __post_init__(self) -> None:
        self.cpu_started = self.cpu.snapshot() if self.cpu else None
        self.started = time.perf_counter()

    def record(self, status: int | str, latency_s: float, error_code: str | None = None) -> None:
        self.latencies_ms.append(latency_s * 1000.0)
        if self.window_s is None or time.perf_counter() - self.started <= self.window_s:
            self.answered_in_window += 1
        self.statuses[str(status)] += 1
        if error_code:
            self.error_codes[error_code] += 1

    def stop(self) -> None:
        self.finished = time.perf_counter()
        self.cpu_finished = self.cpu.snapshot() if self.cpu else None

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    def summary(self, **extra: Any) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        elapsed = self.elapsed_s
        drain_s = max(0.0, elapsed - self.window_s) if self.window_s else 0.0
        if drain_s and self.window_s and self.answered_in_window:
            throughput = self.answered_in_window / self.window_s
        else:
            throughput = len(ordered) / elapsed if elapsed else 0.0
        cpu = (
            cpu_summary(self.cpu_started, self.cpu_finished, len(ordered))
            if self.cpu_started and self.cpu_finished
            else {}
        )
        return {
            "scenario": self.scenario,
            "clients": self.clients,
            "requests": len(ordered),
            "seconds": round(elapsed, 2),
            "throughput_rps": round(throughput, 1),
            "drain_s": round(drain_s, 2),
            "p50_ms": round(percentile(ordered, 0.50), 2),
            "p90_ms": round(percentile(ordered, 0.90), 2),
            "p99_ms": round(percentile(ordered, 0.99), 2),
            "statuses": dict(sorted(self.statuses.items())),
            "error_codes": dict(sorted(self.error_codes.items())),
            **cpu,
            **extra,
        }


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, label: str, total_s: float) -> None:
        self.label, self.total_s = label, total_s
        self.enabled = sys.stderr.isatty()
        self.started = time.perf_counter()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        share = min(1.0, elapsed / self.total_s) if self.total_s else 1.0
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\r{self.label:<14} [{bar:<30}] {elapsed:5.1f}s {done:>7} requests")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 80 + "\r")
            sys.stderr.flush()
