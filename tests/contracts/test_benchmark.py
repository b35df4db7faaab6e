"""The gas benchmark (deptoken.token.gas, run by `ape run benchmark`): targets met.

Gas on Anvil is exact for the same bytecode, state and calldata, so these assertions are
deterministic; a change to the contracts that costs gas on these paths fails here.
"""

from __future__ import annotations

import json

import pytest

from deptoken.token.gas import (
    EIP170_LIMIT,
    OPERATIONS,
    RUNTIME_SIZE_LIMIT,
    TARGETS,
    format_size,
    format_table,
    measure,
    runtime_size,
)


@pytest.fixture(scope="module")
def result():
    return measure()


def test_gas_targets_met(result):
    for operation, target in TARGETS.items():
        row = result.row(operation)
        assert row.deposit_token <= target, f"{operation}: {row.deposit_token:,} gas > target {target:,}"
    assert result.passed


def test_every_operation_measured(result):
    assert [r.operation for r in result.rows] == list(OPERATIONS)
    for row in result.rows:
        assert 21_000 < row.deposit_token < 200_000
        if row.operation == "redeem":
            assert row.baseline is None  # the plain ERC-20 has no burn
        else:
            assert 21_000 < row.baseline < 200_000


def test_steady_state_cases(result):
    """The cases measure what they say: for the baseline a fresh recipient costs a new storage slot
    (zero to non-zero), an existing one does not; DepositToken's recipient is always allowlisted, so
    its packed account word is already non-zero and both transfers cost the same."""
    baseline_fresh = result.row("transfer (fresh recipient)").baseline
    baseline_existing = result.row("transfer (existing holder)").baseline
    assert baseline_fresh - baseline_existing > 15_000
    assert result.row("transfer (fresh recipient)").deposit_token == result.row("transfer (existing holder)").deposit_token


def test_report_formats(result):
    table = format_table(result)
    assert "transferFrom" in table and "n/a" in table
    assert table.count("PASS") == len(TARGETS)
    data = json.loads(json.dumps(result.to_json()))
    assert data["passed"] is True
    assert {r["operation"] for r in data["rows"]} == set(OPERATIONS)


def test_settlement_operations_measured():
    """The second table: every cross-border operation measured next to its plain-token counterpart,
    in steady state (the measurement also checks the contracts' end balances)."""
    from deptoken.settlement.settlement_gas import format_settlement_table, measure_settlement

    rows = {r.operation: r for r in measure_settlement()}
    assert set(rows) == {"permit", "transferWithAuthorization", "escrow fund (approved)", "escrow fund (one signature)",
                         "escrow release (buyer confirms)", "escrow seize (legal exit)", "PvP settle (two legs)",
                         "PvP seize proposal (legal exit)", "HTLC lock", "HTLC claim", "HTLC seize (legal exit)"}
    for row in rows.values():
        assert 21_000 < row.comparison_gas < row.gas < 250_000, row
    # a settlement costs its two token legs plus bounded overhead (signature check, nonce, event)
    assert rows["PvP settle (two legs)"].gas - rows["PvP settle (two legs)"].comparison_gas < 40_000
    # one signature instead of approve + fund: the authorization path costs at most a signature check more
    assert rows["escrow fund (one signature)"].gas - rows["escrow fund (approved)"].gas < 45_000
    table = format_settlement_table(list(rows.values()))
    assert "2 x transferFrom" in table and table.count("\n") == len(rows) + 1


def test_runtime_size_within_limit():
    """The token keeps room to grow: its runtime code stays at most 21,600 bytes (EIP-170: 24,576; 21,500
    until ERC-7802's two entry points took 129 bytes, README "Code size")."""
    size = runtime_size()
    assert 10_000 < size <= RUNTIME_SIZE_LIMIT, f"DepositToken runtime code {size:,} bytes > {RUNTIME_SIZE_LIMIT:,}"
    assert runtime_size("DepositTokenAdmin") < EIP170_LIMIT
    assert "PASS" in format_size(size) and "FAIL" in format_size(RUNTIME_SIZE_LIMIT + 1)


def test_interbank_payment_and_cycles_measured():
    """The interbank network's figures: a payment costs its token legs (transferFrom, burn and mint
    with their once-only references) plus bounded overhead, the one-signature form a signature check
    more, and a settlement cycle grows by the same amount per bank (not with the payments)."""
    from deptoken.settlement.interbank_gas import format_interbank, measure_interbank

    gas = measure_interbank(banks=(3, 6, 12))
    assert 3 * gas.transfer < gas.payment_approved < 182_000, gas  # today 181,246 (188,893 before): a regression guard
    assert 0 < gas.payment_signed - gas.payment_approved < 45_000, gas
    per_bank = [(gas.cycles[b] - gas.cycles[a]) / (b - a) for a, b in ((3, 6), (6, 12))]
    assert 5_000 < per_bank[0] < 15_000 and abs(per_bank[0] - per_bank[1]) < 0.05 * per_bank[0], (gas.cycles, per_bank)
    text = format_interbank(gas)
    assert "12 banks" in text and "by call frame" in text
    # the breakdown adds up to the receipts, and it sees the once-only references as new slots: the payment
    # id in the network, the burn reference at the paying bank, the deposit reference at the paid bank, and
    # for the signed form the EIP-3009 authorization nonce
    for parts, total, once_only in ((gas.breakdown_approved, gas.payment_approved, 3),
                                    (gas.breakdown_signed, gas.payment_signed, 4)):
        assert sum(p.gas for p in parts) == total, parts
        assert sum(p.sstore_new for p in parts) == once_only, parts
        assert parts[0].gas > 21_000 and parts[1].label.startswith("network.pay")
        # the network's own part reads one cold word per bank, its parameters and the payment id, nothing else
        assert parts[1].sload_cold == 4 and parts[1].sstore_new == 1 and parts[1].sstore_update == 2, parts[1]
    assert gas.breakdown_approved[1].gas < 48_000, gas.breakdown_approved[1]  # today 47,178 (54,825 before)
