"""A real TicketBook server in a subprocess (`ticketbook serve`), for tests over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from ticketbook.settings import RATE_RULE_NAMES

# Cheaper argon2id (still argon2id): the suite registers hundreds of accounts. A matter of
# speed, not a limit: every test server gets it.
CHEAP_HASHING = {
    "TICKETBOOK_ARGON2_TIME_COST": "1",
    "TICKETBOOK_ARGON2_MEMORY_KIB": "8192",
    "TICKETBOOK_ARGON2_PARALLELISM": "1",
}

# The per-fan cap and every rate limit out of reach. Only for a server whose test needs it (a
# load from one address, one fan holding more than 10 tickets), passed where it is used: a
# bug once hid behind a test server that lifted the cap for everyone.
NO_ABUSE_LIMITS = {
    "TICKETBOOK_MAX_TICKETS_PER_CONCERT": "1000000",
    **{f"TICKETBOOK_RATE_{name.upper()}": "1000000/60" for name in RATE_RULE_NAMES},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(
        self, database_url: str, data_dir: Path, env: dict[str, str], workers: int = 2
    ) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TICKETBOOK_DATA_DIR": str(data_dir),
            "TICKETBOOK_PAYMENT_LATENCY_MS": "0",
            "TICKETBOOK_PAYMENT_LATENCY_JITTER_MS": "0",
            "TICKETBOOK_ENABLE_TEST_ROUTES": "1",
            # The production abuse limits (the per-fan cap, the rate limits) unless ``env``
            # lifts them (NO_ABUSE_LIMITS), but one: every test's fans connect from the one
            # loopback address, exactly what the limit on new guests per address stops. Its
            # own test runs at the production default (tests/http/test_identity_abuse.py).
            "TICKETBOOK_RATE_GUEST_PER_ADDRESS": "off",
            **CHEAP_HASHING,
            **env,
        }
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> LiveServer:
        command = [
            sys.executable,
            "-m",
            "ticketbook.cli.main",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # Own process group, so a test can SIGKILL the server and all its workers at once.
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/api/health-check", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.log_path.read_text()}")

    def worker_processes(self) -> list[psutil.Process]:
        """The server's live workers: not multiprocessing's tracker, not a killed worker the
        supervisor has yet to reap (a zombie)."""
        assert self.process is not None
        workers = []
        for child in psutil.Process(self.process.pid).children():
            try:
                if "spawn_main" in " ".join(child.cmdline()):
                    workers.append(child)
            except (psutil.ZombieProcess, psutil.NoSuchProcess):
                continue
        return workers

    def kill(self) -> None:
        """SIGKILL the whole server (supervisor and workers): no cleanup runs."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
