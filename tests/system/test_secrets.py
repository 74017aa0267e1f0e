"""The signing key and database credentials: from the environment or a file outside the repo;
in production only a strong, explicit key, refused at `ticketbook serve` and in every worker;
in development a generated key kept (mode 0600) in the data directory across restarts."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import LiveServer, free_port
from ticketbook.app import build_app
from ticketbook.asgi import create_app
from ticketbook.auth.secrets import check_production_key, is_placeholder, source_checkout
from ticketbook.auth.tokens import TokenSigner
from ticketbook.settings import ConfigError, Settings

REPO = Path(__file__).resolve().parents[2]
# Anything the test runner's own environment might set that would change the outcome.
SECRET_VARS = (
    "TICKETBOOK_ENV",
    "TICKETBOOK_SECRET_KEY",
    "TICKETBOOK_SECRET_KEY_FILE",
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "READ_DATABASE_URL",
    "READ_DATABASE_URL_FILE",
)


def good_key() -> str:
    return secrets.token_urlsafe(48)


def write_secret(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def key_in_repo() -> Iterator[Path]:
    """A strong key in a file inside the checkout (.tmp/ is git-ignored), removed afterwards."""
    directory = REPO / ".tmp"
    directory.mkdir(exist_ok=True)
    path = write_secret(directory / f"test-secret-key-{uuid.uuid4().hex}", good_key())
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


# -- parsing rules (Settings.from_env) -----------------------------------------------------


def test_key_and_database_urls_come_from_files_stripped(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = good_key()
    clean_env.setenv("TICKETBOOK_SECRET_KEY_FILE", str(write_secret(tmp_path / "key", f"{key}\n")))
    primary = "postgresql://app:pw@db.internal:5432/ticketbook"
    replica = "postgresql://app:pw@replica.internal:5432/ticketbook"
    clean_env.setenv("DATABASE_URL_FILE", str(write_secret(tmp_path / "db", f"  {primary}\n\n")))
    clean_env.setenv("READ_DATABASE_URL_FILE", str(write_secret(tmp_path / "read", replica)))
    settings = Settings.from_env()
    assert settings.secret_key == key
    assert settings.secret_key_file == tmp_path / "key"
    assert settings.database_url == primary
    assert settings.read_database_url == replica
    assert settings.environment == "development"


def test_values_straight_from_the_environment_still_work(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TICKETBOOK_SECRET_KEY", "k" * 40)
    clean_env.setenv("DATABASE_URL", "postgresql://db/x")
    settings = Settings.from_env()
    assert settings.secret_key == "k" * 40 and settings.secret_key_file is None
    assert settings.database_url == "postgresql://db/x" and settings.read_database_url is None


@pytest.mark.parametrize("name", ["TICKETBOOK_SECRET_KEY", "DATABASE_URL", "READ_DATABASE_URL"])
def test_a_value_and_its_file_together_are_an_error(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    clean_env.setenv(name, "postgresql://db/x")
    clean_env.setenv(f"{name}_FILE", str(write_secret(tmp_path / "f", "postgresql://db/y")))
    with pytest.raises(ConfigError, match=f"set {name} or {name}_FILE, not both"):
        Settings.from_env()


@pytest.mark.parametrize("name", ["TICKETBOOK_SECRET_KEY", "DATABASE_URL", "READ_DATABASE_URL"])
def test_a_missing_unreadable_or_empty_file_is_an_error(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    clean_env.setenv(f"{name}_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=f"{name}_FILE: cannot read .*missing"):
        Settings.from_env()
    clean_env.setenv(f"{name}_FILE", str(tmp_path))  # a directory
    with pytest.raises(ConfigError, match=f"{name}_FILE: cannot read"):
        Settings.from_env()
    clean_env.setenv(f"{name}_FILE", str(write_secret(tmp_path / "blank", " \n\t\n")))
    with pytest.raises(ConfigError, match=f"{name}_FILE: .*blank is empty"):
        Settings.from_env()
    if os.geteuid() != 0:  # root reads any file
        unreadable = write_secret(tmp_path / "unreadable", "x")
        unreadable.chmod(0)
        clean_env.setenv(f"{name}_FILE", str(unreadable))
        with pytest.raises(ConfigError, match="Permission denied"):
            Settings.from_env()


def test_ticketbook_env_is_development_or_production(clean_env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().environment == "development"
    clean_env.setenv("TICKETBOOK_ENV", "production")
    clean_env.setenv("TICKETBOOK_SECRET_KEY", good_key())
    assert Settings.from_env().environment == "production"
    for wrong in ("prod", "staging", "dev"):
        clean_env.setenv("TICKETBOOK_ENV", wrong)
        with pytest.raises(ConfigError, match="TICKETBOOK_ENV must be development or production"):
            Settings.from_env()


def test_forwarded_allow_ips_defaults_to_the_loopback(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.delenv("TICKETBOOK_FORWARDED_ALLOW_IPS", raising=False)
    assert Settings.from_env().forwarded_allow_ips == "127.0.0.1"
    clean_env.setenv("TICKETBOOK_FORWARDED_ALLOW_IPS", "10.0.0.1,10.0.0.2")
    assert Settings.from_env().forwarded_allow_ips == "10.0.0.1,10.0.0.2"


# -- the production rules (check_production_key) -------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "changeme",
        "CHANGEME",
        "change-me",
        "secret",
        "dev",
        "development",
        "test",
        "ticketbook",
        "default",
        "your-secret-key-here",
        "a" * 64,
        "ab" * 32,
        "changeme" * 6,
        "changeme-" + "q7Rv2LmX9TzK4wPb" * 2,
        "replace-me-with-a-real-production-secret",
    ],
)
def test_production_refuses_placeholder_keys(key: str) -> None:
    with pytest.raises(ConfigError, match="well-known placeholder"):
        check_production_key(Settings(environment="production", secret_key=key))


def test_production_refuses_a_short_key_and_accepts_a_long_random_one() -> None:
    with pytest.raises(ConfigError, match="too short for production: 31 characters"):
        check_production_key(Settings(environment="production", secret_key=good_key()[:31]))
    check_production_key(Settings(environment="production", secret_key=good_key()[:32]))
    # No false alarms on real keys.
    for _ in range(500):
        assert not is_placeholder(good_key())
        assert not is_placeholder(secrets.token_hex(16))


def test_development_takes_any_key() -> None:
    check_production_key(Settings(secret_key="changeme"))
    check_production_key(Settings(secret_key=None))


def test_production_refuses_no_key_and_the_generated_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TICKETBOOK_SECRET_KEY or TICKETBOOK_SECRET_KEY_FILE"):
        check_production_key(Settings(environment="production", data_dir=tmp_path))
    generated = write_secret(tmp_path / "secret_key", good_key())
    with pytest.raises(ConfigError, match="development key generated into the data directory"):
        check_production_key(
            Settings(
                environment="production",
                data_dir=tmp_path,
                secret_key=generated.read_text(),
                secret_key_file=generated,
            )
        )


def test_production_refuses_a_key_file_in_the_checkout_even_through_a_symlink(
    key_in_repo: Path, tmp_path: Path
) -> None:
    assert source_checkout() == REPO
    link = tmp_path / "key"
    link.symlink_to(key_in_repo)
    for path in (key_in_repo, link):
        settings = Settings(
            environment="production",
            data_dir=tmp_path / "data",
            secret_key=key_in_repo.read_text(),
            secret_key_file=path,
        )
        with pytest.raises(ConfigError, match="inside the source checkout"):
            check_production_key(settings)
    outside = write_secret(tmp_path / "outside", key_in_repo.read_text())
    check_production_key(
        Settings(
            environment="production",
            data_dir=tmp_path / "data",
            secret_key=outside.read_text(),
            secret_key_file=outside,
        )
    )


def test_the_app_factory_and_the_lifespan_refuse_too(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    clean_env.setenv("TICKETBOOK_ENV", "production")
    clean_env.setenv("TICKETBOOK_DATA_DIR", str(tmp_path))
    clean_env.setenv("DATABASE_URL", db_url)
    with pytest.raises(ConfigError, match="TICKETBOOK_SECRET_KEY"):
        create_app()
    # An app built some other way still refuses when its lifespan starts.
    app = build_app(Settings(environment="production", data_dir=tmp_path), database_url=db_url)

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(ConfigError, match="TICKETBOOK_SECRET_KEY"):
        asyncio.run(start())
    assert not (tmp_path / "secret_key").exists()


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
    production = {"TICKETBOOK_ENV": "production", "DATABASE_URL": shared_db}
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
