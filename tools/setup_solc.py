"""Make the project's pinned solc version available to py-solc-x (and so to ape-solidity and slither).

Order of preference, the same compiler version every time:

1. a native ``solc-v<version>`` already installed in py-solc-x's folder (``$SOLCX_BINARY_PATH`` or ``~/.solcx``);
2. a native build downloaded by py-solc-x, when the machine can reach the solc binary mirror
   (skipped with ``DEPTOKEN_SOLC=solcjs``);
3. otherwise the npm ``solc`` package of the same version (solc-js, the official compiler built to
   WebAssembly), presented to py-solc-x as ``solc-v<version>`` through ``tools/solcjs-standard-json.js``.

Prints the executable that will be used and which kind it is. Exits non-zero if none works.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRAPPER_JS = ROOT / "tools" / "solcjs-standard-json.js"


def pinned_version() -> str:
    """The solc version pinned by package.json (the npm solc-js build), e.g. ``0.8.30``."""
    return json.loads((ROOT / "package.json").read_text())["devDependencies"]["solc"]


def reported_version(executable: Path) -> str | None:
    """The ``X.Y.Z`` that ``executable --version`` reports, or None if it does not run."""
    try:
        out = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.stdout.splitlines():
        if line.startswith("Version: "):
            return line.split()[1].split("+")[0]
    return None


def is_wrapper(executable: Path) -> bool:
    return executable.is_file() and "solcjs-standard-json" in executable.read_text(errors="ignore")[:2000]


def try_native_download(version: str) -> bool:
    if os.environ.get("DEPTOKEN_SOLC") == "solcjs":
        return False
    import solcx

    socket.setdefaulttimeout(8)
    try:
        solcx.install_solc(version, show_progress=False)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not downloadable here"
        print(f"native solc {version} not downloadable ({type(exc).__name__}); using solc-js", file=sys.stderr)
        return False
    finally:
        socket.setdefaulttimeout(None)


def write_wrapper(target: Path) -> None:
    node = subprocess.run(["which", "node"], capture_output=True, text=True).stdout.strip() or "node"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f'#!/bin/sh\n# solcjs-standard-json front end (see tools/setup_solc.py)\nexec "{node}" "{WRAPPER_JS}" "$@"\n')
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def main() -> int:
    import solcx.install

    version = pinned_version()
    target = solcx.install.get_solcx_install_folder() / f"solc-v{version}"
    if target.exists() and not is_wrapper(target) and reported_version(target) == version:
        print(f"solc {version}: native {target}")
        return 0
    if is_wrapper(target) and str(WRAPPER_JS) in target.read_text() and reported_version(target) == version:
        print(f"solc {version}: solc-js {target} -> {WRAPPER_JS}")
        return 0
    if not target.exists() or is_wrapper(target):
        if target.exists():
            target.unlink()  # a wrapper of another checkout, or a broken one: try native first
        if try_native_download(version) and reported_version(target) == version:
            print(f"solc {version}: native {target} (downloaded)")
            return 0
        write_wrapper(target)
    found = reported_version(target)
    if found != version:
        print(f"error: {target} reports solc {found}, expected {version}", file=sys.stderr)
        return 1
    print(f"solc {version}: solc-js {target} -> {WRAPPER_JS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
