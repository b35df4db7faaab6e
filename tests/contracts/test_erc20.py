"""ERC-20 behaviour, metadata, identity and ERC-165 of DepositToken."""

from __future__ import annotations

import pytest
from ape import project
from eth_utils import keccak

from helpers import (
    ERC7943_INTERFACE_ID,
    INITIAL,
    MAX_UINT256,
    USE_CURRENCY_DECIMALS,
    ZERO_ADDRESS,
    deploy_raw,
    ev,
    events,
    reverts,
)


def _interface_id(*signatures: str) -> str:
    x = 0
    for s in signatures:
        x ^= int.from_bytes(keccak(text=s)[:4], "big")
    return "0x%08x" % x


# ------------------------------------------------------------------ metadata and identity


def test_metadata_of_devnet_deployment(token):
    assert token.name() == "Example Bank USD Deposit"
    assert token.symbol() == "EXUSD"
    assert token.decimals() == 2
    assert token.currency() == "USD"
    assert token.version() == "1.1.0"
    assert token.totalSupply() == 2 * INITIAL


def test_issuer(token):
    name, lei, bic = token.issuer()
    assert (name, lei, bic) == ("Example Bank N.A.", "5493001KJTIIGC8Y1R12", "EXBKUS33")


@pytest.mark.parametrize(
    "currency, decimals_param, expected",
    [
        ("USD", USE_CURRENCY_DECIMALS, 2),
        ("EUR", USE_CURRENCY_DECIMALS, 2),
        ("JPY", USE_CURRENCY_DECIMALS, 0),
        ("KRW", USE_CURRENCY_DECIMALS, 0),
        ("BHD", USE_CURRENCY_DECIMALS, 3),
        ("KWD", USE_CURRENCY_DECIMALS, 3),
        ("CLF", USE_CURRENCY_DECIMALS, 4),
        ("CNH", USE_CURRENCY_DECIMALS, 2),  # not listed: 2 minor units
        ("USD", 6, 6),  # explicit override
        ("JPY", 18, 18),
        ("BHD", 0, 0),
    ],
)
def test_decimals_from_currency_or_override(admin, currency, decimals_param, expected):
    t = deploy_raw(admin, currency=currency, decimals=decimals_param)
    assert t.decimals() == expected
    assert t.currency() == currency


def test_deploy_emits_issuer_and_roles(admin, alice):
    t = deploy_raw(admin, issuerName="Bank", issuerLei="", issuerBic="EXBKUS33XXX", compliance=alice)
    assert t.issuer() == ("Bank", "", "EXBKUS33XXX")
    assert t.hasRole(t.COMPLIANCE_ROLE(), alice)
    assert not t.hasRole(t.COMPLIANCE_ROLE(), admin)


@pytest.mark.parametrize("code", ["usd", "US", "USDT", "", "U$D", "Usd", "US1", "USD "])
def test_invalid_currency_code_reverts(admin, code):
    with reverts("InvalidCurrencyCode", decode_with=project.DepositToken, code=code):
        deploy_raw(admin, currency=code)


# ------------------------------------------------------------------ ERC-165


def test_erc7943_interface_id_matches_interface():
    assert (
        _interface_id(
            "forcedTransfer(address,address,uint256)",
            "setFrozenTokens(address,uint256)",
            "canSend(address)",
            "canReceive(address)",
            "getFrozenTokens(address)",
            "canTransfer(address,address,uint256)",
        )
        == ERC7943_INTERFACE_ID
    )


@pytest.mark.parametrize(
    "interface_id, supported",
    [
        (ERC7943_INTERFACE_ID, True),
        ("0x36372b07", True),  # IERC20
        ("0x01ffc9a7", True),  # IERC165
        ("0x7965db0b", True),  # IAccessControl
        ("0x31498786", True),  # IAccessControlDefaultAdminRules
        ("0xdeadbeef", False),
        ("0xffffffff", False),  # ERC-165 requires false
        ("0x00000000", False),
        ("0x80ac58cd", False),  # ERC-721
    ],
)
def test_supports_interface(token, interface_id, supported):
    assert token.supportsInterface(interface_id) is supported


def test_supports_interface_ids_are_the_real_ones():
    assert _interface_id(
        "totalSupply()", "balanceOf(address)", "transfer(address,uint256)",
        "allowance(address,address)", "approve(address,uint256)", "transferFrom(address,address,uint256)",
    ) == "0x36372b07"
    assert _interface_id(
        "hasRole(bytes32,address)", "getRoleAdmin(bytes32)", "grantRole(bytes32,address)",
        "revokeRole(bytes32,address)", "renounceRole(bytes32,address)",
    ) == "0x7965db0b"


# ------------------------------------------------------------------ transfer


def test_transfer_moves_balance_and_emits(token, alice, bob):
    receipt = token.transfer(bob, 1234, sender=alice)
    assert token.balanceOf(alice) == INITIAL - 1234
    assert token.balanceOf(bob) == INITIAL + 1234
    assert token.totalSupply() == 2 * INITIAL
    assert events(receipt) == [ev("Transfer", **{"from": alice, "to": bob, "value": 1234})]


def test_transfer_returns_true(token, alice, bob):
    assert token.transfer.call(bob, 1, sender=alice) is True


def test_transfer_whole_balance_to_empty_account(token, alice, carol):
    token.transfer(carol, INITIAL, sender=alice)
    assert token.balanceOf(alice) == 0
    assert token.balanceOf(carol) == INITIAL


def test_transfer_zero_amount(token, alice, bob):
    receipt = token.transfer(bob, 0, sender=alice)
    assert token.balanceOf(alice) == INITIAL
    assert events(receipt) == [ev("Transfer", **{"from": alice, "to": bob, "value": 0})]


def test_self_transfer_keeps_balance(token, alice):
    receipt = token.transfer(alice, 400, sender=alice)
    assert token.balanceOf(alice) == INITIAL
    assert token.totalSupply() == 2 * INITIAL
    assert events(receipt) == [ev("Transfer", **{"from": alice, "to": alice, "value": 400})]


def test_self_transfer_of_whole_balance_keeps_it(token, alice):
    token.transfer(alice, INITIAL, sender=alice)
    assert token.balanceOf(alice) == INITIAL


def test_self_transfer_above_balance_reverts(token, alice):
    with reverts(token.ERC20InsufficientBalance, sender=alice, balance=INITIAL, needed=INITIAL + 1):
        token.transfer(alice, INITIAL + 1, sender=alice)


def test_transfer_insufficient_balance(token, alice, bob):
    with reverts(token.ERC20InsufficientBalance, sender=alice, balance=INITIAL, needed=INITIAL + 1):
        token.transfer(bob, INITIAL + 1, sender=alice)
    assert token.balanceOf(alice) == INITIAL


def test_transfer_from_empty_account(token, carol, bob):
    with reverts(token.ERC20InsufficientBalance, sender=carol, balance=0, needed=1):
        token.transfer(bob, 1, sender=carol)


def test_transfer_to_zero_address(token, alice):
    with reverts(token.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        token.transfer(ZERO_ADDRESS, 1, sender=alice)


def test_transfer_from_the_zero_address_is_refused_not_taken_for_a_mint(token, alice, bob):
    """transferFrom(0, to, 0) by an active spender: an allowance of 0 covers 0, and the balance path
    once took the zero sender for a mint (Transfer(0, to, 0), like a zero mint; found by halmos). The
    zero address is a sender that is not active."""
    supply = token.totalSupply()
    with reverts(token.ERC7943CannotSend, account=ZERO_ADDRESS):
        token.transferFrom(ZERO_ADDRESS, bob, 0, sender=alice)
    assert token.totalSupply() == supply


def test_many_transfers_keep_supply(token, alice, bob, carol):
    token.transfer(bob, 10, sender=alice)
    token.transfer(carol, 25, sender=bob)
    token.transfer(alice, 5, sender=carol)
    assert token.balanceOf(alice) == INITIAL - 5
    assert token.balanceOf(bob) == INITIAL - 15
    assert token.balanceOf(carol) == 20
    assert token.balanceOf(alice) + token.balanceOf(bob) + token.balanceOf(carol) == token.totalSupply()


# ------------------------------------------------------------------ approve and allowance


def test_approve_sets_allowance_and_emits(token, alice, carol):
    assert token.allowance(alice, carol) == 0
    receipt = token.approve(carol, 500, sender=alice)
    assert token.allowance(alice, carol) == 500
    assert token.allowance(carol, alice) == 0
    assert events(receipt) == [ev("Approval", owner=alice, spender=carol, value=500)]


def test_approve_returns_true(token, alice, carol):
    assert token.approve.call(carol, 1, sender=alice) is True


def test_approve_overwrites(token, alice, carol):
    token.approve(carol, 500, sender=alice)
    receipt = token.approve(carol, 7, sender=alice)
    assert token.allowance(alice, carol) == 7
    assert events(receipt) == [ev("Approval", owner=alice, spender=carol, value=7)]
    token.approve(carol, 0, sender=alice)
    assert token.allowance(alice, carol) == 0


def test_approve_zero_spender(token, alice):
    with reverts(token.ERC20InvalidSpender, spender=ZERO_ADDRESS):
        token.approve(ZERO_ADDRESS, 1, sender=alice)


def test_approve_is_not_restricted(token, alice, outsider, compliance, chain):
    """Approving needs no allowlisting (using the allowance does)."""
    chain.set_balance(outsider, 10**18)
    token.approve(alice, 9, sender=outsider)
    assert token.allowance(outsider, alice) == 9
    token.freezeAccount(alice, sender=compliance)
    token.approve(outsider, 3, sender=alice)
    assert token.allowance(alice, outsider) == 3


# ------------------------------------------------------------------ transferFrom


def test_transfer_from_spends_allowance(token, alice, bob, carol):
    token.approve(carol, 1000, sender=alice)
    receipt = token.transferFrom(alice, bob, 300, sender=carol)
    assert token.allowance(alice, carol) == 700
    assert token.balanceOf(alice) == INITIAL - 300
    assert token.balanceOf(bob) == INITIAL + 300
    assert token.balanceOf(carol) == 0
    # no Approval event when spending (as OpenZeppelin 5)
    assert events(receipt) == [ev("Transfer", **{"from": alice, "to": bob, "value": 300})]


def test_transfer_from_returns_true(token, alice, bob, carol):
    token.approve(carol, 1, sender=alice)
    assert token.transferFrom.call(alice, bob, 1, sender=carol) is True


def test_transfer_from_exact_allowance(token, alice, bob, carol):
    token.approve(carol, 300, sender=alice)
    token.transferFrom(alice, bob, 300, sender=carol)
    assert token.allowance(alice, carol) == 0
    with reverts(token.ERC20InsufficientAllowance, spender=carol, allowance=0, needed=1):
        token.transferFrom(alice, bob, 1, sender=carol)


def test_transfer_from_to_spender_itself(token, alice, carol):
    token.approve(carol, 50, sender=alice)
    token.transferFrom(alice, carol, 50, sender=carol)
    assert token.balanceOf(carol) == 50


def test_infinite_allowance_is_not_decreased(token, alice, bob, carol):
    token.approve(carol, MAX_UINT256, sender=alice)
    receipt = token.transferFrom(alice, bob, 12345, sender=carol)
    assert token.allowance(alice, carol) == MAX_UINT256
    assert events(receipt) == [ev("Transfer", **{"from": alice, "to": bob, "value": 12345})]
    token.transferFrom(alice, bob, INITIAL - 12345, sender=carol)
    assert token.allowance(alice, carol) == MAX_UINT256
    assert token.balanceOf(alice) == 0


def test_allowance_just_below_infinite_is_decreased(token, alice, bob, carol):
    token.approve(carol, MAX_UINT256 - 1, sender=alice)
    token.transferFrom(alice, bob, 10, sender=carol)
    assert token.allowance(alice, carol) == MAX_UINT256 - 11


def test_transfer_from_insufficient_allowance(token, alice, bob, carol):
    token.approve(carol, 99, sender=alice)
    with reverts(token.ERC20InsufficientAllowance, spender=carol, allowance=99, needed=100):
        token.transferFrom(alice, bob, 100, sender=carol)
    assert token.allowance(alice, carol) == 99
    assert token.balanceOf(alice) == INITIAL


def test_transfer_from_without_approval(token, alice, bob, carol):
    with reverts(token.ERC20InsufficientAllowance, spender=carol, allowance=0, needed=1):
        token.transferFrom(alice, bob, 1, sender=carol)


def test_transfer_from_insufficient_balance(token, alice, bob, carol):
    token.approve(carol, MAX_UINT256, sender=alice)
    with reverts(token.ERC20InsufficientBalance, sender=alice, balance=INITIAL, needed=INITIAL + 1):
        token.transferFrom(alice, bob, INITIAL + 1, sender=carol)
    assert token.allowance(alice, carol) == MAX_UINT256


def test_transfer_from_failure_does_not_spend_allowance(token, alice, carol):
    token.approve(carol, 2 * INITIAL, sender=alice)
    with reverts(token.ERC20InsufficientBalance, sender=alice, balance=INITIAL, needed=INITIAL + 1):
        token.transferFrom(alice, carol, INITIAL + 1, sender=carol)
    assert token.allowance(alice, carol) == 2 * INITIAL


def test_transfer_from_to_zero_address(token, alice, carol):
    token.approve(carol, 10, sender=alice)
    with reverts(token.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        token.transferFrom(alice, ZERO_ADDRESS, 10, sender=carol)
    assert token.allowance(alice, carol) == 10


def test_transfer_from_self_as_spender_needs_allowance(token, alice, bob):
    with reverts(token.ERC20InsufficientAllowance, spender=alice, allowance=0, needed=5):
        token.transferFrom(alice, bob, 5, sender=alice)
    token.approve(alice, 5, sender=alice)
    token.transferFrom(alice, bob, 5, sender=alice)
    assert token.balanceOf(bob) == INITIAL + 5
    assert token.allowance(alice, alice) == 0
