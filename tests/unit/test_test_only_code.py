"""Production never imports the test-only package; enabling the test routes does."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from ticketbook.app import build_app
from ticketbook.settings import Settings
build_app(Settings(enable_test_routes={enabled}), database_url="unused")
print("ticketbook.testing" in sys.modules)
"""


def loads_testing_package(enabled: bool) -> bool:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(enabled=enabled)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.strip() == "True"


def test_a_default_app_never_imports_the_test_only_code() -> None:
    assert loads_testing_package(False) is False


def test_the_test_routes_bring_it_in_only_when_enabled() -> None:
    assert loads_testing_package(True) is True
