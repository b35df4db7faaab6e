"""Issue 14, upgrades: the token's storage layout against its committed snapshot (storage-layout.json),
the ERC-7201 slots recomputed from their namespaces, and the check shown to catch a real layout change
(a copy of the contracts with two members of a namespaced struct swapped, compiled)."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from deptoken.project import project_root
from deptoken.storage_layout import SNAPSHOT, Namespace, constant_problems, current, erc7201_slot, problems

ROOT = project_root()


@pytest.fixture(scope="module")
def now() -> dict:
    return current(ROOT)


@pytest.fixture(scope="module")
def snapshot() -> dict:
    return json.loads((ROOT / SNAPSHOT).read_text())


def test_erc7201_slot_is_the_standards_formula():
    # the values OpenZeppelin 5 hard-codes for its namespaces (ERC20Upgradeable, PausableUpgradeable)
    assert erc7201_slot("openzeppelin.storage.ERC20") == 0x52C63247E1F47DB19D5CE0460030C497F067CA4CEBF71BA98EEADABE20BACE00
    assert erc7201_slot("openzeppelin.storage.Pausable") == 0xCD5ED15C6E187E77E9AEE88184C21F4F2182AB5827CB3B7E07FBEDCD63F03300


def test_the_token_layout_keeps_the_committed_snapshot(now, snapshot):
    broken, added = problems(now, snapshot)
    assert broken == [] and added == [], (broken, added)
    assert now["constants"] == []  # every namespace's contract holds its ERC-7201 slot as a constant
    assert now["plain_storage"] == {"DepositToken": [], "DepositTokenAdmin": []}  # all state in namespaces
    ours = {ns for ns in now["namespaces"] if ns.startswith("deptoken.storage.")}
    assert ours == {"deptoken.storage.BankIssuance", "deptoken.storage.ComplianceERC20", "deptoken.storage.DepositToken",
                    "deptoken.storage.ERC3009"}
    assert {"openzeppelin.storage.AccessControl", "openzeppelin.storage.Initializable"} <= set(now["namespaces"])
    compliance = now["namespaces"]["deptoken.storage.ComplianceERC20"]
    assert compliance["slot"] == hex(erc7201_slot("deptoken.storage.ComplianceERC20"))
    assert compliance["layout"][".accounts"] == [0, 0, "mapping(address => uint256)"]  # the packed account words
    assert compliance["layout"][".totalSupply"] == [3, 0, "uint256"]
    assert sum(len(v["layout"]) for v in now["namespaces"].values()) >= 50


def test_moves_retypes_removals_and_plain_variables_break_additions_do_not(snapshot):
    ns = "deptoken.storage.ComplianceERC20"
    changed = copy.deepcopy(snapshot)
    layout = changed["namespaces"][ns]["layout"]
    layout[".totalSupply"] = [4, 0, "uint256"]  # moved
    layout[".decimals"] = [6, 0, "uint16"]  # retyped
    del layout[".symbol"]  # removed (or renamed)
    layout[".paused"] = [7, 0, "bool"]  # appended
    changed["namespaces"]["deptoken.storage.ERC3009"]["slot"] = "0x1"  # namespace moved
    del changed["namespaces"]["deptoken.storage.DepositToken"]  # namespace gone
    changed["namespaces"]["deptoken.storage.New"] = {"struct": "X.NewStorage", "slot": "0x2", "layout": {}}
    changed["plain_storage"]["DepositToken"] = ["stray"]
    broken, added = problems({**changed, "constants": []}, snapshot)
    struct = "ComplianceERC20Upgradeable.ComplianceERC20Storage"
    erc3009_slot = snapshot["namespaces"]["deptoken.storage.ERC3009"]["slot"]
    assert broken == [  # in the snapshot's order
        "DepositToken has plain state variables outside any namespace: stray",
        f"{ns}: {struct}.decimals moved or retyped: slot 6 offset 0 uint8 -> slot 6 offset 0 uint16",
        f"{ns}: {struct}.symbol (string) was removed or renamed",
        f"{ns}: {struct}.totalSupply moved or retyped: slot 3 offset 0 uint256 -> slot 4 offset 0 uint256",
        "namespace deptoken.storage.DepositToken (IssuerIdentityUpgradeable.DepositTokenStorage) is gone",
        f"namespace deptoken.storage.ERC3009 moved from slot {erc3009_slot} to 0x1",
    ], broken
    assert added == [f"{ns}: {struct}.paused (slot 7, offset 0, bool)", "namespace deptoken.storage.New (X.NewStorage)"]


def test_a_slot_constant_that_is_not_its_namespaces_hash_is_refused():
    ns = "deptoken.storage.Example"
    good = Namespace(ns, "contracts/X.sol", "X", "XStorage", {"X_STORAGE": erc7201_slot(ns)})
    bad = Namespace(ns, "contracts/X.sol", "X", "XStorage", {"X_STORAGE": erc7201_slot(ns) + 0x100})
    assert constant_problems([good]) == []
    [problem] = constant_problems([bad])
    assert problem.startswith(f"X (contracts/X.sol): no bytes32 constant equals the ERC-7201 slot of {ns}")


def test_the_check_catches_two_members_swapped_in_the_source(tmp_path, snapshot):
    """A copy of the project's contracts with two members of the compliance struct swapped, compiled."""
    shutil.copytree(ROOT / "contracts", tmp_path / "contracts")
    shutil.copy(ROOT / "ape-config.yaml", tmp_path / "ape-config.yaml")
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    (tmp_path / ".solc").symlink_to(ROOT / ".solc")
    source = tmp_path / "contracts" / "token" / "extensions" / "ComplianceERC20Upgradeable.sol"
    text = source.read_text()
    a, b = "        string name;\n", "        string symbol;\n"
    assert text.count(a) == 1 and text.count(b) == 1
    source.write_text(text.replace(a + b, b + a))
    broken, added = problems(current(tmp_path), snapshot)
    struct = "deptoken.storage.ComplianceERC20: ComplianceERC20Upgradeable.ComplianceERC20Storage"
    assert broken == [f"{struct}.name moved or retyped: slot 4 offset 0 string -> slot 5 offset 0 string",
                      f"{struct}.symbol moved or retyped: slot 5 offset 0 string -> slot 4 offset 0 string"], broken
    assert added == []
