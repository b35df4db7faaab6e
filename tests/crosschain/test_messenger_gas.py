"""The messenger's gas figures (deptoken.crosschain.gas, printed by `ape run benchmark`): each operation costs
its token legs plus bounded overhead, a second attester one signature check more."""

from __future__ import annotations

import pytest

from deptoken.crosschain.gas import format_messenger, measure_messenger


@pytest.fixture(scope="module")
def gas():
    return measure_messenger()


def test_send_costs_its_token_legs_plus_bounded_overhead(gas):
    # transferFrom to the messenger and a burn with a new once-only reference, a new status slot, the event
    assert 2 * gas.transfer < gas.send_approved < 140_000, gas  # regression guard: measured 131,833
    assert 0 < gas.send_signed - gas.send_approved < 45_000, gas  # one EIP-3009 signature instead of an approval


def test_receive_costs_a_mint_plus_the_attestation(gas):
    assert gas.transfer < gas.receive_1_of_1 < 145_000, gas  # measured 139,201
    # a second signer: its ecrecover (3,000), the attester lookup (2,100), about 200 more bytes of calldata
    # and memory; and no more (measured 11,373 more)
    assert 6_000 < gas.receive_2_of_3 - gas.receive_1_of_1 < 16_000, gas


def test_report(gas):
    text = format_messenger(gas)
    assert text.count("\n") == 3 and "2 of 3 attesters" in text and f"{gas.transfer:,}" in text
    assert set(gas.to_json()) == {"send_approved", "send_signed", "receive_1_of_1", "receive_2_of_3", "transfer"}
