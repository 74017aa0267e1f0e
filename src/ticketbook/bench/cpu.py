"""CPU time of the processes under test, read from /proc over a scenario's measured window.

A scenario's figures say how fast; these say at what cost: CPU milliseconds per request spent
by the app (the server process and its workers), by PostgreSQL (the postmaster and its
backends), and by the load generator itself, and how busy the whole machine was.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat split into fields, numbered as in proc(5) from index 1.

    The command name (field 2) is in parentheses and may hold spaces or parentheses itself,
    so the fields after it are found after its last ")".
    """
    text = (PROC / str(pid) / "stat").read_text()
    head, _, rest = text.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    return ["", pid_text, comm, *rest.split()]


def process_cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` and cutime + cstime of the children it has reaped."""
    fields = _stat_fields(pid)
    return sum(int(fields[n]) for n in (14, 15, 16, 17)) / CLOCK_TICKS


def parent_pid(pid: int) -> int:
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise ValueError(f"no PPid in /proc/{pid}/status")


def command_name(pid: int) -> str:
    return (PROC / str(pid) / "comm").read_text().strip()


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[4])
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants alive now."""
    children = _children_by_parent()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def tree_cpu_s(root: int) -> float:
    """CPU seconds of ``root`` and every descendant, including those already reaped.

    Each live process counts its own time and its reaped children's (cutime + cstime), so a
    backend or worker that exits inside the window still counts, in its parent's figure.
    """
    total = 0.0
    for pid in tree_pids(root):
        # One that exited since the scan has its time in its parent's cutime.
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += process_cpu_s(pid)
    return total


def postmaster_pid(backend_pid: int) -> int | None:
    """The postmaster of a local PostgreSQL, given one backend's ``pg_backend_pid()``; None
    when the server is not on this machine (that PID is not a postgres process here)."""
    try:
        if command_name(backend_pid) != "postgres":
            return None
        parent = parent_pid(backend_pid)
        return parent if command_name(parent) in ("postgres", "postmaster") else None
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from the first line of /proc/stat.

    Idle and iowait are not busy; guest time is already inside user, so it is not added.
    """
    line = (PROC / "stat").read_text().splitlines()[0]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in line.split()[1:9])
    total = user + nice + system + idle + iowait + irq + softirq + steal
    return total - idle - iowait, total


@dataclass(frozen=True)
class CpuSnapshot:
    app_s: float | None
    pg_s: float | None
    load_s: float
    machine_busy: int
    machine_total: int


@dataclass(frozen=True)
class CpuProbe:
    """Which process trees to measure; None for one that does not apply (no app in front of
    raw SQL) or cannot be read (PostgreSQL on another machine)."""

    app_pid: int | None
    pg_pid: int | None

    def snapshot(self) -> CpuSnapshot:
        busy, total = machine_ticks()
        return CpuSnapshot(
            app_s=None if self.app_pid is None else tree_cpu_s(self.app_pid),
            pg_s=None if self.pg_pid is None else tree_cpu_s(self.pg_pid),
            load_s=time.process_time(),
            machine_busy=busy,
            machine_total=total,
        )


def _ms_per_request(start: float | None, end: float | None, requests: int) -> float | None:
    if start is None or end is None or not requests:
        return None
    return round((end - start) * 1000.0 / requests, 3)


def cpu_summary(start: CpuSnapshot, end: CpuSnapshot, requests: int) -> dict[str, Any]:
    ticks = end.machine_total - start.machine_total
    busy = end.machine_busy - start.machine_busy
    return {
        "app_cpu_ms_per_request": _ms_per_request(start.app_s, end.app_s, requests),
        "pg_cpu_ms_per_request": _ms_per_request(start.pg_s, end.pg_s, requests),
        "loadgen_cpu_ms_per_request": _ms_per_request(start.load_s, end.load_s, requests),
        "machine_busy_share": round(busy / ticks, 3) if ticks else None,
    }
