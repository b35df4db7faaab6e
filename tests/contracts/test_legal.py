"""Legal orders: forced transfers and seizures (ERC-7943) and lost-key recovery."""

from __future__ import annotations

import pytest

from helpers import (
    INITIAL,
    ZERO_ADDRESS,
    ZERO_REF,
    YEAR,
    ev,
    events,
    next_tx_at,
    ref,
    reverts,
    set_time,
)

ORDER = ref("court-order-2026-001")


def _now(chain) -> int:
    return chain.blocks.head.timestamp


def restrict_source(token, chain, compliance, legal, account, how, other):
    """Puts `account` (alice) in a state in which it cannot send to `other` (active)."""
    if how == "frozen":
        token.freezeAccount(account, sender=compliance)
    elif how == "removed":
        token.removeFromAllowlist(account, sender=compliance)
    elif how == "expired":
        expiry = _now(chain) + 1000
        token.allowlist(account, expiry, sender=compliance)
        set_time(chain, expiry + 1)
    elif how == "fully_liened":
        token.setFrozenTokens(account, 10 * INITIAL, sender=legal)
    elif how == "everything":
        token.setFrozenTokens(account, INITIAL, sender=legal)
        token.freezeAccount(account, sender=compliance)
        token.removeFromAllowlist(account, sender=compliance)
    else:
        raise AssertionError(how)
    assert token.canReceive(other)
    assert not token.canTransfer(account, other, 1)


@pytest.fixture
def fresh(accounts):
    """A brand-new address of a client (for lost-key recovery), not yet allowlisted."""
    return accounts.generate_test_account()


@pytest.fixture
def onboarded(token, chain, compliance, fresh, alice):
    """`fresh` after compliance onboarded it: allowlisted with an expiry of its own (two years,
    unlike the one year of alice's), holding nothing. Returns that expiry."""
    expiry = _now(chain) + 2 * YEAR
    token.allowlist(fresh, expiry, sender=compliance)
    assert token.allowlistExpiry(fresh) == expiry != token.allowlistExpiry(alice)
    return expiry


# ------------------------------------------------------------------ forced transfer


def test_forced_transfer(token, legal, alice, minter):
    receipt = token.forcedTransfer(alice, minter, 300_000, sender=legal)
    assert events(receipt) == [
        ev("Transfer", **{"from": alice, "to": minter, "value": 300_000}),
        ev("ForcedTransfer", **{"from": alice, "to": minter, "amount": 300_000}),
    ]
    assert token.balanceOf(alice) == INITIAL - 300_000
    assert token.balanceOf(minter) == 300_000
    assert token.totalSupply() == 2 * INITIAL


def test_forced_transfer_returns_true(token, legal, alice, minter):
    assert token.forcedTransfer.call(alice, minter, 1, sender=legal) is True


@pytest.mark.parametrize("how", ["frozen", "removed", "expired", "fully_liened", "everything"])
def test_seizure_from_restricted_account_to_treasury(token, chain, compliance, legal, alice, minter, how):
    """The known trap: the source's restrictions must not block the bank's seizure."""
    restrict_source(token, chain, compliance, legal, alice, how, minter)
    with reverts(token.ERC7943CannotSend if how != "fully_liened" else token.ERC7943InsufficientUnfrozenBalance,
                 **({"account": alice} if how != "fully_liened" else {"account": alice, "amount": 1, "unfrozen": 0})):
        token.transfer(minter, 1, sender=alice)  # the holder cannot move them...
    receipt = token.seize(alice, minter, INITIAL, ORDER, sender=legal)  # ...the bank can
    names = [name for name, _ in events(receipt)]
    assert names[-3:] == ["Transfer", "ForcedTransfer", "Seized"]
    assert events(receipt)[-1] == ev(
        "Seized", **{"from": alice, "to": minter, "amount": INITIAL, "legalOrderRef": ORDER}
    )
    assert token.balanceOf(alice) == 0
    assert token.balanceOf(minter) == INITIAL
    # frozen tokens taken are released; a lien above the balance keeps its excess
    assert token.getFrozenTokens(alice) == (9 * INITIAL if how == "fully_liened" else 0)


@pytest.mark.parametrize("how", ["frozen", "removed", "expired", "fully_liened", "everything"])
def test_forced_transfer_from_restricted_account(token, chain, compliance, legal, alice, minter, how):
    restrict_source(token, chain, compliance, legal, alice, how, minter)
    token.forcedTransfer(alice, minter, 1000, sender=legal)
    assert token.balanceOf(alice) == INITIAL - 1000
    assert token.balanceOf(minter) == 1000


def test_forced_transfer_keeps_source_restrictions(token, compliance, legal, alice, minter):
    token.freezeAccount(alice, sender=compliance)
    token.forcedTransfer(alice, minter, 10, sender=legal)
    assert token.isFrozen(alice)
    assert token.isAllowlisted(alice)


def test_forced_transfer_from_offboarded_account(token, compliance, legal, outsider, alice, carol):
    """Tokens left at an account that was offboarded (no allowlist entry) can be taken."""
    token.allowlist(outsider, token.allowlistExpiry(alice), sender=compliance)
    token.transfer(outsider, 500, sender=alice)
    token.removeFromAllowlist(outsider, sender=compliance)
    assert token.allowlistExpiry(outsider) == 0
    token.forcedTransfer(outsider, carol, 500, sender=legal)
    assert token.balanceOf(outsider) == 0
    assert token.balanceOf(carol) == 500


def test_seize_event_and_zero_order(token, legal, alice, minter):
    with reverts(token.InvalidLegalOrderRef):
        token.seize(alice, minter, 1, ZERO_REF, sender=legal)
    receipt = token.seize(alice, minter, 42, ORDER, sender=legal)
    assert events(receipt) == [
        ev("Transfer", **{"from": alice, "to": minter, "value": 42}),
        ev("ForcedTransfer", **{"from": alice, "to": minter, "amount": 42}),
        ev("Seized", **{"from": alice, "to": minter, "amount": 42, "legalOrderRef": ORDER}),
    ]


def test_seize_to_other_client(token, legal, alice, carol):
    token.seize(alice, carol, 7, ORDER, sender=legal)
    assert token.balanceOf(carol) == 7


def test_forced_transfer_destination_must_be_able_to_receive(token, compliance, legal, alice, minter, outsider):
    token.freezeAccount(minter, sender=compliance)
    with reverts(token.ERC7943CannotReceive, account=minter):
        token.forcedTransfer(alice, minter, 1, sender=legal)
    with reverts(token.ERC7943CannotReceive, account=outsider):
        token.seize(alice, outsider, 1, ORDER, sender=legal)


def test_forced_transfer_destination_expired(token, legal, alice, minter, chain):
    set_time(chain, token.allowlistExpiry(minter))
    with reverts(token.ERC7943CannotReceive, account=minter):
        token.forcedTransfer(alice, minter, 1, sender=legal)


def test_forced_transfer_to_zero_address(token, legal, alice):
    with reverts(token.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        token.forcedTransfer(alice, ZERO_ADDRESS, 1, sender=legal)
    with reverts(token.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        token.seize(alice, ZERO_ADDRESS, 1, ORDER, sender=legal)


def test_forced_transfer_to_self(token, legal, alice):
    with reverts(token.ERC7943CannotTransfer, **{"from": alice, "to": alice, "amount": 5}):
        token.forcedTransfer(alice, alice, 5, sender=legal)
    with reverts(token.ERC7943CannotTransfer, **{"from": alice, "to": alice, "amount": 5}):
        token.seize(alice, alice, 5, ORDER, sender=legal)


def test_forced_transfer_above_balance(token, legal, alice, minter):
    with reverts(token.ERC20InsufficientBalance, sender=alice, balance=INITIAL, needed=INITIAL + 1):
        token.forcedTransfer(alice, minter, INITIAL + 1, sender=legal)


def test_forced_transfer_from_empty_account(token, legal, carol, minter):
    with reverts(token.ERC20InsufficientBalance, sender=carol, balance=0, needed=1):
        token.forcedTransfer(carol, minter, 1, sender=legal)


def test_forced_transfer_releases_frozen_tokens_taken(token, legal, alice, minter):
    token.setFrozenTokens(alice, 600_000, sender=legal)  # 400,000 unfrozen
    receipt = token.forcedTransfer(alice, minter, 500_000, sender=legal)  # takes 100,000 frozen
    assert events(receipt) == [
        ev("Frozen", account=alice, amount=500_000),
        ev("Transfer", **{"from": alice, "to": minter, "value": 500_000}),
        ev("ForcedTransfer", **{"from": alice, "to": minter, "amount": 500_000}),
    ]
    # log order on chain: Frozen before Transfer
    logs = list(receipt.events)
    assert logs[0].event_name == "Frozen" and logs[1].event_name == "Transfer"
    assert logs[0].log_index < logs[1].log_index
    assert token.getFrozenTokens(alice) == 500_000
    assert token.balanceOf(alice) == 500_000
    assert token.unfrozenBalanceOf(alice) == 0


def test_seize_releases_frozen_tokens_before_transfer(token, legal, alice, minter):
    token.setFrozenTokens(alice, INITIAL, sender=legal)
    receipt = token.seize(alice, minter, INITIAL, ORDER, sender=legal)
    assert [name for name, _ in events(receipt)] == ["Frozen", "Transfer", "ForcedTransfer", "Seized"]
    assert events(receipt)[0] == ev("Frozen", account=alice, amount=0)
    assert token.getFrozenTokens(alice) == 0


def test_forced_transfer_within_unfrozen_releases_nothing(token, legal, alice, minter):
    token.setFrozenTokens(alice, 100_000, sender=legal)
    receipt = token.forcedTransfer(alice, minter, 900_000, sender=legal)
    assert [name for name, _ in events(receipt)] == ["Transfer", "ForcedTransfer"]
    assert token.getFrozenTokens(alice) == 100_000


def test_forced_transfer_releases_only_the_frozen_tokens_taken(token, legal, alice, minter):
    """A lien above the balance (on future funds) keeps its excess: 2x balance frozen, 300,000 taken,
    all of them frozen -> the lien drops by 300,000."""
    token.setFrozenTokens(alice, 2 * INITIAL, sender=legal)
    receipt = token.forcedTransfer(alice, minter, 300_000, sender=legal)
    assert events(receipt)[0] == ev("Frozen", account=alice, amount=2 * INITIAL - 300_000)
    assert token.getFrozenTokens(alice) == 2 * INITIAL - 300_000


def test_forced_transfer_takes_the_unfrozen_part_first(token, legal, alice, minter):
    """400,000 of 1,000,000 frozen: taking 700,000 uses the 600,000 unfrozen, then 100,000 frozen."""
    token.setFrozenTokens(alice, 400_000, sender=legal)
    receipt = token.forcedTransfer(alice, minter, 700_000, sender=legal)
    assert events(receipt)[0] == ev("Frozen", account=alice, amount=300_000)
    assert token.getFrozenTokens(alice) == 300_000 == token.balanceOf(alice)
    receipt = token.forcedTransfer(alice, minter, 0, sender=legal)
    assert token.getFrozenTokens(alice) == 300_000  # nothing frozen taken, nothing released
    assert [name for name, _ in events(receipt)] == ["Transfer", "ForcedTransfer"]


def test_forced_transfer_does_not_touch_destination_lien(token, legal, alice, minter):
    token.setFrozenTokens(minter, 50, sender=legal)
    token.forcedTransfer(alice, minter, 1000, sender=legal)
    assert token.getFrozenTokens(minter) == 50
    assert token.unfrozenBalanceOf(minter) == 950


def test_seized_funds_can_be_burned_by_the_bank(token, compliance, legal, alice, minter):
    token.freezeAccount(alice, sender=compliance)
    token.seize(alice, minter, INITIAL, ORDER, sender=legal)
    token.burn(INITIAL, ref("burn-seized"), sender=minter)
    assert token.totalSupply() == INITIAL


@pytest.mark.parametrize("amount", [0, 1])
def test_forced_transfer_from_zero_address(token, legal, minter, amount):
    """Without the check, an amount of 0 would log a Transfer from the zero address (a "mint")."""
    with reverts(token.ERC20InvalidSender, sender=ZERO_ADDRESS):
        token.forcedTransfer(ZERO_ADDRESS, minter, amount, sender=legal)
    with reverts(token.ERC20InvalidSender, sender=ZERO_ADDRESS):
        token.seize(ZERO_ADDRESS, minter, amount, ORDER, sender=legal)
    assert token.balanceOf(minter) == 0


def test_legal_orders_work_while_paused(token, pauser, legal, compliance, alice, minter):
    token.pause(sender=pauser)
    token.setFrozenTokens(alice, 10, sender=legal)
    token.forcedTransfer(alice, minter, 100, sender=legal)
    token.seize(alice, minter, 100, ORDER, sender=legal)
    assert token.balanceOf(minter) == 200
    assert token.paused()


# ------------------------------------------------------------------ lost-key recovery


def test_recover_account_plain(token, legal, alice, fresh, onboarded):
    receipt = token.recoverAccount(alice, fresh, sender=legal)
    assert events(receipt) == [
        ev("AllowlistUpdated", account=alice, kycExpiry=0),
        ev("Transfer", **{"from": alice, "to": fresh, "value": INITIAL}),
        ev("AccountRecovered", lost=alice, replacement=fresh, balance=INITIAL),
    ]
    assert token.balanceOf(alice) == 0 and token.balanceOf(fresh) == INITIAL
    assert token.allowlistExpiry(alice) == 0
    assert token.allowlistExpiry(fresh) == onboarded  # its own entry, not alice's
    assert token.totalSupply() == 2 * INITIAL


def test_recover_account_with_all_restrictions(token, legal, compliance, alice, fresh, onboarded):
    token.freezeAccount(alice, sender=compliance)
    token.setFrozenTokens(alice, 250_000, sender=legal)
    receipt = token.recoverAccount(alice, fresh, sender=legal)
    assert events(receipt) == [
        ev("AllowlistUpdated", account=alice, kycExpiry=0),
        ev("AccountUnfrozen", account=alice),
        ev("AccountFrozen", account=fresh),
        ev("Frozen", account=alice, amount=0),
        ev("Frozen", account=fresh, amount=250_000),
        ev("Transfer", **{"from": alice, "to": fresh, "value": INITIAL}),
        ev("AccountRecovered", lost=alice, replacement=fresh, balance=INITIAL),
    ]
    # balance and restrictions moved; the replacement keeps its own allowlist entry
    assert token.balanceOf(fresh) == INITIAL
    assert token.allowlistExpiry(fresh) == onboarded
    assert token.isFrozen(fresh)
    assert token.getFrozenTokens(fresh) == 250_000
    assert token.unfrozenBalanceOf(fresh) == INITIAL - 250_000
    assert not token.canSend(fresh)
    # nothing left behind
    assert token.balanceOf(alice) == 0
    assert token.allowlistExpiry(alice) == 0
    assert not token.isFrozen(alice)
    assert token.getFrozenTokens(alice) == 0
    assert not token.canSend(alice) and not token.canReceive(alice)


def test_recover_account_with_lien_only(token, legal, alice, bob, fresh, onboarded, chain):
    token.setFrozenTokens(alice, 400_000, sender=legal)
    receipt = token.recoverAccount(alice, fresh, sender=legal)
    names = [n for n, _ in events(receipt)]
    assert names == ["AllowlistUpdated", "Frozen", "Frozen", "Transfer", "AccountRecovered"]
    assert not token.isFrozen(fresh)
    # the replacement can use the unfrozen part, not more
    chain.set_balance(fresh, 10**18)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=fresh, amount=600_001, unfrozen=600_000):
        token.transfer(bob, 600_001, sender=fresh)
    token.transfer(bob, 600_000, sender=fresh)


def test_recover_empty_account_emits_no_transfer(token, legal, carol, fresh, onboarded):
    receipt = token.recoverAccount(carol, fresh, sender=legal)
    assert events(receipt) == [
        ev("AllowlistUpdated", account=carol, kycExpiry=0),
        ev("AccountRecovered", lost=carol, replacement=fresh, balance=0),
    ]
    assert token.allowlistExpiry(carol) == 0
    assert token.allowlistExpiry(fresh) == onboarded


def test_recover_expired_account_to_replacement_with_its_own_entry(token, legal, compliance, alice, bob, fresh,
                                                                     chain):
    """The lost account's expired entry stays behind (and is removed); the replacement, onboarded
    afresh, can use the funds at once."""
    expiry = token.allowlistExpiry(alice)
    set_time(chain, expiry + 10)
    assert not token.canSend(alice)
    token.allowlist(fresh, expiry + YEAR, sender=compliance)
    receipt = token.recoverAccount(alice, fresh, sender=legal)
    assert events(receipt)[0] == ev("AllowlistUpdated", account=alice, kycExpiry=0)
    assert token.allowlistExpiry(alice) == 0
    assert token.allowlistExpiry(fresh) == expiry + YEAR
    assert token.balanceOf(fresh) == INITIAL
    assert token.canSend(fresh)


def test_recovered_account_is_usable(token, legal, alice, bob, fresh, onboarded, chain):
    chain.set_balance(fresh, 10**18)
    token.recoverAccount(alice, fresh, sender=legal)
    token.transfer(bob, 10, sender=fresh)
    assert token.balanceOf(fresh) == INITIAL - 10
    with reverts(token.ERC7943CannotSend, account=alice):
        token.transfer(bob, 0, sender=alice)
    with reverts(token.ERC7943CannotReceive, account=alice):
        token.transfer(alice, 1, sender=bob)


def test_allowances_of_lost_account_become_unusable(token, legal, alice, bob, carol, fresh, onboarded):
    token.approve(carol, 100, sender=alice)  # alice as owner
    token.approve(alice, 100, sender=bob)  # alice as spender
    token.recoverAccount(alice, fresh, sender=legal)
    assert token.allowance(alice, carol) == 100  # stays behind...
    assert token.allowance(fresh, carol) == 0  # ...does not move...
    with reverts(token.ERC7943CannotSend, account=alice):
        token.transferFrom(alice, bob, 100, sender=carol)  # ...and cannot be used
    with reverts(token.SpenderNotAllowed, spender=alice):
        token.transferFrom(bob, carol, 100, sender=alice)


def test_recovery_works_while_paused(token, pauser, compliance, legal, alice, fresh, chain):
    token.pause(sender=pauser)
    token.allowlist(fresh, _now(chain) + YEAR, sender=compliance)  # onboarding works while paused too
    token.recoverAccount(alice, fresh, sender=legal)
    assert token.balanceOf(fresh) == INITIAL
    assert token.paused()


def test_recovery_of_non_allowlisted_holder(token, legal, compliance, alice, fresh, onboarded):
    """A holder whose entry was removed: no AllowlistUpdated for it (it has no entry to remove);
    the funds move to the replacement compliance onboarded, which can use them."""
    token.removeFromAllowlist(alice, sender=compliance)
    receipt = token.recoverAccount(alice, fresh, sender=legal)
    assert events(receipt) == [
        ev("Transfer", **{"from": alice, "to": fresh, "value": INITIAL}),
        ev("AccountRecovered", lost=alice, replacement=fresh, balance=INITIAL),
    ]
    assert token.balanceOf(fresh) == INITIAL
    assert token.allowlistExpiry(fresh) == onboarded
    assert token.canSend(fresh)


def test_recovery_of_frozen_non_allowlisted_holder(token, legal, compliance, alice, fresh, onboarded):
    token.freezeAccount(alice, sender=compliance)
    token.removeFromAllowlist(alice, sender=compliance)
    receipt = token.recoverAccount(alice, fresh, sender=legal)
    assert [n for n, _ in events(receipt)] == [
        "AccountUnfrozen", "AccountFrozen", "Transfer", "AccountRecovered",
    ]
    assert token.isFrozen(fresh) and not token.isFrozen(alice)


def test_recovery_replacement_not_yet_allowlisted(token, legal, alice, fresh):
    """The reviewer's exploit: legal alone must not be able to onboard an address by recovering
    funds to it. Only compliance allowlists."""
    assert token.allowlistExpiry(fresh) == 0
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=fresh):
        token.recoverAccount(alice, fresh, sender=legal)
    assert token.balanceOf(alice) == INITIAL and token.balanceOf(fresh) == 0
    assert token.allowlistExpiry(fresh) == 0
    assert token.isAllowlisted(alice)


def test_recovery_replacement_removed_from_allowlist(token, legal, compliance, alice, fresh, onboarded):
    token.removeFromAllowlist(fresh, sender=compliance)
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=fresh):
        token.recoverAccount(alice, fresh, sender=legal)


@pytest.mark.parametrize("offset, possible", [(-1, True), (0, False), (1, False)])
def test_recovery_replacement_expired(token, chain, legal, compliance, alice, fresh, offset, possible):
    """The replacement's entry must be unexpired when the recovery is mined (expired at its expiry)."""
    expiry = _now(chain) + 1000
    token.allowlist(fresh, expiry, sender=compliance)
    next_tx_at(chain, expiry + offset)
    if possible:
        token.recoverAccount(alice, fresh, sender=legal)
        assert token.balanceOf(fresh) == INITIAL
    else:
        with reverts(token.RecoveryNotPossible, lost=alice, replacement=fresh):
            token.recoverAccount(alice, fresh, sender=legal)
        assert token.balanceOf(alice) == INITIAL


def test_recovery_replacement_in_use_with_balance(token, legal, alice, bob):
    assert token.isAllowlisted(bob)
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=bob):
        token.recoverAccount(alice, bob, sender=legal)


def test_recovery_to_allowlisted_empty_account_keeps_its_entry(token, legal, compliance, alice, carol, chain):
    """Any allowlisted address holding nothing will do (carol, allowlisted but empty)."""
    expiry = _now(chain) + 3 * YEAR
    token.allowlist(carol, expiry, sender=compliance)
    token.recoverAccount(alice, carol, sender=legal)
    assert token.balanceOf(carol) == INITIAL
    assert token.allowlistExpiry(carol) == expiry


def test_recovery_replacement_emptied_but_with_lien(token, legal, alice, carol):
    """A frozen amount on an allowlisted, empty replacement (a lien on its future funds) blocks it."""
    token.setFrozenTokens(carol, 1, sender=legal)
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=carol):
        token.recoverAccount(alice, carol, sender=legal)
    token.setFrozenTokens(carol, 0, sender=legal)
    token.recoverAccount(alice, carol, sender=legal)  # lifted: possible again
    assert token.balanceOf(carol) == INITIAL


def test_recovery_replacement_frozen_only(token, legal, compliance, alice, fresh, onboarded):
    token.freezeAccount(fresh, sender=compliance)
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=fresh):
        token.recoverAccount(alice, fresh, sender=legal)


def test_recovery_replacement_with_lien_only(token, legal, alice, fresh, onboarded):
    token.setFrozenTokens(fresh, 1, sender=legal)
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=fresh):
        token.recoverAccount(alice, fresh, sender=legal)


def test_recovery_replacement_previously_removed_has_balance(token, legal, compliance, bob, alice):
    token.removeFromAllowlist(bob, sender=compliance)  # no entry, but a balance
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=bob):
        token.recoverAccount(alice, bob, sender=legal)


def test_recovery_to_zero_address(token, legal, alice):
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=ZERO_ADDRESS):
        token.recoverAccount(alice, ZERO_ADDRESS, sender=legal)


def test_recovery_to_same_address(token, legal, alice, carol):
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=alice):
        token.recoverAccount(alice, alice, sender=legal)
    # carol (allowlisted, empty) would be a valid replacement for anyone else, but not for herself
    with reverts(token.RecoveryNotPossible, lost=carol, replacement=carol):
        token.recoverAccount(carol, carol, sender=legal)
    assert token.isAllowlisted(carol)


def test_recovery_of_unknown_account(token, legal, outsider, fresh, onboarded):
    with reverts(token.RecoveryNotPossible, lost=outsider, replacement=fresh):
        token.recoverAccount(outsider, fresh, sender=legal)


def test_recovery_of_zero_address(token, legal, fresh, onboarded):
    with reverts(token.RecoveryNotPossible, lost=ZERO_ADDRESS, replacement=fresh):
        token.recoverAccount(ZERO_ADDRESS, fresh, sender=legal)


def test_recovery_cannot_be_repeated_from_lost(token, legal, compliance, alice, fresh, onboarded, accounts, chain):
    token.recoverAccount(alice, fresh, sender=legal)
    other = accounts.generate_test_account()
    token.allowlist(other, onboarded, sender=compliance)
    with reverts(token.RecoveryNotPossible, lost=alice, replacement=other):
        token.recoverAccount(alice, other, sender=legal)
    # the emptied lost address is no replacement until compliance allowlists it again
    with reverts(token.RecoveryNotPossible, lost=fresh, replacement=alice):
        token.recoverAccount(fresh, alice, sender=legal)
    token.allowlist(alice, _now(chain) + YEAR, sender=compliance)
    token.recoverAccount(fresh, alice, sender=legal)
    assert token.balanceOf(alice) == INITIAL


def test_recovery_of_account_emptied_after_removal(token, legal, compliance, carol, fresh, onboarded):
    """An account whose entry was removed and that holds nothing has nothing to recover."""
    token.removeFromAllowlist(carol, sender=compliance)
    with reverts(token.RecoveryNotPossible, lost=carol, replacement=fresh):
        token.recoverAccount(carol, fresh, sender=legal)
