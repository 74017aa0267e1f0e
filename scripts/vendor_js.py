"""Re-fetch the scanner's vendored browser libraries from npm (`make vendor`).

Each package is pinned by version and by its npm tarball's integrity (SHA-512), the same
pins src/ticketbook/web/static/vendor/README.md lists. `npm pack` downloads the tarball, the
integrity is checked here, and only the listed files (and the licence) are copied: the
browser builds, nothing else. A mismatch stops before anything is written.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "src" / "ticketbook" / "web" / "static" / "vendor"

# name, version, npm integrity, folder, files (paths inside the package)
PINS = [
    (
        "jsqr",
        "1.4.0",
        "sha512-dxLob7q65Xg2DvstYkRpkYtmKm2sPJ9oFhrhmudT1dZvNFFTlroai3AWSpLey/w5vMcLBXRgOJsbXpdN9HzU/A==",
        "jsqr-1.4.0",
        ["dist/jsQR.js", "LICENSE"],
    ),
    (
        "@noble/ed25519",
        "3.2.0",
        "sha512-criDgRlnUA09hchYrTy/JUWPIEap5rZxQe6wDWzRx51oWWpDRcUpuNzlgPxDJaOK6AsW9c0wKcj3rKRv6t+bPQ==",
        "noble-ed25519-3.2.0",
        ["index.js", "LICENSE"],
    ),
    (
        "@noble/hashes",
        "2.4.0",
        "sha512-X5XaVWZIBCT7HHZGm5I7ZQXDwLG+bGXuSrMQAW+7Zvl87h1kmc1ZB1VSRJcpUfoUrGQp4Fkoxm5kZ+Ms+aW+eA==",
        "noble-hashes-2.4.0",
        ["sha2.js", "_md.js", "_u64.js", "utils.js", "LICENSE"],
    ),
]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        staged: list[tuple[Path, bytes]] = []
        for name, version, integrity, folder, files in PINS:
            out = subprocess.run(
                ["npm", "pack", f"{name}@{version}", "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
            tarball = Path(tmp) / out
            digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            if f"sha512-{digest}" != integrity:
                print(f"{name}@{version}: integrity mismatch (sha512-{digest})", file=sys.stderr)
                return 1
            with tarfile.open(tarball) as archive:
                for path in files:
                    member = archive.extractfile(f"package/{path}")
                    assert member is not None, path
                    staged.append((VENDOR / folder / Path(path).name, member.read()))
        for target, content in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            print(f"wrote {target.relative_to(VENDOR.parents[4])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
