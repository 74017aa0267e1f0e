"""What building the app imports: never the test-only package unless the test routes are
enabled, and never Alembic or SQLAlchemy (seconds of CPU at every worker's start, needed
only to migrate)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from ticketbook.app import build_app
from ticketbook.settings import Settings
build_app(Settings(enable_test_routes={enabled}), database_url="unused")
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} | set(sys.modules))))
"""


def modules_loaded(enabled: bool) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(enabled=enabled)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out))


def test_a_default_app_never_imports_the_test_only_code_or_the_migration_tools() -> None:
    loaded = modules_loaded(False)
    assert "ticketbook.testing" not in loaded
    assert not loaded & {"alembic", "sqlalchemy"}, sorted(loaded & {"alembic", "sqlalchemy"})


def test_the_test_routes_bring_it_in_only_when_enabled() -> None:
    assert "ticketbook.testing" in modules_loaded(True)


def test_the_command_line_imports_no_metrics_before_serve_sets_them_up() -> None:
    # `ticketbook serve` points prometheus at a directory every worker writes to; metrics
    # created before that (by importing db/pool.py with the parser) stay in one process and
    # a single-worker server's /metrics came out empty.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ticketbook.cli.main;"
            " print('ticketbook.observability.metrics' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "False"
