"""In production the app factory and the app's lifespan refuse a missing signing key too,
before opening any connection and without generating one. (Moved from
tests/system/test_secrets.py; no server process involved.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.secrets import clean_env
from ticketbook.app import build_app
from ticketbook.asgi import create_app
from ticketbook.settings import ConfigError, Settings

__all__ = ["clean_env"]  # fixtures


def test_the_app_factory_and_the_lifespan_refuse_too(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    clean_env.setenv("TICKETBOOK_ENV", "production")
    clean_env.setenv("TICKETBOOK_PUBLIC_URL", "https://tickets.test")
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
