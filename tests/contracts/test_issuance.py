"""Minters and their allowances, minting against deposit references, redemption against payout
references, and the bank's burn of its own holdings."""

from __future__ import annotations

import pytest

from helpers import (
    INITIAL,
    MAX_UINT128,
    MAX_UINT256,
    MINTER_ALLOWANCE,
    YEAR,
    ZERO_ADDRESS,
    ZERO_REF,
    ev,
    events,
    ref,
    reverts,
    role_id,
    set_time,
)

MINTER_ROLE = role_id("MINTER_ROLE")


@pytest.fixture
def treasury_funds(token, minter, alice):
    """The treasury (minter) holds 100,000 it received from alice."""
    token.transfer(minter, 100_000, sender=alice)
    return 100_000


# ------------------------------------------------------------------ minter management


def test_configure_minter(bare_token, minter_admin, carol):
    t = bare_token
    assert not t.hasRole(MINTER_ROLE, carol)
    receipt = t.configureMinter(carol, 5000, sender=minter_admin)
    assert events(receipt) == [
        ev("RoleGranted", role=MINTER_ROLE, account=carol, sender=minter_admin),
        ev("MinterConfigured", minter=carol, allowance=5000),
    ]
    assert t.hasRole(MINTER_ROLE, carol)
    assert t.minterAllowance(carol) == 5000


def test_reconfigure_minter_overwrites_allowance(token, minter_admin, minter):
    receipt = token.configureMinter(minter, 7, sender=minter_admin)
    # the role is already held: no second RoleGranted
    assert events(receipt) == [ev("MinterConfigured", minter=minter, allowance=7)]
    assert token.minterAllowance(minter) == 7
    token.configureMinter(minter, 10**20, sender=minter_admin)
    assert token.minterAllowance(minter) == 10**20


def test_configure_zero_address_minter(token, minter_admin):
    with reverts(token.InvalidAccount, account=ZERO_ADDRESS):
        token.configureMinter(ZERO_ADDRESS, 1, sender=minter_admin)
    assert not token.hasRole(MINTER_ROLE, ZERO_ADDRESS)


def test_remove_minter(token, minter_admin, minter, alice):
    receipt = token.removeMinter(minter, sender=minter_admin)
    assert events(receipt) == [
        ev("RoleRevoked", role=MINTER_ROLE, account=minter, sender=minter_admin),
        ev("MinterRemoved", minter=minter),
    ]
    assert not token.hasRole(MINTER_ROLE, minter)
    assert token.minterAllowance(minter) == 0
    with reverts(token.AccessControlUnauthorizedAccount, account=minter, neededRole=MINTER_ROLE):
        token.mint(alice, 1, ref("after-removal"), sender=minter)


def test_remove_minter_that_is_not_a_minter(token, minter_admin, minter, carol):
    with reverts(token.NotAMinter, account=carol):
        token.removeMinter(carol, sender=minter_admin)
    with reverts(token.NotAMinter, account=ZERO_ADDRESS):
        token.removeMinter(ZERO_ADDRESS, sender=minter_admin)
    token.removeMinter(minter, sender=minter_admin)
    with reverts(token.NotAMinter, account=minter):  # not twice
        token.removeMinter(minter, sender=minter_admin)


def test_revoke_minter_role_zeroes_allowance(token, minter_admin, minter):
    assert token.minterAllowance(minter) > 0
    receipt = token.revokeRole(MINTER_ROLE, minter, sender=minter_admin)
    assert events(receipt) == [
        ev("RoleRevoked", role=MINTER_ROLE, account=minter, sender=minter_admin),
        ev("MinterRemoved", minter=minter),
    ]
    assert not token.hasRole(MINTER_ROLE, minter)
    assert token.minterAllowance(minter) == 0


def test_renounce_minter_role_zeroes_allowance(token, minter):
    assert token.minterAllowance(minter) > 0
    receipt = token.renounceRole(MINTER_ROLE, minter, sender=minter)
    assert events(receipt) == [
        ev("RoleRevoked", role=MINTER_ROLE, account=minter, sender=minter),
        ev("MinterRemoved", minter=minter),
    ]
    assert not token.hasRole(MINTER_ROLE, minter)
    assert token.minterAllowance(minter) == 0


def test_revoking_minter_role_not_held_emits_nothing(token, minter_admin, minter, carol):
    receipt = token.revokeRole(MINTER_ROLE, carol, sender=minter_admin)
    assert events(receipt) == []
    receipt = token.renounceRole(MINTER_ROLE, carol, sender=carol)
    assert events(receipt) == []
    assert token.minterAllowance(minter) == MINTER_ALLOWANCE - 2 * INITIAL


def test_losing_another_role_keeps_minter_allowance(token, admin, minter):
    pauser_role = role_id("PAUSER_ROLE")
    allowance = token.minterAllowance(minter)
    token.grantRole(pauser_role, minter, sender=admin)
    receipt = token.revokeRole(pauser_role, minter, sender=admin)
    assert events(receipt) == [ev("RoleRevoked", role=pauser_role, account=minter, sender=admin)]
    token.grantRole(pauser_role, minter, sender=admin)
    receipt = token.renounceRole(pauser_role, minter, sender=minter)
    assert events(receipt) == [ev("RoleRevoked", role=pauser_role, account=minter, sender=minter)]
    assert token.minterAllowance(minter) == allowance
    assert token.hasRole(MINTER_ROLE, minter)


@pytest.mark.parametrize("how", ["removeMinter", "revokeRole", "renounceRole"])
def test_regranted_minter_role_does_not_revive_old_allowance(token, minter_admin, minter, alice, how):
    if how == "removeMinter":
        token.removeMinter(minter, sender=minter_admin)
    elif how == "revokeRole":
        token.revokeRole(MINTER_ROLE, minter, sender=minter_admin)
    else:
        token.renounceRole(MINTER_ROLE, minter, sender=minter)
    token.grantRole(MINTER_ROLE, minter, sender=minter_admin)
    assert token.hasRole(MINTER_ROLE, minter)
    assert token.minterAllowance(minter) == 0
    with reverts(token.MinterAllowanceExceeded, minter=minter, allowance=0, amount=1):
        token.mint(alice, 1, ref("revived?"), sender=minter)


def test_removed_then_reconfigured_minter_starts_from_new_allowance(token, minter_admin, minter, alice):
    token.removeMinter(minter, sender=minter_admin)
    token.configureMinter(minter, 50, sender=minter_admin)
    assert token.minterAllowance(minter) == 50
    token.mint(alice, 50, ref("again"), sender=minter)
    assert token.minterAllowance(minter) == 0


def test_two_minters_have_separate_allowances(token, minter_admin, minter, carol, alice):
    token.configureMinter(carol, 100, sender=minter_admin)
    before = token.minterAllowance(minter)
    token.mint(alice, 60, ref("carol-1"), sender=carol)
    assert token.minterAllowance(carol) == 40
    assert token.minterAllowance(minter) == before
    with reverts(token.DepositReferenceUsed, depositRef=ref("carol-1")):
        token.mint(alice, 1, ref("carol-1"), sender=minter)  # references are global


# ------------------------------------------------------------------ mint


def test_initial_mints(token, alice, bob, minter):
    assert token.balanceOf(alice) == INITIAL
    assert token.balanceOf(bob) == INITIAL
    assert token.minterAllowance(minter) == MINTER_ALLOWANCE - 2 * INITIAL
    assert token.isDepositRefUsed(b"\x01" * 32) and token.isDepositRefUsed(b"\x02" * 32)


def test_mint(token, minter, carol):
    r = ref("deposit-1")
    assert not token.isDepositRefUsed(r)
    allowance = token.minterAllowance(minter)
    supply = token.totalSupply()
    receipt = token.mint(carol, 12_345, r, sender=minter)
    assert events(receipt) == [
        ev("Transfer", **{"from": ZERO_ADDRESS, "to": carol, "value": 12_345}),
        ev("Minted", minter=minter, to=carol, amount=12_345, depositRef=r),
    ]
    assert token.balanceOf(carol) == 12_345
    assert token.totalSupply() == supply + 12_345
    assert token.minterAllowance(minter) == allowance - 12_345
    assert token.isDepositRefUsed(r)


def test_mint_to_treasury(token, minter):
    token.mint(minter, 5, ref("own"), sender=minter)
    assert token.balanceOf(minter) == 5


def test_deposit_reference_replay(token, minter, alice, bob):
    r = ref("deposit-2")
    token.mint(alice, 100, r, sender=minter)
    allowance = token.minterAllowance(minter)
    with reverts(token.DepositReferenceUsed, depositRef=r):
        token.mint(alice, 100, r, sender=minter)
    with reverts(token.DepositReferenceUsed, depositRef=r):
        token.mint(bob, 1, r, sender=minter)  # other recipient, other amount
    assert token.minterAllowance(minter) == allowance
    assert token.balanceOf(alice) == INITIAL + 100


def test_initial_references_cannot_be_replayed(token, minter, alice):
    with reverts(token.DepositReferenceUsed, depositRef=b"\x01" * 32):
        token.mint(alice, 1, b"\x01" * 32, sender=minter)


def test_mint_zero_reference(token, minter, alice):
    with reverts(token.InvalidReference):
        token.mint(alice, 1, ZERO_REF, sender=minter)


def test_mint_zero_amount(token, minter, alice):
    with reverts(token.InvalidAmount):
        token.mint(alice, 0, ref("zero"), sender=minter)
    assert not token.isDepositRefUsed(ref("zero"))


def test_mint_to_zero_address(token, minter):
    with reverts(token.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        token.mint(ZERO_ADDRESS, 1, ref("to-zero"), sender=minter)
    assert not token.isDepositRefUsed(ref("to-zero"))


def test_failed_mint_does_not_use_reference(token, minter, outsider, alice):
    r = ref("failed")
    with reverts(token.ERC7943CannotReceive, account=outsider):
        token.mint(outsider, 1, r, sender=minter)
    assert not token.isDepositRefUsed(r)
    token.mint(alice, 1, r, sender=minter)  # still usable
    assert token.isDepositRefUsed(r)


def test_minter_allowance_exceeded(token, minter_admin, minter, alice):
    token.configureMinter(minter, 1000, sender=minter_admin)
    with reverts(token.MinterAllowanceExceeded, minter=minter, allowance=1000, amount=1001):
        token.mint(alice, 1001, ref("too-much"), sender=minter)
    assert token.minterAllowance(minter) == 1000
    token.mint(alice, 400, ref("a"), sender=minter)
    assert token.minterAllowance(minter) == 600
    token.mint(alice, 600, ref("b"), sender=minter)  # exactly the rest
    assert token.minterAllowance(minter) == 0
    with reverts(token.MinterAllowanceExceeded, minter=minter, allowance=0, amount=1):
        token.mint(alice, 1, ref("c"), sender=minter)
    assert token.balanceOf(alice) == INITIAL + 1000


def test_minter_with_role_but_no_allowance(token, minter_admin, carol, alice):
    """A minter granted by grantRole alone has no allowance."""
    token.grantRole(MINTER_ROLE, carol, sender=minter_admin)
    assert token.minterAllowance(carol) == 0
    with reverts(token.MinterAllowanceExceeded, minter=carol, allowance=0, amount=1):
        token.mint(alice, 1, ref("no-allowance"), sender=carol)


# ------------------------------------------------------------------ supply cap


@pytest.fixture
def unlimited_minter(token, minter_admin, minter):
    token.configureMinter(minter, MAX_UINT256, sender=minter_admin)
    return minter


def test_supply_cap_reached_exactly(token, unlimited_minter, carol, alice, bob):
    room = MAX_UINT128 - token.totalSupply()
    token.mint(carol, room, ref("cap"), sender=unlimited_minter)
    assert token.totalSupply() == MAX_UINT128
    assert token.balanceOf(carol) == room
    with reverts(token.SupplyCapExceeded, amount=1):
        token.mint(alice, 1, ref("cap+1"), sender=unlimited_minter)
    # balances at the cap stay consistent (packed words do not overflow into the expiry bits)
    token.transfer(alice, room, sender=carol)
    assert token.balanceOf(alice) == INITIAL + room
    assert token.balanceOf(carol) == 0
    assert token.allowlistExpiry(alice) == token.allowlistExpiry(bob)
    assert token.canSend(alice)
    token.redeem(room, ref("cap-redeem"), sender=alice)
    assert token.totalSupply() == 2 * INITIAL


@pytest.mark.parametrize("excess", [1, 2**128, MAX_UINT256 - 2**128])
def test_supply_cap_exceeded(token, unlimited_minter, carol, excess):
    amount = MAX_UINT128 - token.totalSupply() + excess
    with reverts(token.SupplyCapExceeded, amount=amount):
        token.mint(carol, amount, ref("over"), sender=unlimited_minter)


def test_supply_cap_exceeded_with_max_uint256(token, unlimited_minter, carol):
    with reverts(token.SupplyCapExceeded, amount=MAX_UINT256):
        token.mint(carol, MAX_UINT256, ref("max"), sender=unlimited_minter)
    assert token.minterAllowance(unlimited_minter) == MAX_UINT256


def test_single_balance_at_cap(token, unlimited_minter, alice, bob, carol):
    """The largest possible balance keeps its allowlist expiry and flags intact."""
    token.redeem(INITIAL, ref("r-a"), sender=alice)
    token.redeem(INITIAL, ref("r-b"), sender=bob)
    expiry = token.allowlistExpiry(carol)
    token.mint(carol, MAX_UINT128, ref("all"), sender=unlimited_minter)
    assert token.balanceOf(carol) == MAX_UINT128
    assert token.allowlistExpiry(carol) == expiry
    assert not token.isFrozen(carol)
    assert token.getFrozenTokens(carol) == 0


# ------------------------------------------------------------------ redeem


def test_redeem(token, alice, bob):
    r = ref("payout-1")
    supply = token.totalSupply()
    receipt = token.redeem(250_000, r, sender=alice)
    assert events(receipt) == [
        ev("Transfer", **{"from": alice, "to": ZERO_ADDRESS, "value": 250_000}),
        ev("Redeemed", account=alice, amount=250_000, payoutRef=r),
    ]
    assert token.balanceOf(alice) == INITIAL - 250_000
    assert token.totalSupply() == supply - 250_000
    assert token.isPayoutRefUsed(alice, r)
    assert not token.isPayoutRefUsed(bob, r)  # per holder


def test_redeem_whole_balance(token, alice):
    token.redeem(INITIAL, ref("all"), sender=alice)
    assert token.balanceOf(alice) == 0
    assert token.totalSupply() == INITIAL


def test_payout_reference_once_per_holder(token, alice, bob):
    r = ref("payout-2")
    token.redeem(1, r, sender=alice)
    with reverts(token.PayoutReferenceUsed, account=alice, payoutRef=r):
        token.redeem(1, r, sender=alice)
    with reverts(token.PayoutReferenceUsed, account=alice, payoutRef=r):
        token.redeem(7, r, sender=alice)  # other amount
    assert token.balanceOf(alice) == INITIAL - 1
    # another holder may use the same reference, once
    assert not token.isPayoutRefUsed(bob, r)
    receipt = token.redeem(5, r, sender=bob)
    assert events(receipt)[-1] == ev("Redeemed", account=bob, amount=5, payoutRef=r)
    assert token.isPayoutRefUsed(bob, r)
    with reverts(token.PayoutReferenceUsed, account=bob, payoutRef=r):
        token.redeem(5, r, sender=bob)
    assert token.balanceOf(bob) == INITIAL - 5


def test_another_holder_using_my_payout_reference_first_does_not_block_me(token, alice, bob):
    """The griefing case: bob sees alice's payout reference (e.g. in a pending transaction) and
    redeems 1 unit under it first; alice's redemption under it still goes through."""
    r = ref("alice-payout")
    token.redeem(1, r, sender=bob)
    assert token.isPayoutRefUsed(bob, r)
    assert not token.isPayoutRefUsed(alice, r)
    receipt = token.redeem(400_000, r, sender=alice)
    assert events(receipt) == [
        ev("Transfer", **{"from": alice, "to": ZERO_ADDRESS, "value": 400_000}),
        ev("Redeemed", account=alice, amount=400_000, payoutRef=r),
    ]
    assert token.balanceOf(alice) == INITIAL - 400_000
    assert token.isPayoutRefUsed(alice, r)


def test_payout_and_deposit_references_are_separate(token, alice, minter):
    r = ref("shared")
    token.mint(alice, 10, r, sender=minter)
    token.redeem(10, r, sender=alice)
    assert token.isDepositRefUsed(r) and token.isPayoutRefUsed(alice, r)


def test_redeem_zero_reference(token, alice):
    with reverts(token.InvalidReference):
        token.redeem(1, ZERO_REF, sender=alice)


def test_redeem_zero_amount(token, alice):
    with reverts(token.InvalidAmount):
        token.redeem(0, ref("zero"), sender=alice)


def test_redeem_above_balance(token, alice):
    with reverts(token.ERC20InsufficientBalance, sender=alice, balance=INITIAL, needed=INITIAL + 1):
        token.redeem(INITIAL + 1, ref("too-much"), sender=alice)
    assert not token.isPayoutRefUsed(alice, ref("too-much"))


def test_redeem_from_empty_account(token, carol):
    with reverts(token.ERC20InsufficientBalance, sender=carol, balance=0, needed=1):
        token.redeem(1, ref("empty"), sender=carol)


def test_redeem_respects_lien(token, legal, alice):
    token.setFrozenTokens(alice, 700_000, sender=legal)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=300_001, unfrozen=300_000):
        token.redeem(300_001, ref("lien"), sender=alice)
    assert not token.isPayoutRefUsed(alice, ref("lien"))
    token.redeem(300_000, ref("lien"), sender=alice)
    assert token.balanceOf(alice) == 700_000
    assert token.getFrozenTokens(alice) == 700_000  # a redemption releases nothing


def test_redeem_by_expired_account(token, alice, chain):
    set_time(chain, token.allowlistExpiry(alice))
    with reverts(token.ERC7943CannotSend, account=alice):
        token.redeem(1, ref("expired"), sender=alice)


# ------------------------------------------------------------------ bank burn


def test_bank_burn(token, minter, treasury_funds):
    r = ref("burn-1")
    supply = token.totalSupply()
    receipt = token.burn(40_000, r, sender=minter)
    assert events(receipt) == [
        ev("Transfer", **{"from": minter, "to": ZERO_ADDRESS, "value": 40_000}),
        ev("Burned", account=minter, amount=40_000, burnRef=r),
    ]
    assert token.balanceOf(minter) == treasury_funds - 40_000
    assert token.totalSupply() == supply - 40_000


def test_bank_burn_zero_amount(token, minter, treasury_funds):
    with reverts(token.InvalidAmount):
        token.burn(0, ref("b"), sender=minter)


def test_bank_burn_above_holdings(token, minter, treasury_funds):
    with reverts(token.ERC20InsufficientBalance, sender=minter, balance=treasury_funds, needed=treasury_funds + 1):
        token.burn(treasury_funds + 1, ref("b"), sender=minter)


def test_bank_burn_only_burns_own_holdings(token, minter_admin, alice, minter):
    """A minter without holdings cannot burn anybody else's tokens."""
    with reverts(token.ERC20InsufficientBalance, sender=minter, balance=0, needed=1):
        token.burn(1, ref("b"), sender=minter)
    assert token.balanceOf(alice) == INITIAL


def test_bank_burn_does_not_touch_minter_allowance(token, minter, treasury_funds):
    allowance = token.minterAllowance(minter)
    token.burn(treasury_funds, ref("b"), sender=minter)
    assert token.minterAllowance(minter) == allowance


@pytest.mark.parametrize("how", ["removed", "expired", "expired_and_paused"])
def test_bank_burn_not_blocked_by_allowlist_or_pause(token, chain, compliance, pauser, minter, treasury_funds, how):
    if how == "removed":
        token.removeFromAllowlist(minter, sender=compliance)
        assert token.allowlistExpiry(minter) == 0
    else:
        set_time(chain, token.allowlistExpiry(minter) + 1)
        if how == "expired_and_paused":
            token.pause(sender=pauser)
    assert not token.canSend(minter)
    receipt = token.burn(treasury_funds, ref("restricted"), sender=minter)
    assert events(receipt) == [
        ev("Transfer", **{"from": minter, "to": ZERO_ADDRESS, "value": treasury_funds}),
        ev("Burned", account=minter, amount=treasury_funds, burnRef=ref("restricted")),
    ]
    assert token.balanceOf(minter) == 0


def test_bank_burn_by_never_listed_minter_checks_only_its_balance(token, chain, minter_admin, outsider):
    """A minter address that never had an allowlist entry (it cannot hold tokens: nothing can be
    sent to it) fails on its balance, not on the allowlist."""
    chain.set_balance(outsider, 10**18)
    token.configureMinter(outsider, 0, sender=minter_admin)
    assert token.allowlistExpiry(outsider) == 0
    with reverts(token.ERC20InsufficientBalance, sender=outsider, balance=0, needed=1):
        token.burn(1, ref("never"), sender=outsider)


def test_bank_burn_by_frozen_minter_reverts(token, compliance, minter, treasury_funds):
    token.freezeAccount(minter, sender=compliance)
    with reverts(token.ERC7943CannotSend, account=minter):
        token.burn(treasury_funds, ref("frozen"), sender=minter)
    with reverts(token.ERC7943CannotSend, account=minter):  # the freeze is checked before the balance
        token.burn(treasury_funds + 1, ref("frozen"), sender=minter)
    assert token.balanceOf(minter) == treasury_funds
    assert not token.isBurnRefUsed(ref("frozen"))
    token.unfreezeAccount(minter, sender=compliance)
    token.burn(treasury_funds, ref("frozen"), sender=minter)
    assert token.balanceOf(minter) == 0


def test_bank_burn_by_frozen_minter_reverts_while_paused(token, compliance, pauser, minter, treasury_funds):
    token.freezeAccount(minter, sender=compliance)
    token.pause(sender=pauser)
    with reverts(token.ERC7943CannotSend, account=minter):
        token.burn(1, ref("frozen-paused"), sender=minter)


def test_bank_burn_cannot_reach_into_frozen_amount(token, legal, minter, treasury_funds):
    token.setFrozenTokens(minter, 80_000, sender=legal)  # 20,000 unfrozen
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=minter, amount=20_001, unfrozen=20_000):
        token.burn(20_001, ref("b1"), sender=minter)
    assert not token.isBurnRefUsed(ref("b1"))
    assert token.balanceOf(minter) == treasury_funds
    receipt = token.burn(20_000, ref("b1"), sender=minter)  # exactly the unfrozen part
    assert events(receipt) == [  # no Frozen event: nothing is released
        ev("Transfer", **{"from": minter, "to": ZERO_ADDRESS, "value": 20_000}),
        ev("Burned", account=minter, amount=20_000, burnRef=ref("b1")),
    ]
    assert token.getFrozenTokens(minter) == 80_000
    assert token.balanceOf(minter) == 80_000
    assert token.unfrozenBalanceOf(minter) == 0


def test_bank_burn_within_unfrozen_releases_nothing(token, legal, minter, treasury_funds):
    token.setFrozenTokens(minter, 60_000, sender=legal)
    receipt = token.burn(40_000, ref("b2"), sender=minter)
    assert [name for name, _ in events(receipt)] == ["Transfer", "Burned"]
    assert token.getFrozenTokens(minter) == 60_000


def test_bank_burn_of_fully_frozen_holdings_needs_the_lien_lifted(token, legal, minter, treasury_funds):
    token.setFrozenTokens(minter, treasury_funds, sender=legal)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=minter, amount=treasury_funds, unfrozen=0):
        token.burn(treasury_funds, ref("b3"), sender=minter)
    assert token.getFrozenTokens(minter) == treasury_funds
    token.setFrozenTokens(minter, 0, sender=legal)  # legal lifts the lien
    receipt = token.burn(treasury_funds, ref("b3"), sender=minter)
    assert [name for name, _ in events(receipt)] == ["Transfer", "Burned"]
    assert token.balanceOf(minter) == 0


def test_bank_burn_with_frozen_amount_above_balance(token, legal, minter, treasury_funds):
    """A lien above the balance leaves nothing unfrozen: no burn, and the lien is untouched."""
    token.setFrozenTokens(minter, 3 * treasury_funds, sender=legal)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=minter, amount=1, unfrozen=0):
        token.burn(1, ref("b4"), sender=minter)
    assert token.getFrozenTokens(minter) == 3 * treasury_funds
    assert token.balanceOf(minter) == treasury_funds


def test_bank_burn_with_lien_while_paused_and_removed(token, compliance, legal, pauser, minter, treasury_funds):
    """Pause and a missing allowlist entry do not lift the lien check."""
    token.setFrozenTokens(minter, 90_000, sender=legal)
    token.removeFromAllowlist(minter, sender=compliance)
    token.pause(sender=pauser)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=minter, amount=10_001, unfrozen=10_000):
        token.burn(10_001, ref("b5"), sender=minter)
    token.burn(10_000, ref("b5"), sender=minter)
    assert token.balanceOf(minter) == 90_000 == token.getFrozenTokens(minter)


def test_bank_burn_ref_is_used_once(token, minter, treasury_funds):
    assert not token.isBurnRefUsed(ref("same"))
    token.burn(1, ref("same"), sender=minter)
    assert token.isBurnRefUsed(ref("same"))
    with reverts(token.BurnReferenceUsed, burnRef=ref("same")):
        token.burn(1, ref("same"), sender=minter)
    with reverts(token.InvalidReference):
        token.burn(1, b"\x00" * 32, sender=minter)


def test_mint_redeem_burn_cycle_keeps_supply_equal_to_balances(token, minter, alice, bob, carol):
    token.mint(carol, 500, ref("c1"), sender=minter)
    token.transfer(minter, 200, sender=carol)
    token.redeem(100, ref("p1"), sender=carol)
    token.burn(150, ref("x1"), sender=minter)
    total = sum(token.balanceOf(a) for a in (minter, alice, bob, carol))
    assert total == token.totalSupply() == 2 * INITIAL + 500 - 100 - 150


def test_expired_year_mint(token, minter, alice, chain):
    """After the allowlist expiry the recipient cannot be minted to."""
    set_time(chain, token.allowlistExpiry(alice) + YEAR)
    with reverts(token.ERC7943CannotReceive, account=alice):
        token.mint(alice, 1, ref("late"), sender=minter)
