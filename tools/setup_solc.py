"""Make the project's pinned solc version available to py-solc-x (and so to ape-solidity and slither).

py-solc-x runs ``$SOLCX_BINARY_PATH/solc-v<version>``; the Makefile and ``tools/env.sh`` set
``SOLCX_BINARY_PATH`` to the project's ``.solc/bin``, so nothing outside the project is touched.
This script writes that file as a small front end for one of two compilers of the same version,
preferring the first:

1. a native solc: ``.solc/native/solc-v<version>`` in the project, one that py-solc-x installed in
   ``~/.solcx`` (used, not modified), ``solc`` on PATH if it is that version, or a native build
   py-solc-x can download into the project (tried once, for 8 seconds; skipped with
   ``DEPTOKEN_SOLC=solcjs``);
2. the npm ``solc`` package of that version (solc-js: the official compiler built to WebAssembly),
   through ``tools/solcjs-standard-json.js``, which speaks native solc's command line.

The front end also adds the project root (the working directory, where ape runs) as an include
path to every standard-JSON compilation: ape-solidity compiles a copy of ``contracts/`` in a
temporary folder, and the OpenZeppelin sources are imported from the project's ``node_modules``
(see ape-config.yaml). Same sources, same settings, same bytecode with either compiler.

Prints what will be used. Exits non-zero if no compiler of the pinned version works.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLCJS_FRONT_END = ROOT / "tools" / "solcjs-standard-json.js"
NATIVE_DIR = ROOT / ".solc" / "native"
MARKER = "# deptoken solc front end"


def pinned_version() -> str:
    """The solc version pinned by package.json (the npm solc-js build), e.g. ``0.8.30``."""
    return json.loads((ROOT / "package.json").read_text())["devDependencies"]["solc"]


def reported_version(command: list[str]) -> str | None:
    """The ``X.Y.Z`` that ``command --version`` reports, or None if it does not run."""
    try:
        out = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.stdout.splitlines():
        if line.startswith("Version: "):
            return line.split()[1].split("+")[0]
    return None


def is_native(path: Path) -> bool:
    """A compiler binary, not a script (such as this front end)."""
    return path.is_file() and not path.read_bytes()[:2] == b"#!"


def find_native(version: str) -> Path | None:
    """A native solc of ``version``: the project's copy, one on PATH, or a fresh download."""
    candidates = [NATIVE_DIR / f"solc-v{version}", Path.home() / ".solcx" / f"solc-v{version}"]
    on_path = shutil.which("solc")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if is_native(candidate) and reported_version([str(candidate)]) == version:
            return candidate
    unavailable = NATIVE_DIR / ".not-downloadable"
    if os.environ.get("DEPTOKEN_SOLC") == "solcjs" or unavailable.exists():
        return None
    import solcx

    socket.setdefaulttimeout(8)
    try:
        solcx.install_solc(version, show_progress=False, solcx_binary_path=NATIVE_DIR)
    except Exception as exc:  # noqa: BLE001 - any failure means "not downloadable here"
        print(f"native solc {version} not downloadable ({type(exc).__name__}); using solc-js", file=sys.stderr)
        NATIVE_DIR.mkdir(parents=True, exist_ok=True)
        unavailable.write_text("delete this file to try downloading a native solc again\n")
        return None
    finally:
        socket.setdefaulttimeout(None)
    native = NATIVE_DIR / f"solc-v{version}"
    return native if reported_version([str(native)]) == version else None


def front_end_script(compiler: list[str], description: str) -> str:
    quoted = " ".join(f'"{part}"' for part in compiler)
    return f"""#!/bin/sh
{MARKER}, written by {ROOT}/tools/setup_solc.py: {description}.
# Standard-JSON compilations get the project root (the working directory, else {ROOT}) as an
# include path, so that imports from node_modules resolve when ape compiles a copy of contracts/.
root="$(pwd -P)"
[ -d "$root/node_modules/@openzeppelin" ] || root="{ROOT}"
case " $* " in
  *" --standard-json "*) exec {quoted} "$@" --include-path "$root" ;;
esac
exec {quoted} "$@"
"""


def main() -> int:
    import solcx.install

    version = pinned_version()
    folder = Path(os.environ.get("SOLCX_BINARY_PATH") or ROOT / ".solc" / "bin")
    if folder.resolve() == (Path.home() / ".solcx").resolve():
        print("error: SOLCX_BINARY_PATH is ~/.solcx; use the project's .solc/bin (source tools/env.sh)", file=sys.stderr)
        return 1
    os.environ["SOLCX_BINARY_PATH"] = str(folder)
    target = solcx.install.get_solcx_install_folder() / f"solc-v{version}"
    native = find_native(version)
    if native is not None:
        compiler, description = [str(native)], f"native solc {version} ({native})"
    else:
        node = shutil.which("node") or "node"
        compiler, description = [node, str(SOLCJS_FRONT_END)], f"solc-js {version} (npm solc)"

    target.parent.mkdir(parents=True, exist_ok=True)
    script = front_end_script(compiler, description)
    if not target.is_file() or target.read_text(errors="ignore") != script:
        if target.exists():
            target.unlink()
        target.write_text(script)
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    found = reported_version([str(target)])
    if found != version:
        print(f"error: {target} reports solc {found}, expected {version}", file=sys.stderr)
        return 1
    print(f"solc {version}: {description}, as {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
