"""The bench's CPU figures, read from /proc for real processes this test starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from ticketbook.bench import cpu
from ticketbook.bench.stats import Recorder

# Spins for about 0.3 s of CPU, then sleeps until killed.
BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
SLEEP = "time.sleep(60)\n"


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def _start(spawn: list[subprocess.Popen[bytes]], code: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(_python(code), stdout=subprocess.PIPE)
    spawn.append(process)
    return process


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_tree_holds_the_grandchildren_and_their_cpu(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    # The child starts a busy grandchild and prints its PID; both then stay alive.
    child = _start(
        spawn,
        "import subprocess, sys, time\n"
        f"g = subprocess.Popen([sys.executable, '-c', {BUSY + SLEEP!r}])\n"
        "print(g.pid, flush=True)\n" + BUSY + SLEEP,
    )
    assert child.stdout is not None
    grandchild = int(child.stdout.readline())
    try:
        assert set(cpu.tree_pids(child.pid)) >= {child.pid, grandchild}
        _wait_for(lambda: cpu.tree_cpu_s(child.pid) >= 0.5)
        alone = cpu.process_cpu_s(child.pid)
        assert 0.2 < alone < cpu.tree_cpu_s(child.pid)
    finally:
        os.kill(grandchild, signal.SIGKILL)


def test_a_reaped_child_counts_in_its_parent(spawn: list[subprocess.Popen[bytes]]) -> None:
    # The busy grandchild runs to its end and is waited for: only cutime still holds it.
    child = _start(
        spawn,
        "import subprocess, sys, time\n"
        f"subprocess.run([sys.executable, '-c', {BUSY!r}])\n"
        "print('reaped', flush=True)\n" + SLEEP,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"reaped"
    assert cpu.tree_pids(child.pid) == [child.pid]
    fields = cpu._stat_fields(child.pid)
    assert (int(fields[16]) + int(fields[17])) / cpu.CLOCK_TICKS >= 0.2
    assert cpu.tree_cpu_s(child.pid) >= 0.2


def test_stat_fields_survive_a_command_name_with_spaces_and_parentheses(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    child = _start(
        spawn,
        "import time\nopen('/proc/self/comm', 'w').write('x) (y z')\n"
        "print('named', flush=True)\n" + SLEEP,
    )
    assert child.stdout is not None
    child.stdout.readline()
    fields = cpu._stat_fields(child.pid)
    assert fields[1] == str(child.pid) and fields[2] == "x) (y z"
    assert int(fields[4]) == cpu.parent_pid(child.pid)
    assert cpu.command_name(child.pid) == "x) (y z"


def test_the_postmaster_is_the_postgres_parent_of_a_postgres_backend(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    # A stand-in tree named as PostgreSQL names its processes. The child says "named" once it
    # has renamed itself: until its exec it wears the parent's name, which then goes.
    name = "open('/proc/self/comm', 'w').write('postgres')\n"
    child_code = "import time\n" + name + "print('named', flush=True)\n" + SLEEP
    parent = _start(
        spawn,
        "import subprocess, sys, time\n" + name + "g = subprocess.Popen([sys.executable, '-c', "
        f"{child_code!r}])\n"
        "print(g.pid, flush=True)\n" + SLEEP,
    )
    assert parent.stdout is not None
    # Both print to the same pipe, in either order.
    lines = {parent.stdout.readline().strip() for _ in range(2)}
    [pid] = lines - {b"named"}
    backend = int(pid)
    try:
        assert cpu.command_name(backend) == "postgres"
        assert cpu.postmaster_pid(backend) == parent.pid
        # A postgres whose parent is not (this test), no postgres, no process: not local.
        assert cpu.postmaster_pid(parent.pid) is None
        assert cpu.postmaster_pid(os.getpid()) is None
        assert cpu.postmaster_pid(2**22 + 1) is None
    finally:
        os.kill(backend, signal.SIGKILL)


def test_machine_ticks_count_busy_within_total() -> None:
    busy, total = cpu.machine_ticks()
    t = time.process_time()
    while time.process_time() - t < 0.2:
        pass
    later_busy, later_total = cpu.machine_ticks()
    assert 0 <= busy <= total and later_total > total
    assert 0 < later_busy - busy <= later_total - total


def test_cpu_per_request_over_the_recorders_window(spawn: list[subprocess.Popen[bytes]]) -> None:
    child = _start(spawn, "print('go', flush=True)\n" + BUSY + SLEEP)
    assert child.stdout is not None
    child.stdout.readline()
    recorder = Recorder("busy", 1, cpu.CpuProbe(app_pid=child.pid, pg_pid=None))
    for _ in range(10):
        recorder.record(200, 0.001)
    time.sleep(0.6)  # the child's 0.3 s of CPU falls inside the window
    recorder.stop()
    summary = recorder.summary()
    assert recorder.cpu_started and recorder.cpu_finished
    start, end = recorder.cpu_started.app_s, recorder.cpu_finished.app_s
    assert start is not None and end is not None
    spent = end - start
    assert spent >= 0.2
    assert summary["app_cpu_ms_per_request"] == round(spent * 1000 / 10, 3)
    assert summary["pg_cpu_ms_per_request"] is None
    assert summary["loadgen_cpu_ms_per_request"] is not None
    assert 0 < summary["machine_busy_share"] <= 1


def test_no_requests_no_figure() -> None:
    snapshot = cpu.CpuProbe(app_pid=None, pg_pid=None).snapshot()
    summary = cpu.cpu_summary(snapshot, snapshot, 0)
    assert summary["app_cpu_ms_per_request"] is None
    assert summary["loadgen_cpu_ms_per_request"] is None


def test_throughput_counts_the_answers_within_the_window_not_the_drain() -> None:
    recorder = Recorder("steady", 2, window_s=0.2)
    for _ in range(4):
        recorder.record(200, 0.001)
    time.sleep(0.3)  # one request still in flight when the clients stopped sending
    recorder.record(200, 0.3)
    recorder.stop()
    summary = recorder.summary()
    assert summary["requests"] == 5
    assert summary["throughput_rps"] == 20.0  # 4 answers in 0.2 s, not 5 in 0.3 s
    assert summary["drain_s"] >= 0.1


def test_a_run_that_ends_before_its_window_is_measured_over_its_own_time() -> None:
    recorder = Recorder("sell-out", 1, window_s=10.0)
    recorder.record(200, 0.001)
    time.sleep(0.05)
    recorder.stop()
    summary = recorder.summary()
    assert summary["drain_s"] == 0.0
    assert summary["throughput_rps"] == round(1 / recorder.elapsed_s, 1)
