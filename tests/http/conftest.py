"""The http layer: the API and the pages through the ASGI app in this process.

`shared_app` is one app per module over the module's database (`shared_db`); `client` is a
fresh visitor of it (its own cookie jar) for every test. `start_app` builds an app of a
test's own, with the environment variables it names (as `ticketbook serve` reads them).
Production defaults everywhere else: payments are instant and succeed, but the per-fan cap
and the rate limits stay on unless a test lifts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.inprocess import InProcessApp, InProcessClient, app_settings

AppFactory = Callable[..., InProcessApp]


@pytest.fixture
def start_app(data_dir: Path) -> Iterator[AppFactory]:
    """Start in-process apps (``start_app(db_url, TICKETBOOK_X="...")``); stopped after."""
    apps: list[InProcessApp] = []

    def start(
        database_url: str, gateway: Any = None, run_background_jobs: bool = True, **env: str
    ) -> InProcessApp:
        app = InProcessApp(
            database_url,
            app_settings(data_dir, **env),
            gateway=gateway,
            run_background_jobs=run_background_jobs,
        ).start()
        apps.append(app)
        return app

    yield start
    for app in reversed(apps):
        app.stop()


@pytest.fixture(scope="module")
def shared_app(
    request: pytest.FixtureRequest, shared_db: str, data_dir: Path
) -> Iterator[InProcessApp]:
    """One app for a module's tests that don't need isolation from each other. A module that
    needs a setting changed for all its tests names it in ``APP_ENV = {...}``, with why."""
    env: dict[str, str] = getattr(request.module, "APP_ENV", {})
    with InProcessApp(shared_db, app_settings(data_dir, **env)) as app:
        yield app


@pytest.fixture
def client(shared_app: InProcessApp) -> Iterator[InProcessClient]:
    with shared_app.client() as c:
        yield c
