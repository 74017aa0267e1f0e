"""`ticketbook user create`: the operator's way to make accounts, and the only way to make an
organizer.

The command runs as a real subprocess (that is what is tested); what the account can then do
is checked through the app in-process, so no server process is started for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import (
    PASSWORD,
    create_user_command,
    login,
    register,
    unique_email,
)
from tests.support.inprocess import InProcessApp, InProcessClient, app_settings
from tests.support.inventory import fetch


@pytest.fixture(scope="module")
def app(shared_db: str, data_dir: Path) -> Iterator[InProcessApp]:
    with InProcessApp(shared_db, app_settings(data_dir)) as app:
        yield app


@pytest.fixture
def client(app: InProcessApp) -> Iterator[InProcessClient]:
    with app.client() as c:
        yield c


def role_of(url: str, email: str) -> str | None:
    rows = fetch(url, "SELECT role FROM users WHERE email = $1", email)
    return rows[0]["role"] if rows else None


def test_create_an_organizer_who_then_signs_in(client: httpx.Client, shared_db: str) -> None:
    email = unique_email("boss")
    made = create_user_command(shared_db, email.upper(), "--organizer", "--password-stdin")
    assert made.returncode == 0, made.stderr
    assert f"created organizer {email}" in made.stdout
    assert role_of(shared_db, email) == "organizer"
    signed_in = login(client, email)
    assert signed_in.status_code == 200
    assert signed_in.json()["role"] == "organizer"


def test_create_a_fan_and_refuse_a_duplicate(shared_db: str) -> None:
    email = unique_email()
    assert create_user_command(shared_db, email, "--password-stdin").returncode == 0
    assert role_of(shared_db, email) == "fan"
    again = create_user_command(shared_db, email, "--password-stdin")
    assert again.returncode == 1
    assert "already has an account" in again.stderr
    assert role_of(shared_db, email) == "fan"


def test_organizer_flag_promotes_an_existing_account(client: httpx.Client, shared_db: str) -> None:
    email = unique_email()
    user_id, headers = register(client, email)
    assert client.post("/api/concerts", json={}, headers=headers).status_code == 403
    made = create_user_command(
        shared_db, email, "--organizer", "--password-stdin", password="ignored here"
    )
    assert made.returncode == 0, made.stderr
    assert "organizer now" in made.stdout
    assert role_of(shared_db, email) == "organizer"
    # The role is read per request: the same token is an organizer's now, and the account's
    # id and password are unchanged.
    me = client.get("/api/auth/me", headers=headers).json()
    assert (me["userId"], me["role"]) == (user_id, "organizer")
    assert login(client, email, PASSWORD).status_code == 200


def test_bad_input_is_refused_with_the_reason(shared_db: str) -> None:
    weak = create_user_command(shared_db, unique_email(), "--password-stdin", password="short")
    assert weak.returncode == 2
    assert "at least 12" in weak.stderr
    invalid = create_user_command(shared_db, "not-an-email", "--password-stdin")
    assert invalid.returncode == 2
    assert "valid email" in invalid.stderr
    assert "Traceback" not in weak.stderr + invalid.stderr
    no_terminal = create_user_command(shared_db, unique_email())
    assert no_terminal.returncode == 2
    assert "--password-stdin" in no_terminal.stderr
