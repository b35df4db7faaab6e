"""UUPS upgrades of the live proxy: all state survives, only the upgrader can upgrade, and only to
a UUPS implementation."""

from __future__ import annotations

import pytest
from ape import project

from ape.exceptions import ContractLogicError

from helpers import (
    INITIAL,
    MAX_UINT256,
    ZERO_ADDRESS,
    eth_call_revert_data,
    eth_call_reverts,
    ev,
    events,
    init_params,
    ref,
    reverts,
    role_id,
)

from constants import IMPLEMENTATION_SLOT, INITIALIZABLE_STORAGE, ROLE_NAMES


def implementation_address(chain, token) -> str:
    raw = chain.provider.get_storage(token.address, IMPLEMENTATION_SLOT)
    return "0x" + bytes(raw)[-20:].hex()


@pytest.fixture(scope="module")  # one deployment; ape reverts what a test does to it
def v2_impl(admin):
    return admin.deploy(project.DepositTokenV2Mock)


@pytest.fixture
def rich_state(token, chain, minter_admin, minter, compliance, legal, alice, bob, carol, accounts):
    """Puts every kind of state into the token and returns a snapshot of it."""
    dave = accounts.generate_test_account()
    token.allowlist(dave, chain.blocks.head.timestamp + 12345, sender=compliance)
    token.mint(dave, 777, ref("dep-dave"), sender=minter)
    token.approve(carol, 4321, sender=alice)
    token.approve(alice, MAX_UINT256, sender=bob)
    token.setFrozenTokens(bob, 250_000, sender=legal)
    token.setFrozenTokens(carol, 5 * INITIAL, sender=legal)  # above balance
    token.freezeAccount(dave, sender=compliance)
    token.redeem(1000, ref("payout-alice"), sender=alice)
    token.configureMinter(carol, 999, sender=minter_admin)
    holders = [alice, bob, carol, dave, minter]
    state = {
        "name": token.name(), "symbol": token.symbol(), "decimals": token.decimals(),
        "currency": token.currency(), "issuer": tuple(token.issuer()),
        "totalSupply": token.totalSupply(),
        "balances": {a.address: token.balanceOf(a) for a in holders},
        "expiries": {a.address: token.allowlistExpiry(a) for a in holders},
        "frozen": {a.address: token.isFrozen(a) for a in holders},
        "frozenTokens": {a.address: token.getFrozenTokens(a) for a in holders},
        "allowances": {(o.address, s.address): token.allowance(o, s) for o in holders for s in holders},
        "minterAllowance": {a.address: token.minterAllowance(a) for a in holders},
        "roles": {(r, a.address): token.hasRole(role_id(r), a) for r in ROLE_NAMES for a in accounts},
        "defaultAdmin": token.defaultAdmin(),
        "defaultAdminDelay": token.defaultAdminDelay(),
        "minterRoleAdmin": token.getRoleAdmin(role_id("MINTER_ROLE")),
        "paused": token.paused(),
        "dave": dave,
    }
    # sanity: the snapshot really holds non-trivial values
    assert state["frozen"][dave.address] and state["frozenTokens"][carol.address] == 5 * INITIAL
    assert state["allowances"][(alice.address, carol.address)] == 4321
    assert state["minterAllowance"][carol.address] == 999
    return state


def snapshot(token, state, accounts):
    holders = list(state["balances"])
    return {
        "name": token.name(), "symbol": token.symbol(), "decimals": token.decimals(),
        "currency": token.currency(), "issuer": tuple(token.issuer()),
        "totalSupply": token.totalSupply(),
        "balances": {a: token.balanceOf(a) for a in holders},
        "expiries": {a: token.allowlistExpiry(a) for a in holders},
        "frozen": {a: token.isFrozen(a) for a in holders},
        "frozenTokens": {a: token.getFrozenTokens(a) for a in holders},
        "allowances": {(o, s): token.allowance(o, s) for o in holders for s in holders},
        "minterAllowance": {a: token.minterAllowance(a) for a in holders},
        "roles": {(r, a.address): token.hasRole(role_id(r), a) for r in ROLE_NAMES for a in accounts},
        "defaultAdmin": token.defaultAdmin(),
        "defaultAdminDelay": token.defaultAdminDelay(),
        "minterRoleAdmin": token.getRoleAdmin(role_id("MINTER_ROLE")),
        "paused": token.paused(),
        "dave": state["dave"],
    }


def test_upgrade_keeps_all_state(token, chain, upgrader, v2_impl, rich_state, accounts, minter, alice, bob):
    old_impl = implementation_address(chain, token)
    assert token.version() == "1.1.0"

    receipt = token.upgradeToAndCall(v2_impl, b"", sender=upgrader)
    assert events(receipt) == [ev("Upgraded", implementation=v2_impl)]
    assert implementation_address(chain, token).lower() == v2_impl.address.lower() != old_impl.lower()

    v2 = project.DepositTokenV2Mock.at(token.address)
    assert v2.version() == "2.0.0-test"
    assert snapshot(v2, rich_state, accounts) == rich_state

    # used references stay used
    assert v2.isDepositRefUsed(b"\x01" * 32) and v2.isDepositRefUsed(ref("dep-dave"))
    assert v2.isPayoutRefUsed(alice, ref("payout-alice"))
    assert not v2.isPayoutRefUsed(bob, ref("payout-alice"))
    with reverts(v2.DepositReferenceUsed, depositRef=ref("dep-dave")):
        v2.mint(alice, 1, ref("dep-dave"), sender=minter)
    with reverts(v2.PayoutReferenceUsed, account=alice, payoutRef=ref("payout-alice")):
        v2.redeem(1, ref("payout-alice"), sender=alice)


def test_upgraded_token_keeps_working_and_enforcing(token, upgrader, v2_impl, rich_state, minter, alice, bob,
                                                    carol, legal):
    token.upgradeToAndCall(v2_impl, b"", sender=upgrader)
    dave = rich_state["dave"]
    # restrictions still apply
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=bob, amount=INITIAL, unfrozen=INITIAL - 250_000):
        token.transfer(alice, INITIAL, sender=bob)
    with reverts(token.ERC7943CannotReceive, account=dave):
        token.transfer(dave, 1, sender=alice)
    # allowances work and decrease as before
    token.transferFrom(alice, bob, 321, sender=carol)
    assert token.allowance(alice, carol) == 4000
    token.transferFrom(bob, alice, 5, sender=alice)
    assert token.allowance(bob, alice) == MAX_UINT256
    # the minter's remaining allowance is used as before
    remaining = token.minterAllowance(minter)
    token.mint(alice, 10, ref("after-upgrade"), sender=minter)
    assert token.minterAllowance(minter) == remaining - 10
    # legal orders still work against the migrated state
    token.seize(dave, minter, 777, ref("order"), sender=legal)
    assert token.balanceOf(dave) == 0


def test_upgrade_cannot_reinitialize(token, upgrader, v2_impl, admin, alice):
    with reverts(token.InvalidInitialization):
        token.upgradeToAndCall(v2_impl, v2_impl.initialize.encode_input(init_params(alice)), sender=upgrader)
    with reverts(token.InvalidInitialization):
        token.initialize(init_params(alice), sender=alice)
    token.upgradeToAndCall(v2_impl, b"", sender=upgrader)
    with reverts(token.InvalidInitialization):
        token.initialize(init_params(alice), sender=alice)
    assert token.defaultAdmin() == admin.address


def test_upgrade_with_call(token, upgrader, v2_impl, legal, alice):
    """upgradeToAndCall runs the call in the proxy's context, as the upgrader."""
    data = v2_impl.setFrozenTokens.encode_input(alice, 5)
    with reverts(token.AccessControlUnauthorizedAccount, account=upgrader, neededRole=role_id("LEGAL_ROLE")):
        token.upgradeToAndCall(v2_impl, data, sender=upgrader)
    assert token.version() == "1.1.0"  # reverted as a whole


@pytest.mark.parametrize("caller", ["admin", "minter_admin", "minter", "compliance", "legal", "pauser", "alice"])
def test_non_upgrader_cannot_upgrade(token, v2_impl, request, caller):
    who = request.getfixturevalue(caller)
    with reverts(token.AccessControlUnauthorizedAccount, account=who, neededRole=role_id("UPGRADER_ROLE")):
        token.upgradeToAndCall(v2_impl, b"", sender=who)
    assert token.version() == "1.1.0"


def test_upgrader_role_can_be_moved(token, admin, upgrader, carol, v2_impl):
    token.revokeRole(role_id("UPGRADER_ROLE"), upgrader, sender=admin)
    with reverts(token.AccessControlUnauthorizedAccount, account=upgrader, neededRole=role_id("UPGRADER_ROLE")):
        token.upgradeToAndCall(v2_impl, b"", sender=upgrader)
    token.grantRole(role_id("UPGRADER_ROLE"), carol, sender=admin)
    token.upgradeToAndCall(v2_impl, b"", sender=carol)
    assert token.version() == "2.0.0-test"


def _assert_invalid_implementation(token, chain, upgrader, target):
    """The upgrade reverts with ERC1967InvalidImplementation(target). The error name exists in both the
    proxy's and the implementation's ABI, which ape cannot decode by name: the error is checked with a
    plain eth_call, the on-chain revert (and unchanged implementation) with a transaction."""
    before = implementation_address(chain, token)
    eth_call_reverts(token, "upgradeToAndCall", (target, b""), upgrader, "ERC1967InvalidImplementation",
                     implementation=target)
    with pytest.raises(ContractLogicError):
        token.upgradeToAndCall(target, b"", sender=upgrader)
    assert implementation_address(chain, token) == before
    assert token.version() == "1.1.0"


def test_upgrade_to_non_uups_contract_reverts(token, upgrader, admin, chain):
    foreign = admin.deploy(project.BaselineERC20)
    _assert_invalid_implementation(token, chain, upgrader, foreign)


def test_upgrade_to_proxy_reverts(token, upgrader, chain):
    """A proxy (here: the token itself) is no implementation: its proxiableUUID reverts when delegated."""
    _assert_invalid_implementation(token, chain, upgrader, token)


@pytest.mark.parametrize("target", ["alice", "zero"])
def test_upgrade_to_address_without_code_reverts(token, upgrader, alice, chain, target):
    """OpenZeppelin's UUPS asks the new implementation for proxiableUUID(); an address without code
    returns nothing, and decoding that fails outside the try/catch: a revert without data (not
    ERC1967InvalidImplementation)."""
    address = alice.address if target == "alice" else ZERO_ADDRESS
    before = implementation_address(chain, token)
    assert eth_call_revert_data(token, "upgradeToAndCall", (address, b""), upgrader) in ("0x", b"", None)
    with pytest.raises(ContractLogicError):
        token.upgradeToAndCall(address, b"", sender=upgrader)
    assert implementation_address(chain, token) == before


def test_implementation_cannot_be_upgraded_directly(token, chain, upgrader, v2_impl):
    impl = project.DepositToken.at(implementation_address(chain, token))
    with reverts(impl.UUPSUnauthorizedCallContext):
        impl.upgradeToAndCall(v2_impl, b"", sender=upgrader)


def test_proxiable_uuid(token, chain, v2_impl):
    assert v2_impl.proxiableUUID() == IMPLEMENTATION_SLOT.to_bytes(32, "big")
    with reverts("UUPSUnauthorizedCallContext", decode_with=token):
        token.proxiableUUID()


def test_upgrade_back_to_v1(token, chain, upgrader, v2_impl, alice):
    v1 = implementation_address(chain, token)
    token.upgradeToAndCall(v2_impl, b"", sender=upgrader)
    token.upgradeToAndCall(v1, b"", sender=upgrader)
    assert token.version() == "1.1.0"
    assert token.balanceOf(alice) == INITIAL


# OpenZeppelin's EIP712Upgradeable storage (ERC-7201 "openzeppelin.storage.EIP712"): hashed name and
# version, then name and version (short strings, inline)
EIP712_STORAGE = 0xA16A46D94261C7517CC8FF89F61C0CE93598E3C849801011DEE649A6A557D100


def initialized_version(chain, token) -> int:
    word = chain.provider.make_request("eth_getStorageAt", [token.address, hex(INITIALIZABLE_STORAGE), "latest"])
    return int(word, 16) & (2**64 - 1)


def test_token_deployed_as_1_1_0_refuses_the_1_0_0_upgrade_step(token, chain, upgrader):
    """A token deployed as 1.1.0 starts at initializer version 2: the 1.0.0 upgrade step
    `initializeAuthorizations` (reinitializer 2) cannot run on it, so it cannot use up a version or
    reset the EIP-712 domain; the next migration takes version 3."""
    assert initialized_version(chain, token) == 2
    domain = token.eip712Domain()
    with reverts(token.InvalidInitialization):
        token.initializeAuthorizations(sender=upgrader)
    new_impl = upgrader.deploy(project.DepositToken)
    with reverts(token.InvalidInitialization):
        token.upgradeToAndCall(new_impl, new_impl.initializeAuthorizations.encode_input(), sender=upgrader)
    assert initialized_version(chain, token) == 2
    assert token.eip712Domain() == domain


def test_upgrade_from_1_0_0_sets_up_the_eip712_domain(token, chain, upgrader, admin, alice, bob):
    """A token deployed as 1.0.0 had no EIP-712 domain: upgrading it with `initializeAuthorizations`
    gives it one (its name, version 1), once, by the upgrader only; permits then work."""
    from deptoken.token import authorizations as auth
    from deptoken.token import TokenClient

    for i in range(4):  # the proxy's state as 1.0.0 left it: no EIP-712 domain, initializer version 1
        chain.provider.make_request("anvil_setStorageAt", [token.address, hex(EIP712_STORAGE + i), "0x" + "00" * 32])
    chain.provider.make_request("anvil_setStorageAt", [token.address, hex(INITIALIZABLE_STORAGE), "0x" + "00" * 31 + "01"])
    assert initialized_version(chain, token) == 1
    assert token.eip712Domain()[1:3] == ("", "")
    new_impl = admin.deploy(project.DepositToken)
    with reverts(token.AccessControlUnauthorizedAccount, account=alice, neededRole=role_id("UPGRADER_ROLE")):
        token.initializeAuthorizations(sender=alice)
    receipt = token.upgradeToAndCall(new_impl, new_impl.initializeAuthorizations.encode_input(), sender=upgrader)
    assert ("Initialized", {"version": 2}) in events(receipt)
    assert token.eip712Domain()[1:3] == ("Example Bank USD Deposit", "1")
    with reverts(token.InvalidInitialization):
        token.initializeAuthorizations(sender=upgrader)
    client = TokenClient.from_contract(token)
    auth.submit(client, auth.sign(alice, auth.permit(client, alice, bob, "1.00", deadline=chain.pending_timestamp + 600)), sender=bob)
    assert token.allowance(alice, bob) == 100
