"""Issue 14, properties 3 and 4 for every caller: halmos's symbolic sweeps over the real DepositToken
behind its proxy (tests/forge/symbolic/RoleSweep.t.sol). In each, the holder of one role (or of none)
sends one call with symbolic calldata for any of the token's functions, from symbolic account states;
afterwards every piece of role-guarded state has changed only as the README's role table lets that role
change it, and no account that was not active has received anything. One test per caller, in a module
of its own, so that the suite's workers run it beside the other proofs. That each sweep reaches its
role's functions was shown by mutation (README: every rule, taken from the role that may break it,
gets a counterexample)."""

from __future__ import annotations

import pytest

from forge_support import halmos

CHECKS = (
    "check_bounded_noRoleCaller_changesNoRoleState()",
    "check_bounded_adminCaller_changesOnlyWhatTheAdminMay()",
    "check_bounded_minterAdminCaller_changesOnlyWhatTheMinterAdminMay()",
    "check_bounded_minterCaller_changesOnlyWhatTheMinterMay()",
    "check_bounded_complianceCaller_changesOnlyWhatComplianceMay()",
    "check_bounded_legalCaller_changesOnlyWhatLegalMay()",
    "check_bounded_pauserCaller_changesOnlyWhatThePauserMay()",
    "check_bounded_upgraderCaller_changesOnlyWhatTheUpgraderMay()",
)


@pytest.mark.parametrize("check", CHECKS, ids=[check.split("_")[2] for check in CHECKS])
def test_role_sweep_proves(check: str) -> None:
    name = check.removesuffix("()")
    results = halmos("^RoleSweepTest$", "--match-test", rf"^{name}\(")  # halmos matches the signature
    assert sorted(results) == [f"RoleSweepTest.{check}"]
    result = results[f"RoleSweepTest.{check}"]
    # halmos 0.3.3's JSON: num_paths is [all, completed, blocked], time [total, paths, models]
    print(f"{check}: {result['time'][0]:.2f} s, {result['num_paths'][0]} paths, exit {result['exitcode']}")
    assert result["exitcode"] == 0, f"{check}: halmos found a counterexample or failed: {result}"
    assert result["num_paths"][0] > 0, f"{check}: no path explored"
