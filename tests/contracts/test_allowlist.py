"""The allowlist (with KYC expiry), whole-account freezes and ERC-7943 frozen amounts, on every
path that moves tokens, and the ERC-7943 views."""

from __future__ import annotations

import pytest

from helpers import (
    INITIAL,
    MAX_UINT256,
    YEAR,
    ZERO_ADDRESS,
    ev,
    events,
    ref,
    reverts,
    set_time,
)

# How an account can be unable to send or receive: never allowlisted, removed from the allowlist,
# its entry expired, or frozen as a whole (while still allowlisted).
RESTRICTIONS = ["removed", "expired", "frozen"]
RECEIVER_RESTRICTIONS = ["never", *RESTRICTIONS]


def _now(chain) -> int:
    return chain.blocks.head.timestamp


def restrict(token, chain, compliance, account, how: str) -> None:
    """Makes `account` inactive in the way `how`; other accounts (a year of allowlisting) stay active."""
    if how == "removed":
        token.removeFromAllowlist(account, sender=compliance)
    elif how == "expired":
        expiry = _now(chain) + 1000
        token.allowlist(account, expiry, sender=compliance)
        set_time(chain, expiry)
    elif how == "frozen":
        token.freezeAccount(account, sender=compliance)
    else:
        raise AssertionError(how)
    assert not token.canSend(account)
    assert not token.canReceive(account)


@pytest.fixture
def funded_outsider(outsider, chain):
    chain.set_balance(outsider, 10**18)
    return outsider


def receiver_for(how, token, chain, compliance, carol, outsider):
    if how == "never":
        assert token.allowlistExpiry(outsider) == 0
        return outsider
    restrict(token, chain, compliance, carol, how)
    return carol


# ------------------------------------------------------------------ allowlist management


def test_initial_allowlist_state(token, alice, bob, carol, minter, outsider, chain):
    for a in (alice, bob, carol, minter):
        assert token.isAllowlisted(a)
        assert token.allowlistExpiry(a) > _now(chain)
        assert token.canSend(a) and token.canReceive(a)
    assert not token.isAllowlisted(outsider)
    assert token.allowlistExpiry(outsider) == 0
    assert not token.canSend(outsider) and not token.canReceive(outsider)
    assert not token.canSend(ZERO_ADDRESS) and not token.canReceive(ZERO_ADDRESS)


def test_allowlist_adds_and_emits(token, compliance, outsider, chain):
    expiry = _now(chain) + YEAR
    receipt = token.allowlist(outsider, expiry, sender=compliance)
    assert events(receipt) == [ev("AllowlistUpdated", account=outsider, kycExpiry=expiry)]
    assert token.allowlistExpiry(outsider) == expiry
    assert token.isAllowlisted(outsider)
    assert token.canSend(outsider) and token.canReceive(outsider)


def test_allowlisted_newcomer_can_receive_and_send(token, compliance, funded_outsider, alice, chain):
    token.allowlist(funded_outsider, _now(chain) + YEAR, sender=compliance)
    token.transfer(funded_outsider, 100, sender=alice)
    token.transfer(alice, 40, sender=funded_outsider)
    assert token.balanceOf(funded_outsider) == 60


def test_allowlist_does_not_touch_balance_or_flags(token, compliance, alice, legal, chain):
    token.setFrozenTokens(alice, 10, sender=legal)
    token.freezeAccount(alice, sender=compliance)
    token.allowlist(alice, _now(chain) + 2 * YEAR, sender=compliance)
    assert token.balanceOf(alice) == INITIAL
    assert token.isFrozen(alice)
    assert token.getFrozenTokens(alice) == 10


def test_allowlist_zero_expiry(token, compliance, outsider):
    with reverts(token.AllowlistExpiryZero, account=outsider):
        token.allowlist(outsider, 0, sender=compliance)


def test_allowlist_expiry_in_past(token, compliance, outsider, chain):
    past = _now(chain) - 10
    with reverts(token.AllowlistExpiryInPast, account=outsider, kycExpiry=past):
        token.allowlist(outsider, past, sender=compliance)


def test_allowlist_expiry_now_is_in_past(token, compliance, outsider, chain):
    t = _now(chain) + 500
    chain.pending_timestamp = t  # the transaction runs at t
    with reverts(token.AllowlistExpiryInPast, account=outsider, kycExpiry=t):
        token.allowlist(outsider, t, sender=compliance)


def test_allowlist_expiry_one_second_ahead(token, compliance, outsider, chain):
    t = _now(chain) + 500
    chain.pending_timestamp = t
    token.allowlist(outsider, t + 1, sender=compliance)
    assert token.allowlistExpiry(outsider) == t + 1


def test_allowlist_max_expiry(token, compliance, outsider):
    token.allowlist(outsider, 2**64 - 1, sender=compliance)
    assert token.allowlistExpiry(outsider) == 2**64 - 1
    assert token.isAllowlisted(outsider)


def test_allowlist_zero_address(token, compliance, chain):
    with reverts(token.InvalidAccount, account=ZERO_ADDRESS):
        token.allowlist(ZERO_ADDRESS, _now(chain) + YEAR, sender=compliance)


def test_remove_from_allowlist(token, compliance, alice):
    receipt = token.removeFromAllowlist(alice, sender=compliance)
    assert events(receipt) == [ev("AllowlistUpdated", account=alice, kycExpiry=0)]
    assert token.allowlistExpiry(alice) == 0
    assert not token.isAllowlisted(alice)
    assert token.balanceOf(alice) == INITIAL  # balance stays, immobile
    assert not token.canSend(alice) and not token.canReceive(alice)


def test_remove_zero_address(token, compliance):
    with reverts(token.InvalidAccount, account=ZERO_ADDRESS):
        token.removeFromAllowlist(ZERO_ADDRESS, sender=compliance)


def test_removed_account_reallowlisted_can_send_again(token, compliance, alice, bob, chain):
    token.removeFromAllowlist(alice, sender=compliance)
    with reverts(token.ERC7943CannotSend, account=alice):
        token.transfer(bob, 1, sender=alice)
    token.allowlist(alice, _now(chain) + YEAR, sender=compliance)
    token.transfer(bob, 1, sender=alice)
    assert token.balanceOf(bob) == INITIAL + 1


# ------------------------------------------------------------------ expiry


def test_expiry_boundary(token, compliance, alice, bob, chain):
    expiry = _now(chain) + 1000
    token.allowlist(alice, expiry, sender=compliance)
    set_time(chain, expiry - 1)
    assert token.isAllowlisted(alice) and token.canSend(alice)
    set_time(chain, expiry)
    assert not token.isAllowlisted(alice)
    assert not token.canSend(alice) and not token.canReceive(alice)
    assert token.allowlistExpiry(alice) == expiry  # the entry is still there, just expired
    with reverts(token.ERC7943CannotSend, account=alice):
        token.transfer(bob, 1, sender=alice)


def test_transfer_in_last_second_before_expiry(token, compliance, alice, bob, chain):
    expiry = _now(chain) + 1000
    token.allowlist(alice, expiry, sender=compliance)
    chain.pending_timestamp = expiry - 1
    receipt = token.transfer(bob, 5, sender=alice)
    assert chain.blocks[receipt.block_number].timestamp == expiry - 1
    assert token.balanceOf(bob) == INITIAL + 5


def test_everybody_expires_after_a_year(token, alice, bob, chain):
    set_time(chain, token.allowlistExpiry(alice) + 1)
    with reverts(token.ERC7943CannotSend, account=alice):
        token.transfer(bob, 1, sender=alice)


def test_renewal_after_expiry(token, compliance, alice, bob, chain):
    expiry = _now(chain) + 1000
    token.allowlist(alice, expiry, sender=compliance)
    set_time(chain, expiry + 50)
    assert not token.canSend(alice)
    new_expiry = expiry + YEAR
    receipt = token.allowlist(alice, new_expiry, sender=compliance)
    assert events(receipt) == [ev("AllowlistUpdated", account=alice, kycExpiry=new_expiry)]
    assert token.canSend(alice) and token.isAllowlisted(alice)
    token.transfer(bob, 7, sender=alice)
    assert token.balanceOf(alice) == INITIAL - 7


def test_renewal_before_expiry_extends(token, compliance, alice, bob, chain):
    old = token.allowlistExpiry(alice)
    assert token.allowlistExpiry(bob) == old  # both listed by the same batch
    token.allowlistBatch([alice, bob], [old + YEAR, old + YEAR], sender=compliance)
    set_time(chain, old + 10)
    token.transfer(bob, 1, sender=alice)
    assert token.balanceOf(bob) == INITIAL + 1


def test_renewal_can_shorten(token, compliance, alice, chain):
    short = _now(chain) + 100
    token.allowlist(alice, short, sender=compliance)
    assert token.allowlistExpiry(alice) == short
    set_time(chain, short)
    assert not token.canSend(alice)


# ------------------------------------------------------------------ batches


def test_allowlist_batch(token, compliance, outsider, accounts, chain):
    others = [outsider, accounts.generate_test_account(), accounts.generate_test_account()]
    now = _now(chain)
    expiries = [now + 100, now + 200, now + 300]
    receipt = token.allowlistBatch(others, expiries, sender=compliance)
    assert events(receipt) == [
        ev("AllowlistUpdated", account=a, kycExpiry=e) for a, e in zip(others, expiries)
    ]
    for a, e in zip(others, expiries):
        assert token.allowlistExpiry(a) == e


def test_allowlist_batch_empty(token, compliance):
    receipt = token.allowlistBatch([], [], sender=compliance)
    assert events(receipt) == []


@pytest.mark.parametrize("n_accounts, n_expiries", [(2, 1), (1, 2), (0, 1), (3, 0)])
def test_allowlist_batch_length_mismatch(token, compliance, accounts, chain, n_accounts, n_expiries):
    addrs = [accounts.generate_test_account() for _ in range(n_accounts)]
    with reverts(token.ArrayLengthMismatch, left=n_accounts, right=n_expiries):
        token.allowlistBatch(addrs, [_now(chain) + YEAR] * n_expiries, sender=compliance)


def test_allowlist_batch_zero_expiry_reverts_whole_batch(token, compliance, outsider, accounts, chain):
    other = accounts.generate_test_account()
    with reverts(token.AllowlistExpiryZero, account=other):
        token.allowlistBatch([outsider, other], [_now(chain) + YEAR, 0], sender=compliance)
    assert token.allowlistExpiry(outsider) == 0  # atomic


def test_allowlist_batch_past_expiry(token, compliance, outsider, chain):
    past = _now(chain) - 1
    with reverts(token.AllowlistExpiryInPast, account=outsider, kycExpiry=past):
        token.allowlistBatch([outsider], [past], sender=compliance)


def test_allowlist_batch_zero_address(token, compliance, outsider, chain):
    with reverts(token.InvalidAccount, account=ZERO_ADDRESS):
        token.allowlistBatch([outsider, ZERO_ADDRESS], [_now(chain) + YEAR] * 2, sender=compliance)
    assert token.allowlistExpiry(outsider) == 0


def test_remove_from_allowlist_batch(token, compliance, alice, bob, carol):
    receipt = token.removeFromAllowlistBatch([alice, bob], sender=compliance)
    assert events(receipt) == [
        ev("AllowlistUpdated", account=alice, kycExpiry=0),
        ev("AllowlistUpdated", account=bob, kycExpiry=0),
    ]
    assert token.allowlistExpiry(alice) == 0 and token.allowlistExpiry(bob) == 0
    assert token.isAllowlisted(carol)
    assert token.balanceOf(alice) == INITIAL and token.balanceOf(bob) == INITIAL


def test_remove_from_allowlist_batch_zero_address(token, compliance, alice):
    with reverts(token.InvalidAccount, account=ZERO_ADDRESS):
        token.removeFromAllowlistBatch([alice, ZERO_ADDRESS], sender=compliance)
    assert token.isAllowlisted(alice)


# ------------------------------------------------------------------ every path: mint


@pytest.mark.parametrize("how", RECEIVER_RESTRICTIONS)
def test_mint_to_inactive_reverts(token, chain, compliance, minter, carol, outsider, how):
    to = receiver_for(how, token, chain, compliance, carol, outsider)
    allowance = token.minterAllowance(minter)
    with reverts(token.ERC7943CannotReceive, account=to):
        token.mint(to, 100, ref("mint-inactive"), sender=minter)
    assert token.balanceOf(to) == 0
    assert not token.isDepositRefUsed(ref("mint-inactive"))
    assert token.minterAllowance(minter) == allowance


# ------------------------------------------------------------------ every path: transfer


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_transfer_from_inactive_sender_reverts(token, chain, compliance, alice, bob, how):
    restrict(token, chain, compliance, alice, how)
    with reverts(token.ERC7943CannotSend, account=alice):
        token.transfer(bob, 1, sender=alice)
    assert token.balanceOf(alice) == INITIAL


@pytest.mark.parametrize("how", RECEIVER_RESTRICTIONS)
def test_transfer_to_inactive_receiver_reverts(token, chain, compliance, alice, carol, outsider, how):
    to = receiver_for(how, token, chain, compliance, carol, outsider)
    with reverts(token.ERC7943CannotReceive, account=to):
        token.transfer(to, 1, sender=alice)
    assert token.balanceOf(alice) == INITIAL


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_self_transfer_of_inactive_reverts(token, chain, compliance, alice, how):
    restrict(token, chain, compliance, alice, how)
    with reverts(token.ERC7943CannotSend, account=alice):
        token.transfer(alice, 1, sender=alice)


# ------------------------------------------------------------------ every path: transferFrom


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_transfer_from_with_inactive_owner_reverts(token, chain, compliance, alice, bob, carol, how):
    token.approve(carol, 100, sender=alice)
    restrict(token, chain, compliance, alice, how)
    with reverts(token.ERC7943CannotSend, account=alice):
        token.transferFrom(alice, bob, 100, sender=carol)
    assert token.allowance(alice, carol) == 100


@pytest.mark.parametrize("how", RECEIVER_RESTRICTIONS)
def test_transfer_from_to_inactive_receiver_reverts(token, chain, compliance, alice, bob, carol, outsider, how):
    # spender bob, receiver carol (restricted) or outsider
    token.approve(bob, 100, sender=alice)
    to = receiver_for(how, token, chain, compliance, carol, outsider)
    with reverts(token.ERC7943CannotReceive, account=to):
        token.transferFrom(alice, to, 100, sender=bob)
    assert token.allowance(alice, bob) == 100


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_transfer_from_by_inactive_spender_reverts(token, chain, compliance, alice, bob, carol, how):
    token.approve(carol, 100, sender=alice)
    restrict(token, chain, compliance, carol, how)
    with reverts(token.SpenderNotAllowed, spender=carol):
        token.transferFrom(alice, bob, 100, sender=carol)
    assert token.allowance(alice, carol) == 100
    assert token.balanceOf(alice) == INITIAL


def test_transfer_from_by_never_allowlisted_spender_reverts(token, alice, bob, funded_outsider):
    token.approve(funded_outsider, MAX_UINT256, sender=alice)
    with reverts(token.SpenderNotAllowed, spender=funded_outsider):
        token.transferFrom(alice, bob, 1, sender=funded_outsider)


def test_transfer_from_spender_to_itself_needs_spender_active(token, chain, compliance, alice, carol):
    token.approve(carol, 100, sender=alice)
    token.freezeAccount(carol, sender=compliance)
    with reverts(token.SpenderNotAllowed, spender=carol):
        token.transferFrom(alice, carol, 100, sender=carol)


# ------------------------------------------------------------------ every path: redeem


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_redeem_by_inactive_reverts(token, chain, compliance, alice, how):
    restrict(token, chain, compliance, alice, how)
    supply = token.totalSupply()
    with reverts(token.ERC7943CannotSend, account=alice):
        token.redeem(10, ref("payout-inactive"), sender=alice)
    assert token.totalSupply() == supply
    assert not token.isPayoutRefUsed(alice, ref("payout-inactive"))


def test_redeem_by_never_allowlisted(token, funded_outsider):
    with reverts(token.ERC7943CannotSend, account=funded_outsider):
        token.redeem(1, ref("p"), sender=funded_outsider)


# ------------------------------------------------------------------ every path: forced transfer destination


@pytest.mark.parametrize("how", RECEIVER_RESTRICTIONS)
def test_forced_transfer_to_inactive_reverts(token, chain, compliance, legal, alice, carol, outsider, how):
    to = receiver_for(how, token, chain, compliance, carol, outsider)
    with reverts(token.ERC7943CannotReceive, account=to):
        token.forcedTransfer(alice, to, 10, sender=legal)
    with reverts(token.ERC7943CannotReceive, account=to):
        token.seize(alice, to, 10, ref("order"), sender=legal)
    assert token.balanceOf(alice) == INITIAL


# ------------------------------------------------------------------ whole-account freeze


def test_freeze_account(token, compliance, alice):
    receipt = token.freezeAccount(alice, sender=compliance)
    assert events(receipt) == [ev("AccountFrozen", account=alice)]
    assert token.isFrozen(alice)
    assert token.isAllowlisted(alice)  # still listed, but inactive
    assert not token.canSend(alice) and not token.canReceive(alice)
    assert token.balanceOf(alice) == INITIAL
    assert token.getFrozenTokens(alice) == 0  # a whole-account freeze is not a frozen amount


def test_freeze_twice_reverts(token, compliance, alice):
    token.freezeAccount(alice, sender=compliance)
    with reverts(token.AccountAlreadyFrozen, account=alice):
        token.freezeAccount(alice, sender=compliance)


def test_unfreeze_not_frozen_reverts(token, compliance, alice):
    with reverts(token.AccountNotFrozen, account=alice):
        token.unfreezeAccount(alice, sender=compliance)


def test_unfreeze(token, compliance, alice, bob):
    token.freezeAccount(alice, sender=compliance)
    receipt = token.unfreezeAccount(alice, sender=compliance)
    assert events(receipt) == [ev("AccountUnfrozen", account=alice)]
    assert not token.isFrozen(alice)
    assert token.canSend(alice)
    token.transfer(bob, 3, sender=alice)
    assert token.balanceOf(bob) == INITIAL + 3
    with reverts(token.AccountNotFrozen, account=alice):
        token.unfreezeAccount(alice, sender=compliance)


@pytest.mark.parametrize("fn", ["freezeAccount", "unfreezeAccount"])
def test_freeze_zero_address(token, compliance, fn):
    with reverts(token.InvalidAccount, account=ZERO_ADDRESS):
        getattr(token, fn)(ZERO_ADDRESS, sender=compliance)


def test_freeze_non_allowlisted_account(token, compliance, outsider):
    token.freezeAccount(outsider, sender=compliance)
    assert token.isFrozen(outsider)
    assert token.allowlistExpiry(outsider) == 0


def test_frozen_account_can_neither_send_nor_receive(token, compliance, alice, bob, minter):
    token.freezeAccount(alice, sender=compliance)
    with reverts(token.ERC7943CannotSend, account=alice):
        token.transfer(bob, 1, sender=alice)
    with reverts(token.ERC7943CannotReceive, account=alice):
        token.transfer(alice, 1, sender=bob)
    with reverts(token.ERC7943CannotReceive, account=alice):
        token.mint(alice, 1, ref("frozen-mint"), sender=minter)


def test_frozen_then_allowlist_renewal_stays_frozen(token, compliance, alice, chain):
    token.freezeAccount(alice, sender=compliance)
    token.allowlist(alice, _now(chain) + 2 * YEAR, sender=compliance)
    assert token.isFrozen(alice) and not token.canSend(alice)


def test_removed_then_frozen_then_unfrozen_still_removed(token, compliance, alice):
    token.removeFromAllowlist(alice, sender=compliance)
    token.freezeAccount(alice, sender=compliance)
    token.unfreezeAccount(alice, sender=compliance)
    assert not token.canSend(alice)


# ------------------------------------------------------------------ frozen amounts (liens)


def test_set_frozen_tokens(token, legal, alice):
    receipt = token.setFrozenTokens(alice, 300_000, sender=legal)
    assert events(receipt) == [ev("Frozen", account=alice, amount=300_000)]
    assert token.getFrozenTokens(alice) == 300_000
    assert token.unfrozenBalanceOf(alice) == INITIAL - 300_000
    assert token.balanceOf(alice) == INITIAL
    assert token.canSend(alice)  # a lien does not stop the account


def test_set_frozen_tokens_returns_true(token, legal, alice):
    assert token.setFrozenTokens.call(alice, 1, sender=legal) is True


def test_set_frozen_tokens_zero_address(token, legal):
    with reverts(token.InvalidAccount, account=ZERO_ADDRESS):
        token.setFrozenTokens(ZERO_ADDRESS, 1, sender=legal)


def test_frozen_amount_may_exceed_balance(token, legal, alice, carol, outsider):
    token.setFrozenTokens(alice, 5 * INITIAL, sender=legal)
    assert token.getFrozenTokens(alice) == 5 * INITIAL
    assert token.unfrozenBalanceOf(alice) == 0
    token.setFrozenTokens(carol, MAX_UINT256, sender=legal)  # empty account
    assert token.getFrozenTokens(carol) == MAX_UINT256
    assert token.unfrozenBalanceOf(carol) == 0
    token.setFrozenTokens(outsider, 1, sender=legal)  # not allowlisted
    assert token.getFrozenTokens(outsider) == 1


def test_lien_limits_transfer(token, legal, alice, bob):
    token.setFrozenTokens(alice, 600_000, sender=legal)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=400_001, unfrozen=400_000):
        token.transfer(bob, 400_001, sender=alice)
    token.transfer(bob, 400_000, sender=alice)  # exactly the unfrozen part
    assert token.balanceOf(alice) == 600_000
    assert token.unfrozenBalanceOf(alice) == 0
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=1, unfrozen=0):
        token.transfer(bob, 1, sender=alice)


def test_lien_above_balance_blocks_everything(token, legal, alice, bob):
    token.setFrozenTokens(alice, INITIAL + 1, sender=legal)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=1, unfrozen=0):
        token.transfer(bob, 1, sender=alice)


def test_lien_applies_to_incoming_funds(token, legal, alice, bob):
    """A lien above the balance also covers tokens received later."""
    token.setFrozenTokens(alice, INITIAL + 500, sender=legal)
    token.transfer(alice, 800, sender=bob)  # receiving is not restricted by a lien
    assert token.unfrozenBalanceOf(alice) == 300
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=301, unfrozen=300):
        token.transfer(bob, 301, sender=alice)
    token.transfer(bob, 300, sender=alice)


def test_insufficient_balance_checked_before_lien(token, legal, alice, bob):
    token.setFrozenTokens(alice, 10, sender=legal)
    with reverts(token.ERC20InsufficientBalance, sender=alice, balance=INITIAL, needed=INITIAL + 1):
        token.transfer(bob, INITIAL + 1, sender=alice)


def test_lien_limits_transfer_from(token, legal, alice, bob, carol):
    token.approve(carol, MAX_UINT256, sender=alice)
    token.setFrozenTokens(alice, 999_000, sender=legal)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=1001, unfrozen=1000):
        token.transferFrom(alice, bob, 1001, sender=carol)
    token.transferFrom(alice, bob, 1000, sender=carol)
    assert token.balanceOf(alice) == 999_000


def test_lien_limits_redeem(token, legal, alice):
    token.setFrozenTokens(alice, 999_000, sender=legal)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=1001, unfrozen=1000):
        token.redeem(1001, ref("payout"), sender=alice)
    token.redeem(1000, ref("payout"), sender=alice)
    assert token.balanceOf(alice) == 999_000


def test_lien_limits_self_transfer(token, legal, alice):
    token.setFrozenTokens(alice, INITIAL, sender=legal)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=1, unfrozen=0):
        token.transfer(alice, 1, sender=alice)


def test_lien_lowered_and_lifted(token, legal, alice, bob):
    token.setFrozenTokens(alice, INITIAL, sender=legal)
    token.setFrozenTokens(alice, INITIAL - 10, sender=legal)
    token.transfer(bob, 10, sender=alice)
    receipt = token.setFrozenTokens(alice, 0, sender=legal)
    assert events(receipt) == [ev("Frozen", account=alice, amount=0)]
    assert token.getFrozenTokens(alice) == 0
    assert token.unfrozenBalanceOf(alice) == INITIAL - 10
    token.transfer(bob, INITIAL - 10, sender=alice)
    assert token.balanceOf(alice) == 0


def test_lien_on_receiver_does_not_block_receiving(token, legal, alice, bob):
    token.setFrozenTokens(bob, 2 * INITIAL, sender=legal)
    token.transfer(bob, 5, sender=alice)
    assert token.balanceOf(bob) == INITIAL + 5


def test_lien_and_whole_freeze_are_independent(token, legal, compliance, alice, bob):
    token.setFrozenTokens(alice, 100, sender=legal)
    token.freezeAccount(alice, sender=compliance)
    token.unfreezeAccount(alice, sender=compliance)
    assert token.getFrozenTokens(alice) == 100
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=INITIAL, unfrozen=INITIAL - 100):
        token.transfer(bob, INITIAL, sender=alice)


# ------------------------------------------------------------------ ERC-7943 views


def test_unfrozen_balance_views(token, legal, alice, carol):
    assert token.unfrozenBalanceOf(alice) == INITIAL
    assert token.getFrozenTokens(alice) == 0
    assert token.unfrozenBalanceOf(carol) == 0
    token.setFrozenTokens(alice, INITIAL, sender=legal)
    assert token.unfrozenBalanceOf(alice) == 0
    token.setFrozenTokens(alice, INITIAL - 1, sender=legal)
    assert token.unfrozenBalanceOf(alice) == 1


def test_can_transfer_normal(token, alice, bob, carol):
    assert token.canTransfer(alice, bob, 0)
    assert token.canTransfer(alice, bob, INITIAL)
    assert token.canTransfer(alice, carol, 1)
    assert token.canTransfer(alice, alice, INITIAL)
    assert not token.canTransfer(alice, bob, INITIAL + 1)  # above balance
    assert not token.canTransfer(carol, bob, 1)  # empty
    assert token.canTransfer(carol, bob, 0)


def test_can_transfer_respects_lien(token, legal, alice, bob):
    token.setFrozenTokens(alice, 250_000, sender=legal)
    assert token.canTransfer(alice, bob, 750_000)
    assert not token.canTransfer(alice, bob, 750_001)
    token.setFrozenTokens(alice, 2 * INITIAL, sender=legal)
    assert not token.canTransfer(alice, bob, 1)
    assert token.canTransfer(alice, bob, 0)


def test_can_transfer_false_when_paused(token, pauser, alice, bob):
    token.pause(sender=pauser)
    assert not token.canTransfer(alice, bob, 1)
    assert not token.canTransfer(alice, bob, 0)
    # canSend/canReceive describe the accounts, not the pause
    assert token.canSend(alice) and token.canReceive(bob)
    token.unpause(sender=pauser)
    assert token.canTransfer(alice, bob, 1)


@pytest.mark.parametrize("how", RESTRICTIONS)
def test_can_transfer_false_for_inactive_sender(token, chain, compliance, alice, bob, how):
    restrict(token, chain, compliance, alice, how)
    assert not token.canTransfer(alice, bob, 1)
    assert not token.canSend(alice)
    assert not token.canTransfer(alice, bob, 0)
    assert token.canTransfer(bob, bob, 1)  # the other side is unaffected


@pytest.mark.parametrize("how", RECEIVER_RESTRICTIONS)
def test_can_transfer_false_for_inactive_receiver(token, chain, compliance, alice, bob, carol, outsider, how):
    to = receiver_for(how, token, chain, compliance, carol, outsider)
    assert not token.canReceive(to)
    assert not token.canTransfer(alice, to, 1)
    assert token.canTransfer(alice, bob, 1)


def test_can_transfer_to_zero_address_false(token, alice):
    assert not token.canTransfer(alice, ZERO_ADDRESS, 1)


def test_can_send_and_receive_track_expiry(token, compliance, alice, chain):
    expiry = _now(chain) + 1000
    token.allowlist(alice, expiry, sender=compliance)
    set_time(chain, expiry - 1)
    assert token.canSend(alice) and token.canReceive(alice)
    set_time(chain, expiry)
    assert not token.canSend(alice) and not token.canReceive(alice)


def test_views_agree_with_transfers(token, legal, compliance, alice, bob, carol):
    """canTransfer predicts what transfer does, for a few states."""
    token.setFrozenTokens(alice, 100, sender=legal)
    assert token.canTransfer(alice, bob, INITIAL - 100)
    token.transfer(bob, INITIAL - 100, sender=alice)
    assert not token.canTransfer(alice, bob, 1)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=1, unfrozen=0):
        token.transfer(bob, 1, sender=alice)
    token.freezeAccount(carol, sender=compliance)
    assert not token.canTransfer(bob, carol, 1)
    with reverts(token.ERC7943CannotReceive, account=carol):
        token.transfer(carol, 1, sender=bob)
