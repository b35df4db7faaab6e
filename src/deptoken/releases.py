"""The token's released versions, kept as build artefacts for the upgrade tests.

A bank upgrades a live token from the version it deployed. The upgrade tests deploy each released
version as it was built and upgrade it to the current one, so the releases' bytecode is kept in
``releases/<version>.json``: the ABI and creation bytecode of ``DepositToken`` and
``DepositTokenProxy``, built from the release commit's own sources with that commit's compiler
settings (``ape-config.yaml``: solc version, optimizer runs, EVM version) and OpenZeppelin from the
pinned npm packages (the same 5.7.0 then and now: the build checks the release commit's
package-lock.json against the current one; recorded in the artefact). The tests load the
artefacts and need no git history; rebuilding them does:

    python -m deptoken.releases --write    # from the release commits (git history)
    python -m deptoken.releases --check    # the committed artefacts are what those commits compile to

The artefact also keeps the token's sources at the release (``sources``: what ``DepositToken`` and its
proxy import from ``contracts/``), which ``deptoken.slither_check`` compares with the current token.

The bytecode is the release's source compiled again, not the bytes once deployed (ape compiled
then under other source unit names, which only the metadata hash at the end of the code records).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DepositTokenError
from .project import project_root
from .slither_check import settings_from_config
from .storage_layout import solc_standard_json

ARTEFACTS = Path("releases")
CONTRACTS = ("DepositToken", "DepositTokenProxy")


@dataclass(frozen=True)
class Release:
    version: str
    commit: str  # the last commit of contracts/ at that version
    note: str


RELEASES = (
    Release("1.0.0", "7cca4c967350a492282a964046c67ba935cd519f",
            "the token as first released: roles, minting, redemption, allowlist, freezes, legal orders, pause, UUPS"),
    Release("1.1.0", "4f42d61ab66ae4e958e9eb4af3a0c76bd804e386",
            "EIP-2612 permit and EIP-3009 authorizations; 1.0.0 upgrades with initializeAuthorizations"),
)


def _git(root: Path, *args: str) -> str:
    run = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise DepositTokenError(f"git {' '.join(args)}: {run.stderr.strip() or 'failed'} (the release commits are needed)")
    return run.stdout


def _openzeppelin(root: Path, commit: str) -> dict[str, str]:
    """The OpenZeppelin versions pinned in ``commit``'s package-lock.json; an error when they are not the
    ones pinned now (the build reads the installed packages, which ``make setup`` installs from the
    current lock, so another pin would build other code than the release's)."""
    def pins(lock: str) -> dict[str, str]:
        packages = json.loads(lock)["packages"]
        return {p: packages[f"node_modules/@openzeppelin/{p}"]["version"] for p in ("contracts", "contracts-upgradeable")}

    then = pins(_git(root, "show", f"{commit}:package-lock.json"))
    now = pins((root / "package-lock.json").read_text())
    if then != now:
        raise DepositTokenError(f"{commit[:7]} pins OpenZeppelin {then}, the project now {now}: "
                                "its release cannot be built from the installed packages")
    return then


def build(release: Release, root: Path | None = None) -> dict[str, Any]:
    """Compiles the release commit's contracts (without its test contracts) with its settings."""
    root = root or project_root()
    compiler = settings_from_config(_git(root, "show", f"{release.commit}:ape-config.yaml"), root)
    files = [f for f in _git(root, "ls-tree", "-r", "--name-only", release.commit, "contracts").split()
             if f.endswith(".sol") and not f.startswith("contracts/test/")]
    standard_json = compiler.standard_json([])
    settings = standard_json["settings"]
    standard_json["sources"] = {f: {"content": _git(root, "show", f"{release.commit}:{f}")} for f in files}
    output = solc_standard_json({**standard_json, "settings": {
        **settings, "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "metadata"]}}}},
        compiler.solc_version, root)["contracts"]
    found = {name: body for source in output.values() for name, body in source.items()}
    missing = [c for c in CONTRACTS if c not in found]
    if missing:
        raise DepositTokenError(f"release {release.version}: {', '.join(missing)} not in {release.commit[:7]}")
    # the token's own sources (what DepositToken and its proxy import, OpenZeppelin aside), for
    # slither-check-upgradeability's comparison of this release with the current token
    used = sorted({path for c in CONTRACTS for path in json.loads(found[c]["metadata"])["sources"]
                   if path.startswith("contracts/")})
    return {
        "version": release.version,
        "commit": release.commit,
        "note": release.note,
        "solc": compiler.solc_version,
        "settings": {k: v for k, v in settings.items() if k != "remappings"},
        "openzeppelin": _openzeppelin(root, release.commit),
        "contracts": {c: {"abi": found[c]["abi"], "bytecode": "0x" + found[c]["evm"]["bytecode"]["object"]}
                      for c in CONTRACTS},
        "sources": {path: standard_json["sources"][path]["content"] for path in used},
    }


def load(version: str, root: Path | None = None) -> dict[str, Any]:
    """The committed artefact of a release (``releases/<version>.json``)."""
    path = (root or project_root()) / ARTEFACTS / f"{version}.json"
    if not path.is_file():
        raise DepositTokenError(f"{path} is missing: python -m deptoken.releases --write")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args not in (["--check"], ["--write"]):
        print("usage: python -m deptoken.releases --check | --write", file=sys.stderr)
        return 2
    root = project_root()
    failed = False
    try:
        for release in RELEASES:
            built = build(release, root)
            path = root / ARTEFACTS / f"{release.version}.json"
            if args == ["--write"]:
                path.parent.mkdir(exist_ok=True)
                path.write_text(json.dumps(built, indent=1) + "\n")
                print(f"release {release.version}: {path.relative_to(root)} written from {release.commit[:7]}")
            elif load(release.version, root) != built:
                print(f"release {release.version}: {path.relative_to(root)} differs from {release.commit[:7]} compiled again")
                failed = True
            else:
                print(f"release {release.version}: {path.relative_to(root)} matches {release.commit[:7]}")
    except DepositTokenError as exc:
        print(f"releases: {exc}", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
