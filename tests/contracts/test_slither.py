"""The slither gate (deptoken.slither_check): it runs, analyses the real contracts, and passes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from deptoken.slither_check import (
    EXPECTED_CONTRACTS,
    SlitherCheckError,
    Triage,
    ape_settings,
    apply_gate,
    project_sources,
)

from constants import ROOT


@pytest.fixture(scope="module")
def slither_run(tmp_path_factory):
    report_path = tmp_path_factory.mktemp("slither") / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "deptoken.slither_check", "--json", str(report_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(report_path.read_text()) if report_path.is_file() else None
    return proc, report


def test_slither_check_passes(slither_run):
    proc, report = slither_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report is not None and report["success"], proc.stdout
    assert "slither check: PASS" in proc.stdout
    assert not [f for f in report["findings"] if f["status"] == "blocking"]


def test_slither_check_upgradeability_ran_on_the_token_and_its_proxy(slither_run):
    """slither-check-upgradeability's checks ran on DepositToken behind DepositTokenProxy (the 12 that
    need no second implementation), and each of its findings is explained in the triage file; slither
    built its IR for every function of the project's contracts."""
    _, report = slither_run
    upgradeability = report["upgradeability"]
    assert (upgradeability["logic"], upgradeability["proxy"]) == ("DepositToken", "DepositTokenProxy")
    assert {"init-missing", "initializer-missing", "missing-init-modifier", "function-id-collision",
            "function-shadowing", "order-vars-proxy", "extra-vars-proxy", "initialize-target"} <= set(upgradeability["checks"])
    assert len(upgradeability["checks"]) == 12
    found = [f for f in report["findings"] if f["kind"] == "upgradeability" and "(from " not in f["location"]]
    assert [(f["check"], f["location"], f["status"]) for f in found] == [("initialize-target", "DepositToken", "accepted")]
    assert not [f for f in report["findings"] if f["kind"] == "not-analysed" and f["scope"] == "project"]


def test_slither_check_upgradeability_compared_each_release_with_the_current_token(slither_run):
    """The 6 checks that compare two implementations ran with each released DepositToken (its sources from
    releases/<version>.json, no git history) as the old one and the current as the new. Their findings:
    from 1.0.0, its two new reinitializer(2) functions (explained in the triage file, with the hazard of an
    upgrade without the step); from 1.1.0, none."""
    _, report = slither_run
    releases = report["upgradeability"]["releases"]
    assert set(releases) == {"1.0.0", "1.1.0"}
    for checks in releases.values():
        assert checks == ["became-constant", "extra-vars-v2", "missing-variables", "multiple-new-reinitializers",
                          "order-vars-contracts", "were-constant"]
    found = sorted((f["check"], f["location"], f["status"]) for f in report["findings"] if "(from " in f["location"])
    assert found == [
        ("multiple-new-reinitializers", "DepositToken.initialize(IDepositTokenAdmin.InitParams) (from 1.0.0)", "accepted"),
        ("multiple-new-reinitializers", "DepositToken.initializeAuthorizations() (from 1.0.0)", "accepted"),
    ]


def test_slither_analysed_the_contracts(slither_run):
    _, report = slither_run
    analysed = set(report["contracts_analysed"])
    assert set(EXPECTED_CONTRACTS) <= analysed
    # The project's own contracts and interface, and the OpenZeppelin bases they build on.
    assert {"IERC7943Fungible", "Iso4217", "PackedAccount", "ERC1967Proxy", "UUPSUpgradeable"} <= analysed
    assert report["contract_count"] == len(analysed) >= 30
    assert "contracts/token/DepositToken.sol" in report["sources"]
    # every contract, interface and library declared in the project's own sources, whichever folder
    declared = set()
    for source in project_sources(ROOT):
        if "/test/" not in source:
            declared |= set(re.findall(r"^(?:abstract\s+)?(?:contract|interface|library)\s+(\w+)", (ROOT / source).read_text(), re.M))
    assert {"DepositToken", "IDepositToken", "TradeEscrow", "PvPSettlement", "HashedTimelock"} <= declared
    assert declared <= analysed, f"not analysed: {sorted(declared - analysed)}"
    assert not any("/." in s for s in report["sources"]), "ape's contracts/.cache copies must not be analysed"


def test_slither_uses_ape_compiler_settings(compilers, project):
    """The analysis compiles with what ape compiles with: version, optimizer, runs, EVM version."""
    ours = ape_settings(ROOT)
    paths = [ROOT / s for s in project_sources(ROOT) if "/test/" not in s]
    [(version, ape)] = compilers.solidity.get_compiler_settings(paths, project=project).items()
    assert str(version).startswith(ours.solc_version)
    assert ape["optimizer"] == {"enabled": ours.optimize, "runs": ours.runs}
    assert ape.get("evmVersion") == ours.evm_version
    prefixes = sorted(r.split("=")[0].rstrip("/") for r in ape["remappings"])
    assert prefixes == sorted(r.split("=")[0].rstrip("/") for r in ours.remappings)


# ------------------------------------------------------------------ the gate's rules, on synthetic results


def _result(check: str, impact: str, path: str, contract: str = "DepositToken", fn: str = "f()") -> dict:
    sm = {"filename_relative": path}
    element = {
        "type": "function",
        "name": fn.split("(")[0],
        "source_mapping": sm,
        "type_specific_fields": {"signature": fn, "parent": {"type": "contract", "name": contract, "source_mapping": sm}},
    }
    return {"check": check, "impact": impact, "confidence": "High", "description": f"{check} in {fn}", "elements": [element]}


def test_gate_blocks_high_and_medium_in_own_contracts_only():
    results = [
        _result("suicidal", "High", "contracts/token/DepositToken.sol"),
        _result("unused-return", "Medium", "contracts/token/extensions/ComplianceERC20Upgradeable.sol", "ComplianceERC20Upgradeable"),
        _result("timestamp", "Low", "contracts/token/DepositToken.sol"),
        _result("incorrect-exp", "High", "node_modules/@openzeppelin/contracts/utils/math/Math.sol", "Math"),
        _result("suicidal", "High", "contracts/test/DepositTokenV2Mock.sol", "DepositTokenV2Mock"),
    ]
    findings, errors, unused = apply_gate(results, Triage())
    blocking = sorted((f.check, f.location) for f in findings if f.status == "blocking")
    assert blocking == [("suicidal", "DepositToken.f()"), ("unused-return", "ComplianceERC20Upgradeable.f()")]
    assert len(errors) == 2 and not unused
    scopes = {(f.check, f.scope) for f in findings}
    assert ("incorrect-exp", "dependency") in scopes and ("suicidal", "test") in scopes


def test_gate_accepts_only_triaged_findings_and_notes_stale_entries():
    results = [_result("suicidal", "High", "contracts/token/DepositToken.sol"), _result("reentrancy-eth", "High", "contracts/token/DepositToken.sol", fn="g()")]
    triage = Triage({("suicidal", "DepositToken.f()"): "a justification long enough", ("locked-ether", "X.y()"): "stale entry here"})
    findings, errors, unused = apply_gate(results, triage)
    status = {f.check: f.status for f in findings}
    assert status == {"suicidal": "accepted", "reentrancy-eth": "blocking"}
    assert errors == ["High reentrancy-eth at DepositToken.g(): not accepted in slither.triage.json"]
    assert unused == [("locked-ether", "X.y()")]


def test_gate_blocks_upgradeability_and_unanalysed_functions_at_any_impact():
    upgrade = {**_result("initialize-target", "Informational", "contracts/token/DepositToken.sol"), "kind": "upgradeability"}
    unanalysed = {"check": "ir-generation-failed", "kind": "not-analysed", "impact": "Informational", "confidence": "n/a",
                  "description": "no IR", "elements": [{"name": "InterbankNetwork.pay",
                                                        "source_mapping": {"filename_relative": "contracts/settlement/InterbankNetwork.sol"}}]}
    dependency = {**unanalysed, "elements": [{"name": "X.f", "source_mapping": {"filename_relative": "node_modules/x/X.sol"}}]}
    findings, errors, _ = apply_gate([upgrade, unanalysed, dependency], Triage())
    assert sorted((f.check, f.location, f.status) for f in findings) == [
        ("initialize-target", "DepositToken.f()", "blocking"),
        ("ir-generation-failed", "InterbankNetwork.pay", "blocking"),
        ("ir-generation-failed", "X.f", "reported"),
    ]
    assert errors == [
        "upgradeability finding initialize-target (Informational) at DepositToken.f(): not accepted in slither.triage.json",
        "not-analysed finding ir-generation-failed (Informational) at InterbankNetwork.pay: not accepted in slither.triage.json",
    ]
    triage = Triage({("initialize-target", "DepositToken.f()"): "explained well enough here"})
    findings, errors, _ = apply_gate([upgrade], triage)
    assert [f.status for f in findings] == ["accepted"] and not errors
    # a release comparison's finding points into the release's sources (crytic-export/releases/...): it
    # still counts as the project's, located with its release
    release = {**_result("missing-variables", "High", "crytic-export/releases/1.1.0/contracts/DepositToken.sol"),
               "kind": "upgradeability", "scope": "project", "location_suffix": " (from 1.1.0)"}
    findings, errors, _ = apply_gate([release], triage)
    assert [(f.location, f.status) for f in findings] == [("DepositToken.f() (from 1.1.0)", "blocking")]
    assert errors == ["upgradeability finding missing-variables (High) at DepositToken.f() (from 1.1.0): "
                      "not accepted in slither.triage.json"]


def test_triage_entries_need_a_justification(tmp_path):
    path = tmp_path / "triage.json"
    path.write_text(json.dumps({"accepted": [{"check": "suicidal", "location": "DepositToken.f()", "justification": ""}]}))
    with pytest.raises(SlitherCheckError, match="justification"):
        Triage.load(path)


def test_committed_triage_is_valid():
    triage = Triage.load(ROOT / "slither.triage.json")
    for (check, location), why in triage.accepted.items():
        assert check and location and len(why) >= 20
