"""The signing key and database credentials with real processes: `ticketbook serve` and a
bare uvicorn worker refuse a bad production key; production serves with a key and a database
URL from files outside the repo; development generates a private key (mode 0600) once and
keeps it across restarts. (The rules themselves: tests/unit/test_secrets.py.)"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.secrets import REPO, SECRET_VARS, clean_env, good_key, key_in_repo, write_secret
from tests.support.server import LiveServer, free_port
from ticketbook.auth.secrets import is_placeholder
from ticketbook.auth.tokens import TokenSigner

__all__ = ["clean_env", "key_in_repo"]  # fixtures


# -- real processes ------------------------------------------------------------------------


def child_env(data_dir: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    return {**base, "TICKETBOOK_DATA_DIR": str(data_dir), **env}


def run_refused(
    commands: list[tuple[list[str], dict[str, str]]],
) -> list[subprocess.CompletedProcess[str]]:
    """Run commands that should refuse to start, all at once (each pays ~2 s of imports);
    kill any that serves instead, with its workers."""
    processes = [
        subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for command, env in commands
    ]
    results = []
    for (command, _), process in zip(commands, processes, strict=True):
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            for other in processes:
                if other.poll() is None:
                    os.killpg(other.pid, signal.SIGKILL)
                    other.communicate()
            pytest.fail(f"{command} did not refuse to start")
        results.append(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    return results


def live_server(db_url: str, data_dir: Path, workers: int = 2, **env: str) -> LiveServer:
    """A LiveServer whose environment has none of SECRET_VARS but those given."""
    server = LiveServer(db_url, data_dir, env, workers=workers)
    for name in SECRET_VARS:
        if name not in env:
            server.env.pop(name, None)
    return server


def test_serve_and_a_bare_uvicorn_worker_refuse_a_bad_production_key(
    shared_db: str, tmp_path: Path, key_in_repo: Path
) -> None:
    cases = {
        "needs the signing key given explicitly: set TICKETBOOK_SECRET_KEY": {},
        "TICKETBOOK_SECRET_KEY is a well-known placeholder": {"TICKETBOOK_SECRET_KEY": "changeme"},
        "TICKETBOOK_SECRET_KEY is too short for production: 20 characters": {
            "TICKETBOOK_SECRET_KEY": good_key()[:20]
        },
        "TICKETBOOK_SECRET_KEY_FILE .* lies inside the source checkout": {
            "TICKETBOOK_SECRET_KEY_FILE": str(key_in_repo)
        },
        "set TICKETBOOK_SECRET_KEY or TICKETBOOK_SECRET_KEY_FILE, not both": {
            "TICKETBOOK_SECRET_KEY": good_key(),
            "TICKETBOOK_SECRET_KEY_FILE": str(write_secret(tmp_path / "key", good_key())),
        },
    }
    data_dir = tmp_path / "data"
    production = {
        "TICKETBOOK_ENV": "production",
        "TICKETBOOK_PUBLIC_URL": "https://tickets.test",
        "DATABASE_URL": shared_db,
    }
    serve = [sys.executable, "-m", "ticketbook.cli.main", "serve", "--port"]
    # A worker started some other way than `ticketbook serve` (here uvicorn's own CLI).
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "ticketbook.asgi:create_app"]
    commands = [
        ([*serve, str(free_port())], child_env(data_dir, **production, **env))
        for env in cases.values()
    ]
    commands.append(([*uvicorn, "--port", str(free_port())], child_env(data_dir, **production)))
    *refused, bare_worker = run_refused(commands)

    for expected, result in zip(cases, refused, strict=True):
        assert result.returncode == 2, (expected, result.stderr)
        assert result.stderr.startswith("ticketbook: "), result.stderr
        assert re.search(expected, result.stderr), (expected, result.stderr)
        assert "Traceback" not in result.stderr
    assert bare_worker.returncode != 0
    assert "TICKETBOOK_SECRET_KEY or TICKETBOOK_SECRET_KEY_FILE" in bare_worker.stderr
    assert not (data_dir / "secret_key").exists()


def test_production_serves_with_a_key_and_database_url_from_files_outside_the_repo(
    db_url: str, tmp_path: Path
) -> None:
    key = good_key()
    key_file = write_secret(tmp_path / "signing-key", f"{key}\n")
    db_file = write_secret(tmp_path / "database-url", f"{db_url}\n")
    assert not key_file.resolve().is_relative_to(REPO)
    data_dir = tmp_path / "data"
    # Only the files: no DATABASE_URL and no TICKETBOOK_SECRET_KEY in the environment.
    server = live_server(
        db_url,
        data_dir,
        TICKETBOOK_ENV="production",
        TICKETBOOK_PUBLIC_URL="https://tickets.test",
        TICKETBOOK_SECRET_KEY_FILE=str(key_file),
        DATABASE_URL_FILE=str(db_file),
    )
    assert "DATABASE_URL" not in server.env and "TICKETBOOK_SECRET_KEY" not in server.env
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            health = c.get("/api/health-check")
            assert health.status_code == 200, health.text
            guest = c.post("/api/auth/guest")
            assert guest.status_code == 200, guest.text
            body = guest.json()
            # Signed with the key from the file, by whichever worker answered.
            assert TokenSigner(key).verify(body["token"]) == uuid.UUID(body["userId"])
            mine = c.get(
                f"/api/bookings/{body['userId']}",
                headers={"Authorization": f"Bearer {body['token']}"},
            )
            assert mine.status_code == 200, mine.text
    finally:
        server.stop()
    assert not (data_dir / "secret_key").exists()


def test_development_generates_a_private_key_once_and_keeps_it(db_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    def start(workers: int) -> LiveServer:
        return live_server(db_url, data_dir, workers, DATABASE_URL=db_url).start()

    # Two workers race to create the key: both must end up with the same one.
    server = start(workers=2)
    try:
        key_file = data_dir / "secret_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text()
        assert len(key) >= 32 and not is_placeholder(key)
        # A new connection each, so both workers get to sign some: all with the file's key.
        guests = [httpx.post(f"{server.base_url}/api/auth/guest").json() for _ in range(8)]
        for one in guests:
            assert TokenSigner(key).verify(one["token"]) == uuid.UUID(one["userId"])
        guest = guests[0]
        auth = {"Authorization": f"Bearer {guest['token']}"}
    finally:
        server.stop()

    again = start(workers=1)
    try:
        assert key_file.read_text() == key
        with httpx.Client(base_url=again.base_url, timeout=30) as c:
            mine = c.get(f"/api/bookings/{guest['userId']}", headers=auth)
            assert mine.status_code == 200, mine.text
            # The same user signed with another key: refused, so the key really is checked.
            forged = TokenSigner(good_key()).issue(uuid.UUID(guest["userId"]))
            answer = c.get(
                f"/api/bookings/{guest['userId']}", headers={"Authorization": f"Bearer {forged}"}
            )
            assert answer.status_code == 401
    finally:
        again.stop()
    assert sorted(p.name for p in data_dir.iterdir() if "secret_key" in p.name) == ["secret_key"]
