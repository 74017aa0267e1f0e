"""Entry point for uvicorn workers: settings from the environment, URL resolved by the CLI."""

from __future__ import annotations

from fastapi import FastAPI

from ticketbook.api.app import build_app
from ticketbook.config import Settings


def create_app() -> FastAPI:
    return build_app(Settings.from_env())
