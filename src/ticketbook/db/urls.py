"""Database URLs: one user-facing form, two driver spellings (asyncpg and SQLAlchemy)."""

from __future__ import annotations

from ticketbook.settings import Settings

_PREFIXES = ("postgresql+asyncpg://", "postgresql://", "postgres://")


def asyncpg_dsn(url: str) -> str:
    for prefix in _PREFIXES:
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def sqlalchemy_url(url: str) -> str:
    return "postgresql+asyncpg://" + asyncpg_dsn(url)[len("postgresql://") :]


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when given, else the embedded server's URL (starting it if needed)."""
    if settings.database_url:
        return asyncpg_dsn(settings.database_url)
    from ticketbook.db.embedded import start_embedded

    return start_embedded(settings.pgdata_dir)
