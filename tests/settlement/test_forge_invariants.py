"""The forge invariant tests (tests/forge/invariant/*.t.sol) of the settlement contracts and of the
token's transfers where parties coincide, run from pytest.

Each test contract drives the real contracts (and the real DepositToken behind its proxy) through a
handler: thousands of calls with bounded random inputs, after each of which forge checks every
``invariant_*`` function (one fuzzing campaign per function: ``runs`` sequences of ``depth`` calls).
Here: every invariant listed below ran and held, with at least the configured runs and calls, every
handler action was called, and not every call reverted (a campaign whose calls all revert, or that
made none, tests nothing). One forge run for all of them, one pytest test per forge test contract.
"""

from __future__ import annotations

import pytest

from forge_support import forge_test

# forge test contract -> (its invariants, its handler's actions, runs, depth) as configured in its file
CAMPAIGNS: dict[str, tuple[tuple[str, ...], tuple[str, ...], int, int]] = {
    "TokenTransfersInvariants": (
        ("invariant_balancesAreTheBooks", "invariant_noViolation"),
        ("transfer", "transferToSelf", "transferFrom", "transferFromCoinciding", "approve", "restrict", "setPause",
         "warp"),
        64, 64,
    ),
    "PvPSettlementInvariants": (
        ("invariant_holdsOnlyOpenProposals", "invariant_bothLegsOrNeither", "invariant_quotesSettleOnce",
         "invariant_proposalsEndOnce", "invariant_noViolation"),
        ("settle", "settleRouted", "replay", "cancelQuote", "propose", "accept", "cancel", "expire", "seize", "warp"),
        64, 64,
    ),
    "TradeEscrowInvariants": (
        ("invariant_heldEqualsOpenOrders", "invariant_conservation", "invariant_everyOrderEndsOnce",
         "invariant_noViolation"),
        ("fund", "fundAgain", "ship", "confirm", "release", "refund", "dispute", "resolve", "seize", "setFee",
         "freeze", "warp"),
        64, 64,
    ),
    "HashedTimelockInvariants": (
        ("invariant_heldEqualsOpenLocks", "invariant_conservation", "invariant_claimXorRefund",
         "invariant_noViolation"),
        ("lock", "claim", "refund", "withdraw", "seize", "freeze", "warp"),
        64, 64,
    ),
    "InterbankNetworkNetInvariants": (
        ("invariant_positionsSumToZero", "invariant_collateralCoversDebits", "invariant_suppliesMoveOnlyByPayments",
         "invariant_paymentIdsOnce", "invariant_noViolation"),
        ("pay", "replay", "settleCycle", "settleEarly", "withdraw", "post", "setHaircut", "setBankActive"),
        64, 64,
    ),
    "InterbankNetworkGrossInvariants": (
        ("invariant_positionsSumToZero", "invariant_collateralCoversDebits", "invariant_suppliesMoveOnlyByPayments",
         "invariant_paymentIdsOnce", "invariant_noViolation"),
        ("pay", "replay", "settleCycle", "settleEarly", "withdraw", "post", "setHaircut", "setBankActive"),
        64, 64,
    ),
}

# actions whose refusals the handler reports as reverts (a refusal the specification expects): some of
# their calls must also have succeeded, or the campaign tested only the refusals
SUCCEED_SOMETIMES: dict[str, tuple[str, ...]] = {
    "TokenTransfersInvariants": ("transfer", "transferToSelf", "transferFrom", "transferFromCoinciding"),
}


@pytest.fixture(scope="module")
def campaigns() -> dict[str, dict]:
    """One forge run of every contract above (forge runs them side by side on the cores it has: the
    module's tests share one xdist worker, and each forge start costs its own build check)."""
    return forge_test(f"^({'|'.join(CAMPAIGNS)})$")


@pytest.mark.parametrize("contract", sorted(CAMPAIGNS))
def test_forge_invariants_hold(contract: str, campaigns: dict[str, dict]) -> None:
    invariants, actions, runs, depth = CAMPAIGNS[contract]
    results = {name: result for name, result in campaigns.items() if name.startswith(f"{contract}.")}
    assert sorted(results) == sorted(f"{contract}.{name}()" for name in invariants)
    for name, result in results.items():
        assert result["status"] == "Success", f"{name}: {result['reason']}\n{result.get('counterexample')}"
        campaign = result["kind"]["Invariant"]
        assert campaign["runs"] >= runs, (name, campaign["runs"])
        assert campaign["calls"] >= runs * depth, (name, campaign["calls"])
        assert campaign["reverts"] < campaign["calls"], (name, campaign["reverts"])
        called = {selector.rsplit(".", 1)[1]: metric["calls"] for selector, metric in campaign["metrics"].items()}
        assert all(called.get(action, 0) > 0 for action in actions), (name, called)
        reverted = {selector.rsplit(".", 1)[1]: metric["reverts"] for selector, metric in campaign["metrics"].items()}
        for action in SUCCEED_SOMETIMES.get(contract, ()):
            assert reverted[action] < called[action], (name, action, "never succeeded")
