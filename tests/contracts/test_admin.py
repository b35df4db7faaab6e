"""Pause, rescue of foreign tokens, the issuer's identity, the two-step default admin transfer and
initialisation."""

from __future__ import annotations

import pytest
from ape import project

from helpers import (
    DAY,
    INITIAL,
    ZERO_ADDRESS,
    deploy_raw,
    ev,
    events,
    init_params,
    next_tx_at,
    ref,
    reverts,
    role_id,
    set_time,
)

DEFAULT_ADMIN_ROLE = role_id("DEFAULT_ADMIN_ROLE")
from constants import IMPLEMENTATION_SLOT


def implementation_of(chain, token):
    raw = chain.provider.get_storage(token.address, IMPLEMENTATION_SLOT)
    return project.DepositToken.at("0x" + bytes(raw)[-20:].hex())


# ------------------------------------------------------------------ pause


def test_pause_and_unpause(token, pauser):
    assert not token.paused()
    receipt = token.pause(sender=pauser)
    assert events(receipt) == [ev("Paused", account=pauser)]
    assert token.paused()
    receipt = token.unpause(sender=pauser)
    assert events(receipt) == [ev("Unpaused", account=pauser)]
    assert not token.paused()


def test_pause_twice(token, pauser):
    token.pause(sender=pauser)
    with reverts(token.EnforcedPause):
        token.pause(sender=pauser)


def test_unpause_when_not_paused(token, pauser):
    with reverts(token.ExpectedPause):
        token.unpause(sender=pauser)


@pytest.fixture
def paused(token, pauser):
    token.pause(sender=pauser)
    return token


def test_paused_blocks_transfer(paused, alice, bob):
    with reverts(paused.EnforcedPause):
        paused.transfer(bob, 1, sender=alice)


def test_paused_blocks_transfer_from(paused, alice, bob, carol):
    paused.approve(carol, 10, sender=alice)  # approving still works
    assert paused.allowance(alice, carol) == 10
    with reverts(paused.EnforcedPause):
        paused.transferFrom(alice, bob, 10, sender=carol)
    assert paused.allowance(alice, carol) == 10


def test_paused_blocks_mint(paused, minter, alice):
    with reverts(paused.EnforcedPause):
        paused.mint(alice, 1, ref("paused-mint"), sender=minter)
    assert not paused.isDepositRefUsed(ref("paused-mint"))


def test_paused_blocks_redeem(paused, alice):
    with reverts(paused.EnforcedPause):
        paused.redeem(1, ref("paused-redeem"), sender=alice)
    assert not paused.isPayoutRefUsed(alice, ref("paused-redeem"))


def test_paused_blocks_self_transfer_and_zero_amount(paused, alice):
    with reverts(paused.EnforcedPause):
        paused.transfer(alice, 0, sender=alice)


def test_paused_still_allows_compliance_legal_orders_and_bank_burn(paused, legal, compliance, minter, alice, bob,
                                                                   accounts):
    token = paused
    token.setFrozenTokens(alice, 100, sender=legal)
    token.freezeAccount(alice, sender=compliance)
    token.forcedTransfer(alice, minter, 1000, sender=legal)
    token.seize(alice, minter, 1000, ref("order"), sender=legal)
    token.burn(500, ref("burn"), sender=minter)
    replacement = accounts.generate_test_account()
    token.allowlist(replacement, token.allowlistExpiry(minter), sender=compliance)  # compliance onboards...
    token.recoverAccount(bob, replacement, sender=legal)  # ...legal recovers
    token.allowlist(alice, token.allowlistExpiry(minter), sender=compliance)
    token.unfreezeAccount(alice, sender=compliance)
    assert token.balanceOf(minter) == 1500
    assert token.balanceOf(replacement) == INITIAL and token.balanceOf(bob) == 0
    assert token.totalSupply() == 2 * INITIAL - 500
    assert token.paused()


def test_unpause_resumes(paused, pauser, alice, bob):
    paused.unpause(sender=pauser)
    paused.transfer(bob, 1, sender=alice)
    assert paused.balanceOf(bob) == INITIAL + 1


# ------------------------------------------------------------------ rescue


@pytest.fixture
def foreign(admin):
    return admin.deploy(project.BaselineERC20)


def test_rescue_foreign_token(token, admin, foreign, carol, alice):
    foreign.mint(alice, 1000, sender=alice)
    foreign.transfer(token.address, 1000, sender=alice)  # sent by mistake
    receipt = token.rescueERC20(foreign, carol, 600, sender=admin)
    assert events(receipt) == [
        ev("TokensRescued", token=foreign, to=carol, amount=600),
        ev("Transfer", **{"from": token, "to": carol, "value": 600}),
    ]
    assert events(receipt, token) == [ev("TokensRescued", token=foreign, to=carol, amount=600)]
    assert foreign.balanceOf(carol) == 600
    assert foreign.balanceOf(token.address) == 400
    # the deposit token's own accounting is untouched
    assert token.balanceOf(carol) == 0
    assert token.totalSupply() == 2 * INITIAL


def test_rescue_more_than_held(token, admin, foreign, carol):
    foreign.mint(token.address, 10, sender=admin)
    with reverts(token.ERC20InsufficientBalance, sender=token, balance=10, needed=11):
        token.rescueERC20(foreign, carol, 11, sender=admin)


def test_cannot_rescue_own_token(token, admin, alice, carol):
    token.transfer(carol, 1, sender=alice)
    with reverts(token.CannotRescueOwnToken):
        token.rescueERC20(token, carol, 0, sender=admin)
    with reverts(token.CannotRescueOwnToken):
        token.rescueERC20(token, carol, 1, sender=admin)


def test_rescue_non_contract_reverts(token, admin, carol, alice):
    with reverts(token.SafeERC20FailedOperation, token=alice):
        token.rescueERC20(alice, carol, 1, sender=admin)


# ------------------------------------------------------------------ issuer


def test_set_issuer(token, admin):
    lei, bic = "529900T8BM49AURSDO55", "NEWBDEFFXXX"
    receipt = token.setIssuer("New Bank AG", lei, bic, sender=admin)
    assert events(receipt) == [ev("IssuerUpdated", name="New Bank AG", lei=lei, bic=bic)]
    assert token.issuer() == ("New Bank AG", lei, bic)


@pytest.mark.parametrize(
    "lei, bic",
    [
        ("529900T8BM49AURSDO55", ""),  # LEI only
        ("", "NEWBDEFF"),  # BIC 8
        ("", "NEWBDEFFXXX"),  # BIC 11
    ],
)
def test_set_issuer_with_one_code(token, admin, lei, bic):
    token.setIssuer("Bank", lei, bic, sender=admin)
    assert token.issuer() == ("Bank", lei, bic)


@pytest.mark.parametrize(
    "name, lei, bic",
    [
        ("", "529900T8BM49AURSDO55", "NEWBDEFF"),  # empty name
        ("Bank", "", ""),  # neither LEI nor BIC
        ("Bank", "529900T8BM49AURSDO5", ""),  # LEI 19
        ("Bank", "529900T8BM49AURSDO555", ""),  # LEI 21
        ("Bank", "", "NEWBDEF"),  # BIC 7
        ("Bank", "", "NEWBDEFFX"),  # BIC 9
        ("Bank", "", "NEWBDEFFXX"),  # BIC 10
        ("Bank", "", "NEWBDEFFXXXX"),  # BIC 12
        ("Bank", "529900T8BM49AURSDO55", "NEWBDEF"),  # valid LEI, invalid BIC
        ("Bank", "529900T8BM49AURSDO5", "NEWBDEFF"),  # invalid LEI, valid BIC
    ],
)
def test_set_issuer_invalid(token, admin, name, lei, bic):
    before = token.issuer()
    with reverts(token.InvalidIssuer):
        token.setIssuer(name, lei, bic, sender=admin)
    assert token.issuer() == before


def test_deploy_with_invalid_issuer(admin):
    with reverts("InvalidIssuer", decode_with=project.DepositToken):
        deploy_raw(admin, issuerLei="", issuerBic="")


# ------------------------------------------------------------------ default admin (two-step, delayed)


def test_default_admin_state(token, admin):
    assert token.defaultAdmin() == admin.address
    assert token.owner() == admin.address
    assert token.defaultAdminDelay() == DAY
    assert token.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert tuple(token.pendingDefaultAdmin()) == (ZERO_ADDRESS, 0)


def test_admin_transfer_two_steps_with_delay(token, admin, carol, chain):
    receipt = token.beginDefaultAdminTransfer(carol, sender=admin)
    schedule = chain.blocks[receipt.block_number].timestamp + DAY
    assert events(receipt) == [ev("DefaultAdminTransferScheduled", newAdmin=carol, acceptSchedule=schedule)]
    assert tuple(token.pendingDefaultAdmin()) == (carol.address, schedule)
    assert token.defaultAdmin() == admin.address  # nothing changed yet

    # too early, also at the schedule itself
    with reverts(token.AccessControlEnforcedDefaultAdminDelay, schedule=schedule):
        token.acceptDefaultAdminTransfer(sender=carol)
    next_tx_at(chain, schedule)  # not a mined block: the next one would be later than the schedule
    with reverts(token.AccessControlEnforcedDefaultAdminDelay, schedule=schedule):
        token.acceptDefaultAdminTransfer(sender=carol)

    next_tx_at(chain, schedule + 1)
    receipt = token.acceptDefaultAdminTransfer(sender=carol)
    assert events(receipt) == [
        ev("RoleRevoked", role=DEFAULT_ADMIN_ROLE, account=admin, sender=carol),
        ev("RoleGranted", role=DEFAULT_ADMIN_ROLE, account=carol, sender=carol),
    ]
    assert token.defaultAdmin() == carol.address
    assert token.hasRole(DEFAULT_ADMIN_ROLE, carol)
    assert not token.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert tuple(token.pendingDefaultAdmin()) == (ZERO_ADDRESS, 0)

    # the new admin administers, the old one no longer does
    token.setIssuer("Successor Bank", "", "NEWBDEFF", sender=carol)
    with reverts(token.AccessControlUnauthorizedAccount, account=admin, neededRole=DEFAULT_ADMIN_ROLE):
        token.setIssuer("Old Bank", "", "NEWBDEFF", sender=admin)


def test_only_pending_admin_can_accept(token, admin, carol, bob, chain):
    token.beginDefaultAdminTransfer(carol, sender=admin)
    set_time(chain, token.pendingDefaultAdmin()[1] + 1)
    with reverts(token.AccessControlInvalidDefaultAdmin, defaultAdmin=bob):
        token.acceptDefaultAdminTransfer(sender=bob)
    with reverts(token.AccessControlInvalidDefaultAdmin, defaultAdmin=admin):
        token.acceptDefaultAdminTransfer(sender=admin)


def test_accept_without_pending_transfer(token, carol):
    with reverts(token.AccessControlInvalidDefaultAdmin, defaultAdmin=carol):
        token.acceptDefaultAdminTransfer(sender=carol)


def test_cancel_admin_transfer(token, admin, carol, chain):
    token.beginDefaultAdminTransfer(carol, sender=admin)
    receipt = token.cancelDefaultAdminTransfer(sender=admin)
    assert events(receipt) == [ev("DefaultAdminTransferCanceled")]
    set_time(chain, chain.blocks.head.timestamp + 2 * DAY)
    with reverts(token.AccessControlInvalidDefaultAdmin, defaultAdmin=carol):
        token.acceptDefaultAdminTransfer(sender=carol)
    assert token.defaultAdmin() == admin.address


def test_default_admin_role_cannot_be_granted_or_revoked_directly(token, admin, carol):
    with reverts(token.AccessControlEnforcedDefaultAdminRules):
        token.grantRole(DEFAULT_ADMIN_ROLE, carol, sender=admin)
    with reverts(token.AccessControlEnforcedDefaultAdminRules):
        token.revokeRole(DEFAULT_ADMIN_ROLE, admin, sender=admin)
    assert not token.hasRole(DEFAULT_ADMIN_ROLE, carol)


def test_default_admin_cannot_renounce_without_schedule(token, admin):
    with reverts(token.AccessControlEnforcedDefaultAdminDelay, schedule=0):
        token.renounceRole(DEFAULT_ADMIN_ROLE, admin, sender=admin)
    assert token.hasRole(DEFAULT_ADMIN_ROLE, admin)


def test_admin_grants_and_revokes_operational_roles(token, admin, carol, alice):
    compliance_role = role_id("COMPLIANCE_ROLE")
    receipt = token.grantRole(compliance_role, carol, sender=admin)
    assert events(receipt) == [ev("RoleGranted", role=compliance_role, account=carol, sender=admin)]
    token.freezeAccount(alice, sender=carol)
    receipt = token.revokeRole(compliance_role, carol, sender=admin)
    assert events(receipt) == [ev("RoleRevoked", role=compliance_role, account=carol, sender=admin)]
    with reverts(token.AccessControlUnauthorizedAccount, account=carol, neededRole=compliance_role):
        token.unfreezeAccount(alice, sender=carol)


def test_deploy_without_admin_reverts(admin):
    with reverts("AccessControlInvalidDefaultAdmin", decode_with=project.DepositToken, defaultAdmin=ZERO_ADDRESS):
        deploy_raw(admin, admin=ZERO_ADDRESS)


# ------------------------------------------------------------------ initialisation


def test_initialize_twice_reverts(token, admin):
    with reverts(token.InvalidInitialization):
        token.initialize(init_params(admin), sender=admin)


def test_initialize_by_stranger_reverts(token, alice):
    with reverts(token.InvalidInitialization):
        token.initialize(init_params(alice), sender=alice)
    assert not token.hasRole(DEFAULT_ADMIN_ROLE, alice)


def test_implementation_cannot_be_initialized(token, admin, alice, chain):
    impl = implementation_of(chain, token)
    assert impl.address != token.address
    with reverts(impl.InvalidInitialization):
        impl.initialize(init_params(alice), sender=alice)
    assert not impl.hasRole(DEFAULT_ADMIN_ROLE, alice)
    assert impl.defaultAdmin() == ZERO_ADDRESS


def test_fresh_implementation_cannot_be_initialized(admin):
    impl = admin.deploy(project.DepositToken)
    with reverts(impl.InvalidInitialization):
        impl.initialize(init_params(admin), sender=admin)


def test_initialization_events(admin, alice, chain):
    """The proxy deployment initialises in its constructor and records the issuer and roles."""
    impl = admin.deploy(project.DepositToken)
    data = impl.initialize.encode_input(init_params(admin, pauser=alice))
    proxy = admin.deploy(project.DepositTokenProxy, impl.address, data)
    receipt = chain.provider.get_receipt(proxy.txn_hash)
    token = project.DepositToken.at(proxy.address)
    names = [n for n, _ in events(receipt, token)]
    assert "IssuerUpdated" in names
    assert names[-1] == "Initialized"
    assert ev("RoleGranted", role=role_id("PAUSER_ROLE"), account=alice, sender=admin) in events(receipt, token)
    assert ev("RoleAdminChanged", role=role_id("MINTER_ROLE"), previousAdminRole=DEFAULT_ADMIN_ROLE,
              newAdminRole=role_id("MINTER_ADMIN_ROLE")) in events(receipt, token)
