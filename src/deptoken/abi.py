"""The contracts' ABIs for integrators, committed under ``abi/`` and checked against the sources.

    python -m deptoken.abi --write    # (re)writes abi/<Contract>.json
    python -m deptoken.abi --check    # exit 1 if a committed file differs from the compiled ABI

``abi/DepositToken.json`` is the interface of the token (call it at the proxy's address),
``abi/IERC7943Fungible.json`` the ERC-7943 fungible interface alone, ``abi/DepositTokenProxy.json``
the proxy's constructor, events and errors (for deployment and verification);
``abi/PvPSettlement.json``, ``abi/TradeEscrow.json`` and ``abi/HashedTimelock.json`` the settlement
contracts. ``contract_at`` makes an ape contract from a committed ABI, so that the command-line
tools work from any directory without the compiled project.

The ABIs come from the project's contracts as ape compiles them (``project.<Contract>``, compiled
first if the sources changed).

Files are pretty JSON (2-space indent, keys sorted), entries sorted by kind, name and input types,
ending in a newline: the same ABI always gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ABI_DIR = ROOT / "abi"

EXPORTS = ("DepositToken", "DepositTokenProxy", "IERC7943Fungible", "PvPSettlement", "TradeEscrow", "HashedTimelock")

_KIND_ORDER = {"constructor": 0, "fallback": 1, "receive": 2, "function": 3, "event": 4, "error": 5}


def _canonical_type(param: dict[str, Any]) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in param.get("components", [])) + ")" + kind[len("tuple"):]
    return kind


def signature(entry: dict[str, Any]) -> str:
    """``name(type,...)`` of an ABI entry (tuples expanded), as selectors and topics are computed."""
    return f"{entry.get('name', '')}(" + ",".join(_canonical_type(p) for p in entry.get("inputs", [])) + ")"


def normalize(abi: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ABI in a deterministic order: constructor, fallback, receive, functions, events, errors;
    each kind by name, then by input types (overloads)."""
    return sorted(abi, key=lambda e: (_KIND_ORDER.get(e["type"], 9), e.get("name", ""), signature(e)))


def render(abi: list[dict[str, Any]]) -> str:
    return json.dumps(normalize(abi), indent=2, sort_keys=True) + "\n"


def abi_of(contract_type: Any) -> list[dict[str, Any]]:
    """An ape contract type's ABI as plain JSON data."""
    return [entry.model_dump(mode="json", by_alias=True) for entry in contract_type.abi]


def compiled_abis() -> dict[str, list[dict[str, Any]]]:
    """The exported contracts' ABIs, from ape's project (compiled first when the sources changed)."""
    import logging

    from ape import project
    from ape.logging import logger

    logger.set_level(logging.WARNING)  # ape lists every input file at INFO
    return {name: abi_of(getattr(project, name).contract_type) for name in EXPORTS}


def contract_at(name: str, address: str) -> Any:
    """An ape contract instance of the exported contract ``name`` at ``address``, from ``abi/<name>.json``."""
    from ape import chain

    abi = json.loads((ABI_DIR / f"{name}.json").read_text())
    return chain.contracts.instance_at(address, abi=abi, detect_proxy=False, fetch_from_explorer=False, replace=True)


def write(abis: dict[str, list[dict[str, Any]]], directory: Path = ABI_DIR) -> list[Path]:
    """Writes each ABI; returns the files whose content changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, abi in sorted(abis.items()):
        path = directory / f"{name}.json"
        text = render(abi)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def differences(abis: dict[str, list[dict[str, Any]]], directory: Path = ABI_DIR) -> list[str]:
    """One line per exported contract whose committed file is missing or differs (in content or in
    its normal form), naming the entries added or removed."""
    problems = []
    for name, abi in sorted(abis.items()):
        path = directory / f"{name}.json"
        if not path.is_file():
            problems.append(f"{path.relative_to(directory.parent)}: missing")
            continue
        if path.read_text() == render(abi):
            continue
        committed = json.loads(path.read_text())
        have = {f"{e['type']} {signature(e)}": e for e in committed}
        want = {f"{e['type']} {signature(e)}": e for e in abi}
        added = sorted(set(want) - set(have))
        removed = sorted(set(have) - set(want))
        changed = sorted(k for k in set(want) & set(have) if want[k] != have[k])
        detail = "; ".join(
            part
            for part in (
                f"not in the file: {', '.join(added)}" if added else "",
                f"no longer in the contract: {', '.join(removed)}" if removed else "",
                f"changed: {', '.join(changed)}" if changed else "",
            )
            if part
        ) or "formatting or order differs"
        problems.append(f"{path.relative_to(directory.parent)}: {detail}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deptoken.abi", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write abi/<Contract>.json")
    mode.add_argument("--check", action="store_true", help="exit 1 if abi/ differs from the compiled contracts")
    parser.add_argument("--dir", type=Path, default=ABI_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    abis = compiled_abis()
    if args.write:
        changed = write(abis, args.dir)
        for name in sorted(abis):
            path = args.dir / f"{name}.json"
            print(f"{path}: {len(abis[name])} entries{' (updated)' if path in changed else ''}")
        return 0
    problems = differences(abis, args.dir)
    for problem in problems:
        print(f"abi check: {problem}", file=sys.stderr)
    if problems:
        print("abi check: FAIL (run `make abi` or `python -m deptoken.abi --write` and commit abi/)", file=sys.stderr)
        return 1
    print(f"abi check: PASS ({', '.join(f'{n} {len(a)} entries' for n, a in sorted(abis.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
