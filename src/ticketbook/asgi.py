"""Entry point for uvicorn workers: settings from the environment, URL resolved by the CLI."""

from __future__ import annotations

from fastapi import FastAPI

from ticketbook.app import build_app
from ticketbook.auth.secrets import check_production_key
from ticketbook.settings import Settings


def create_app() -> FastAPI:
    settings = Settings.from_env()
    # Also here, not only in `ticketbook serve`: a worker started another way (uvicorn or
    # gunicorn directly) must refuse a missing or weak production key just the same.
    check_production_key(settings)
    return build_app(settings)
