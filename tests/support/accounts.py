"""Accounts the way a client makes them: register and sign in over the API, organizers with
the operator's command."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx

PASSWORD = "a decent passphrase 42"


def unique_email(prefix: str = "fan") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def register(
    client: httpx.Client, email: str | None = None, headers: dict[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    """(user id, Authorization headers) of a new fan account."""
    response = client.post(
        "/api/auth/register",
        json={"email": email or unique_email(), "password": PASSWORD},
        headers=headers or {},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["userId"], {"Authorization": f"Bearer {body['token']}"}


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def create_user_command(
    database_url: str, email: str, *flags: str, password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    """`ticketbook user create [flags] --password-stdin EMAIL`."""
    return subprocess.run(
        [sys.executable, "-m", "ticketbook.cli.main", "user", "create", *flags, email],
        input=password + "\n",
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def organizer(client: httpx.Client, database_url: str) -> tuple[str, dict[str, str]]:
    """(user id, Authorization headers) of a new organizer, made with the CLI."""
    email = unique_email("organizer")
    made = create_user_command(database_url, email, "--organizer", "--password-stdin")
    assert made.returncode == 0, made.stderr
    response = login(client, email)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "organizer"
    return response.json()["userId"], {"Authorization": f"Bearer {response.json()['token']}"}


def new_concert_body(name: str = "Fuzzed Nights", **overrides: object) -> dict[str, object]:
    return {
        "name": name,
        "artist": "The Testers",
        "venue": "Loopback Hall",
        "date": "2031-06-01T20:00:00Z",
        "ticketTiers": [
            {"tierType": "VIP", "priceCents": 10000, "totalQuantity": 10},
            {"tierType": "GA", "priceCents": 1000, "totalQuantity": 100},
        ],
        **overrides,
    }
