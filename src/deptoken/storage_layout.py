"""The upgradeable token's storage layout: a committed snapshot that no upgrade may break.

The token (``DepositToken`` behind its proxy, and ``DepositTokenAdmin``, its admin module, which runs in
the same storage) keeps its state in ERC-7201 namespaces: one struct per extension, at a slot derived
from the namespace's name (``@custom:storage-location erc7201:<namespace>``), OpenZeppelin's included.
The compiler reports no layout for such structs, so for each one a probe contract holding it as its
only state variable is compiled, and the compiler's ``storageLayout`` of the probe gives the slot,
offset and type of every member, nested structs, mapping values and array elements included.

:func:`current` compiles that layout (with the project's solc and remappings, as ``ape compile``);
:func:`problems` compares it with the committed snapshot (``storage-layout.json``): an existing member
moved (slot or offset), retyped or removed, a namespace gone or at another slot, an ERC-7201 slot
constant that is not the hash of its namespace, or a plain (non-namespaced) state variable. New
namespaces and members added after the existing ones are allowed, and reported.

    python -m deptoken.storage_layout --check     # the test suite runs this check
    python -m deptoken.storage_layout --write     # after a reviewed, compatible change
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from .errors import DepositTokenError
from .project import project_root
from .slither_check import ape_settings, solc_executable

# The contracts whose code runs in the token proxy's storage: "source:contract".
UPGRADEABLE = ("contracts/token/DepositToken.sol:DepositToken", "contracts/token/DepositTokenAdmin.sol:DepositTokenAdmin")
SNAPSHOT = Path("storage-layout.json")
_NAMESPACE = re.compile(r"@custom:storage-location\s+erc7201:(\S+)")


def erc7201_slot(namespace: str) -> int:
    """ERC-7201's slot of ``namespace``: keccak256(abi.encode(uint256(keccak256(namespace)) - 1)) & ~0xff."""
    inner = int.from_bytes(keccak(text=namespace), "big") - 1
    return int.from_bytes(keccak(abi_encode(["uint256"], [inner])), "big") & ~0xFF


@dataclass(frozen=True)
class Namespace:
    """A namespaced storage struct: where it is defined and the slot constants of its contract."""

    namespace: str
    source: str
    contract: str
    struct: str
    constants: dict[str, int]  # the contract's bytes32 constants: name -> value


def solc_standard_json(standard_json: dict[str, Any], version: str, root: Path) -> dict[str, Any]:
    """Runs the project's solc ``version`` on a standard-JSON input in ``root``; raises on an error."""
    solc = solc_executable(version, root)
    run = subprocess.run([str(solc), "--standard-json", "--allow-paths", str(root)], input=json.dumps(standard_json),
                         capture_output=True, text=True, cwd=root, timeout=600)
    try:
        output = json.loads(run.stdout)
    except ValueError:
        raise DepositTokenError(f"solc: no JSON output: {(run.stderr or run.stdout).strip()[:300]}") from None
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise DepositTokenError(f"solc: {errors[0].get('formattedMessage', errors[0].get('message', '')).strip()}")
    return output


def _input(sources: dict[str, dict[str, str]], selection: list[str], root: Path) -> dict[str, Any]:
    data = ape_settings(root).standard_json([])
    data["sources"] = sources
    data["settings"].pop("optimizer", None)  # layouts do not depend on it; nothing is generated
    data["settings"]["outputSelection"] = {"*": {"": [s for s in selection if s == "ast"],
                                                  "*": [s for s in selection if s != "ast"]}}
    return data


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def namespaces(ast_output: dict[str, Any]) -> list[Namespace]:
    """Every ERC-7201 namespaced struct in the compiled sources, with its contract's bytes32 constants."""
    found = []
    for source, unit in sorted(ast_output["sources"].items()):
        for contract in (n for n in _walk(unit["ast"]) if n.get("nodeType") == "ContractDefinition"):
            constants = {}
            for var in contract.get("nodes", []):
                value = var.get("value") or {}
                if (var.get("nodeType") == "VariableDeclaration" and var.get("constant")
                        and var.get("typeDescriptions", {}).get("typeString") == "bytes32"
                        and value.get("nodeType") == "Literal" and value.get("kind") == "number"):
                    constants[var["name"]] = int(value["value"], 16)
            for struct in contract.get("nodes", []):
                doc = (struct.get("documentation") or {}).get("text", "") if struct.get("nodeType") == "StructDefinition" else ""
                if match := _NAMESPACE.search(doc):
                    found.append(Namespace(match.group(1), source, contract["name"], struct["name"], constants))
    return found


def _type_label(t: dict[str, Any]) -> str:
    return re.sub(r"\)\d+", ")", t["label"])  # without the AST ids of struct and contract types


def _flatten(types: dict[str, Any], type_id: str, slot: int, offset: int, path: str, out: dict[str, list]) -> None:
    """Every member of ``type_id`` at ``slot``: path -> [slot, offset, type]; a mapping's value and an
    array's element at slot 0 relative to their own (``path[value]``, ``path[]``)."""
    t = types[type_id]
    out[path] = [slot, offset, _type_label(t)]
    if t["encoding"] == "inplace" and "members" in t:
        for m in t["members"]:
            _flatten(types, m["type"], slot + int(m["slot"]), int(m["offset"]), f"{path}.{m['label']}", out)
    elif t["encoding"] == "mapping":
        _flatten(types, t["value"], 0, 0, f"{path}[value]", out)
    elif t["encoding"] == "dynamic_array":
        _flatten(types, t["base"], 0, 0, f"{path}[]", out)
    elif t["encoding"] == "inplace" and "base" in t:  # a fixed-size array: its first element
        _flatten(types, t["base"], slot, 0, f"{path}[0]", out)


def current(root: Path | None = None) -> dict[str, Any]:
    """The layout of the upgradeable contracts now: their plain state variables, and every namespace
    with its slot and the flattened layout of its struct. Raises if an ERC-7201 constant is wrong."""
    root = root or project_root()
    files = sorted({c.split(":")[0] for c in UPGRADEABLE})
    version = ape_settings(root).solc_version
    ast = solc_standard_json(_input({f: {"urls": [f]} for f in files}, ["ast"], root), version, root)
    found = namespaces(ast)
    if not found:
        raise DepositTokenError("no ERC-7201 namespace found in the upgradeable contracts: nothing to check")
    probes = {f"probe/Probe{i}.sol": {"content": (
        "// SPDX-License-Identifier: UNLICENSED\npragma solidity >=0.8.20;\n"
        f'import {{{n.contract}}} from "{n.source}";\ncontract Probe{i} {{ {n.contract}.{n.struct} internal s; }}\n')}
        for i, n in enumerate(found)}
    layouts = solc_standard_json(_input({**probes, **{f: {"urls": [f]} for f in files}}, ["storageLayout"], root),
                                 version, root)["contracts"]
    result: dict[str, Any] = {"contracts": [c.split(":")[1] for c in UPGRADEABLE], "plain_storage": {}, "namespaces": {}}
    for c in UPGRADEABLE:
        source, name = c.split(":")
        result["plain_storage"][name] = [v["label"] for v in layouts[source][name]["storageLayout"]["storage"]]
    for i, n in enumerate(found):
        layout = layouts[f"probe/Probe{i}.sol"][f"Probe{i}"]["storageLayout"]
        [var] = layout["storage"]
        members: dict[str, list] = {}
        _flatten(layout["types"], var["type"], 0, 0, "", members)
        members.pop("")
        result["namespaces"][n.namespace] = {"struct": f"{n.contract}.{n.struct}", "slot": hex(erc7201_slot(n.namespace)),
                                             "layout": members}
    result["constants"] = constant_problems(found)
    return result


def constant_problems(found: list[Namespace]) -> list[str]:
    """Each namespace's contract must hold a bytes32 constant equal to its ERC-7201 slot."""
    return [f"{n.contract} ({n.source}): no bytes32 constant equals the ERC-7201 slot of {n.namespace} "
            f"({hex(erc7201_slot(n.namespace))}); its constants: "
            + (", ".join(f"{k} = {hex(v)}" for k, v in n.constants.items()) or "none")
            for n in found if erc7201_slot(n.namespace) not in n.constants.values()]


def problems(now: dict[str, Any], snapshot: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(what breaks an upgrade from the snapshot's layout, what was added) between two layouts."""
    broken = list(now.get("constants", []))
    added = []
    for contract, variables in now["plain_storage"].items():
        if variables:
            broken.append(f"{contract} has plain state variables outside any namespace: {', '.join(variables)}")
    for ns, old in snapshot["namespaces"].items():
        new = now["namespaces"].get(ns)
        if new is None:
            broken.append(f"namespace {ns} ({old['struct']}) is gone")
            continue
        if new["slot"] != old["slot"]:
            broken.append(f"namespace {ns} moved from slot {old['slot']} to {new['slot']}")
        for path, (slot, offset, type_) in old["layout"].items():
            got = new["layout"].get(path)
            if got is None:
                broken.append(f"{ns}: {old['struct']}{path} ({type_}) was removed or renamed")
            elif got != [slot, offset, type_]:
                broken.append(f"{ns}: {old['struct']}{path} moved or retyped: slot {slot} offset {offset} {type_} -> "
                              f"slot {got[0]} offset {got[1]} {got[2]}")
        added += [f"{ns}: {new['struct']}{path} (slot {v[0]}, offset {v[1]}, {v[2]})"
                  for path, v in new["layout"].items() if path not in old["layout"]]
    added += [f"namespace {ns} ({v['struct']})" for ns, v in now["namespaces"].items() if ns not in snapshot["namespaces"]]
    return broken, added


def snapshot_json(layout: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in layout.items() if k != "constants"}, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args not in (["--check"], ["--write"]):
        print("usage: python -m deptoken.storage_layout --check | --write", file=sys.stderr)
        return 2
    root = project_root()
    path = root / SNAPSHOT
    try:
        now = current(root)
        if args == ["--write"]:
            if now["constants"]:
                raise DepositTokenError(now["constants"][0])
            path.write_text(snapshot_json(now))
            print(f"storage layout: {path.name} written ({len(now['namespaces'])} namespaces)")
            return 0
        if not path.is_file():
            raise DepositTokenError(f"{path.name} is missing: python -m deptoken.storage_layout --write")
        broken, added = problems(now, json.loads(path.read_text()))
    except DepositTokenError as exc:
        print(f"storage layout: {exc}", file=sys.stderr)
        return 1
    members = sum(len(v["layout"]) for v in now["namespaces"].values())
    for line in broken:
        print(f"BREAKS AN UPGRADE: {line}")
    for line in added:
        print(f"added: {line}")
    print(f"storage layout check: {'FAIL' if broken else 'PASS'} ({len(now['namespaces'])} namespaces, {members} members)")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
