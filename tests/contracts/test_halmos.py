"""Issue 14, proofs for all inputs: halmos's symbolic tests over the real DepositToken behind its
proxy (tests/forge/symbolic; the README's assurance section says what each proves). One test per symbolic
contract, so that the suite's workers spread them; each names every check_ function it expects, so
that a renamed or deleted proof fails here instead of silently not running."""

from __future__ import annotations

import pytest

from forge_support import halmos

EXPECTED: dict[str, tuple[str, ...]] = {
    "PackedAccountLibraryTest": (
        "check_withKycExpiry_setsOnlyTheExpiry(uint256,uint64)",
        "check_withFlag_setsOnlyThatFlag(uint256,bool,bool)",
        "check_wordArithmetic_movesOnlyTheBalance(uint256,uint256)",
        "check_isActive_isUnexpiredAndNotFrozen(uint256,uint256)",
        "check_readers_readOnlyTheirBits(uint256,uint256)",
    ),
    "PackedAccountTokenTest": (
        "check_allowlist_anyExpiry_changesOnlyTheExpiry(uint64)",
        "check_removeFromAllowlist_changesOnlyTheExpiry()",
        "check_freezeAndUnfreeze_changeOnlyTheFrozenFlag(bool)",
        "check_setFrozenTokens_changesOnlyItsFlag(uint256)",
        "check_mint_anyAmount_changesOnlyTheBalance(uint256,bytes32)",
    ),
    "TransferTest": (
        "check_distinctParties_transfer_succeedsIffRulesHold_andMovesExactlyTheAmount(uint256)",
        "check_distinctParties_transferFrom_succeedsIffRulesHold_andMovesExactlyTheAmount(uint256)",
    ),
    "IssuanceTest": (
        "check_mint_withUsedDepositRef_alwaysReverts(address,uint256,bytes32)",
        "check_mint_marksItsDepositRefUsed(uint256,bytes32)",
        "check_redeem_lowersSupplyAndBalanceByExactlyTheAmount(uint256,bytes32)",
        "check_burn_refWorksOnce(uint256,uint256,bytes32)",
    ),
}


@pytest.mark.parametrize("contract", sorted(EXPECTED))
def test_halmos_proves(contract: str) -> None:
    results = halmos(f"^{contract}$")
    # halmos 0.3.3's JSON: num_paths is [all, completed, blocked], time [total, paths, models]
    for name, result in sorted(results.items()):
        print(f"{name}: {result['time'][0]:.2f} s, {result['num_paths'][0]} paths, exit {result['exitcode']}")
    assert sorted(results) == sorted(f"{contract}.{check}" for check in EXPECTED[contract])
    for name, result in results.items():
        assert result["exitcode"] == 0, f"{name}: halmos found a counterexample or failed: {result}"
        assert result["num_paths"][0] > 0, f"{name}: no path explored"
        # a proof for all inputs: no loop cut short by halmos's unrolling bound (a bounded proof says so in its name)
        if "_bounded_" not in name:
            assert result["num_bounded_loops"] == 0, f"{name}: loops were bounded: {result}"


def test_halmos_refutes_wrong_properties() -> None:
    """The set-up can fail: deliberately wrong properties (NegativeTest) each get a counterexample."""
    results = halmos("^NegativeTest$")
    assert sorted(results) == [
        "NegativeTest.check_refuted_transfer_ignoresTheFrozenAmount(uint256)",
        "NegativeTest.check_refuted_withKycExpiry_keepsTheWholeWord(uint256,uint64)",
    ]
    for name, result in results.items():
        assert result["exitcode"] != 0 and result["num_models"] > 0, f"{name}: not refuted: {result}"
