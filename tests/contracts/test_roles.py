"""Access control: every privileged function, called by every account that lacks its role, reverts
with AccessControlUnauthorizedAccount(account, neededRole); and a deployment grants exactly the
roles its configuration names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deptoken.token.deployer import deploy_token
from helpers import (
    INITIAL,
    ZERO_ADDRESS,
    eth_call_reverts,
    ev,
    events,
    ref,
    reverts,
    role_holders,
    role_id,
)

from constants import INITIALIZABLE_STORAGE, ROLE_NAMES

# Which fixture holds which role in the configured `token` fixture.
HOLDER = {
    "DEFAULT_ADMIN_ROLE": "admin",
    "MINTER_ADMIN_ROLE": "minter_admin",
    "MINTER_ROLE": "minter",
    "COMPLIANCE_ROLE": "compliance",
    "LEGAL_ROLE": "legal",
    "PAUSER_ROLE": "pauser",
    "UPGRADER_ROLE": "upgrader",
}
CALLERS = ["admin", "minter_admin", "minter", "compliance", "legal", "pauser", "upgrader", "alice", "outsider"]


def _call_args(fn: str, acc: dict, token, chain) -> tuple:
    """Plausible arguments, so that only the role check can make the call fail."""
    alice, bob, carol = acc["alice"], acc["bob"], acc["carol"]
    expiry = chain.blocks.head.timestamp + 10**6
    return {
        "setIssuer": ("Bank", "", "NEWBDEFF"),
        "rescueERC20": (alice, carol, 0),
        "beginDefaultAdminTransfer": (carol,),
        "cancelDefaultAdminTransfer": (),
        "changeDefaultAdminDelay": (3600,),
        "rollbackDefaultAdminDelay": (),
        "grantRole:COMPLIANCE_ROLE": (role_id("COMPLIANCE_ROLE"), carol),
        "revokeRole:COMPLIANCE_ROLE": (role_id("COMPLIANCE_ROLE"), acc["compliance"]),
        "grantRole:LEGAL_ROLE": (role_id("LEGAL_ROLE"), carol),
        "grantRole:PAUSER_ROLE": (role_id("PAUSER_ROLE"), carol),
        "grantRole:UPGRADER_ROLE": (role_id("UPGRADER_ROLE"), carol),
        "grantRole:MINTER_ADMIN_ROLE": (role_id("MINTER_ADMIN_ROLE"), carol),
        "configureMinter": (carol, 100),
        "removeMinter": (acc["minter"],),
        "setMinterRateLimit": (acc["minter"], 1_000, 86_400),
        "grantRole:MINTER_ROLE": (role_id("MINTER_ROLE"), carol),
        "revokeRole:MINTER_ROLE": (role_id("MINTER_ROLE"), acc["minter"]),
        "mint": (alice, 1, ref("role-mint")),
        "burn": (1, ref("role-burn")),
        "crosschainMint": (alice, 1),
        "crosschainBurn": (acc["minter"], 1),  # the bridge's own tokens (another holder's need its approval)
        "allowlist": (bob, expiry),
        "allowlistBatch": ([bob], [expiry]),
        "removeFromAllowlist": (bob,),
        "removeFromAllowlistBatch": ([bob],),
        "freezeAccount": (bob,),
        "unfreezeAccount": (bob,),
        "setFrozenTokens": (bob, 1),
        "forcedTransfer": (bob, carol, 1),
        "seize": (bob, carol, 1, ref("order")),
        "recoverAccount": (bob, acc["fresh"]),
        "pause": (),
        "unpause": (),
        "upgradeToAndCall": (acc["new_impl"], b""),
        "initializeAuthorizations": (),
    }[fn]


PRIVILEGED = [
    ("setIssuer", "DEFAULT_ADMIN_ROLE"),
    ("rescueERC20", "DEFAULT_ADMIN_ROLE"),
    ("beginDefaultAdminTransfer", "DEFAULT_ADMIN_ROLE"),
    ("cancelDefaultAdminTransfer", "DEFAULT_ADMIN_ROLE"),
    ("changeDefaultAdminDelay", "DEFAULT_ADMIN_ROLE"),
    ("rollbackDefaultAdminDelay", "DEFAULT_ADMIN_ROLE"),
    ("grantRole:COMPLIANCE_ROLE", "DEFAULT_ADMIN_ROLE"),
    ("revokeRole:COMPLIANCE_ROLE", "DEFAULT_ADMIN_ROLE"),
    ("grantRole:LEGAL_ROLE", "DEFAULT_ADMIN_ROLE"),
    ("grantRole:PAUSER_ROLE", "DEFAULT_ADMIN_ROLE"),
    ("grantRole:UPGRADER_ROLE", "DEFAULT_ADMIN_ROLE"),
    ("grantRole:MINTER_ADMIN_ROLE", "DEFAULT_ADMIN_ROLE"),
    ("configureMinter", "MINTER_ADMIN_ROLE"),
    ("removeMinter", "MINTER_ADMIN_ROLE"),
    ("setMinterRateLimit", "MINTER_ADMIN_ROLE"),
    ("grantRole:MINTER_ROLE", "MINTER_ADMIN_ROLE"),
    ("revokeRole:MINTER_ROLE", "MINTER_ADMIN_ROLE"),
    ("mint", "MINTER_ROLE"),
    ("burn", "MINTER_ROLE"),
    ("crosschainMint", "MINTER_ROLE"),
    ("crosschainBurn", "MINTER_ROLE"),
    ("allowlist", "COMPLIANCE_ROLE"),
    ("allowlistBatch", "COMPLIANCE_ROLE"),
    ("removeFromAllowlist", "COMPLIANCE_ROLE"),
    ("removeFromAllowlistBatch", "COMPLIANCE_ROLE"),
    ("freezeAccount", "COMPLIANCE_ROLE"),
    ("unfreezeAccount", "COMPLIANCE_ROLE"),
    ("setFrozenTokens", "LEGAL_ROLE"),
    ("forcedTransfer", "LEGAL_ROLE"),
    ("seize", "LEGAL_ROLE"),
    ("recoverAccount", "LEGAL_ROLE"),
    ("pause", "PAUSER_ROLE"),
    ("unpause", "PAUSER_ROLE"),
    ("upgradeToAndCall", "UPGRADER_ROLE"),
    ("initializeAuthorizations", "UPGRADER_ROLE"),
]

# State-changing functions anybody may call (their own rules apply).
PUBLIC = {
    "transfer", "approve", "transferFrom", "redeem", "initialize", "acceptDefaultAdminTransfer", "renounceRole",
    # authorized by the holder's signature, not a role (tests/contracts/test_authorizations.py)
    "permit", "transferWithAuthorization", "receiveWithAuthorization", "cancelAuthorization",
}



@pytest.fixture
def acc(admin, minter_admin, minter, compliance, legal, pauser, upgrader, alice, bob, carol, outsider,
        accounts, chain):
    chain.set_balance(outsider, 10**18)
    return {
        "admin": admin, "minter_admin": minter_admin, "minter": minter, "compliance": compliance,
        "legal": legal, "pauser": pauser, "upgrader": upgrader, "alice": alice, "bob": bob, "carol": carol,
        "outsider": outsider, "fresh": accounts.generate_test_account(),
        "new_impl": None,  # deployed by _prepare when needed
    }


def _prepare(fn, token, acc, chain, pauser):
    """State in which the call can fail only for lack of the role."""
    if fn == "unpause":
        token.pause(sender=pauser)
    if fn == "unfreezeAccount":
        token.freezeAccount(acc["bob"], sender=acc["compliance"])
    if fn in ("burn", "crosschainBurn"):
        token.transfer(acc["minter"], 1, sender=acc["alice"])
    if fn == "recoverAccount":  # the replacement must already be allowlisted by compliance
        token.allowlist(acc["fresh"], chain.blocks.head.timestamp + 10**6, sender=acc["compliance"])
    if fn == "initializeAuthorizations":  # the 1.0.0 upgrade step runs only on a token at initializer version 1
        chain.provider.make_request("anvil_setStorageAt", [token.address, hex(INITIALIZABLE_STORAGE), "0x" + "00" * 31 + "01"])
    if fn == "upgradeToAndCall":
        from ape import project

        acc["new_impl"] = acc["admin"].deploy(project.DepositToken)  # a valid UUPS implementation


def test_privileged_table_covers_every_state_changing_function(token):
    """Every non-view function of the ABI is either in the table or deliberately public."""
    abi_functions = {
        a.name for a in token.contract_type.abi
        if a.type == "function" and a.stateMutability in ("nonpayable", "payable")
    }
    in_table = {fn.split(":")[0] for fn, _ in PRIVILEGED}
    assert abi_functions == in_table | PUBLIC


@pytest.mark.parametrize("fn, role", PRIVILEGED, ids=[fn for fn, _ in PRIVILEGED])
def test_unauthorized(token, acc, chain, pauser, fn, role):
    """Every account but the role's holder (all other role holders, a client, an outsider)."""
    _prepare(fn, token, acc, chain, pauser)
    name = fn.split(":")[0]
    args = _call_args(fn, acc, token, chain)
    callers = [c for c in CALLERS if c != HOLDER[role]]
    assert len(callers) == len(CALLERS) - 1
    # one real transaction (the outsider's) ...
    with reverts(token.AccessControlUnauthorizedAccount, account=acc["outsider"], neededRole=role_id(role)):
        getattr(token, name)(*args, sender=acc["outsider"])
    # ... and every other caller simulated with eth_call (same code path, no trace: fast)
    for caller in callers:
        who = acc[caller]
        try:
            eth_call_reverts(token, name, args, who, "AccessControlUnauthorizedAccount",
                             account=who, neededRole=role_id(role))
        except AssertionError as err:
            raise AssertionError(f"{fn} called by {caller}: {err}") from err


@pytest.mark.parametrize("fn, role", PRIVILEGED, ids=[fn for fn, _ in PRIVILEGED])
def test_holder_passes_the_role_check(token, acc, chain, pauser, fn, role):
    """The table is right: the named holder gets past the role check (the call succeeds)."""
    _prepare(fn, token, acc, chain, pauser)
    name = fn.split(":")[0]
    args = _call_args(fn, acc, token, chain)
    if fn == "rescueERC20":
        # "rescuing" from an address without code fails after the role check (see test_admin for a real rescue)
        with reverts(token.SafeERC20FailedOperation, token=acc["alice"]):
            token.rescueERC20(*args, sender=acc[HOLDER[role]])
        return
    receipt = getattr(token, name)(*args, sender=acc[HOLDER[role]])
    assert receipt.status == 1


def test_role_admins(token):
    default = role_id("DEFAULT_ADMIN_ROLE")
    assert token.getRoleAdmin(role_id("MINTER_ROLE")) == role_id("MINTER_ADMIN_ROLE")
    for name in ("DEFAULT_ADMIN_ROLE", "MINTER_ADMIN_ROLE", "COMPLIANCE_ROLE", "LEGAL_ROLE", "PAUSER_ROLE",
                 "UPGRADER_ROLE"):
        assert token.getRoleAdmin(role_id(name)) == default


def test_role_constants(token):
    for name in ROLE_NAMES[1:]:
        assert getattr(token, name)() == role_id(name)
    assert token.DEFAULT_ADMIN_ROLE() == role_id("DEFAULT_ADMIN_ROLE")


def test_minter_admin_grants_minter_role_not_default_admin(token, admin, minter_admin, carol):
    minter_role = role_id("MINTER_ROLE")
    with reverts(token.AccessControlUnauthorizedAccount, account=admin, neededRole=role_id("MINTER_ADMIN_ROLE")):
        token.grantRole(minter_role, carol, sender=admin)
    receipt = token.grantRole(minter_role, carol, sender=minter_admin)
    assert events(receipt) == [ev("RoleGranted", role=minter_role, account=carol, sender=minter_admin)]
    assert token.hasRole(minter_role, carol)


def test_configured_roles_held_exactly(token, acc, accounts):
    """In the devnet deployment each role is held by exactly its configured holder (among all known
    accounts); the minter role by the minter configured after deployment."""
    everybody = [acc[c] for c in CALLERS] + [acc["bob"], acc["carol"]] + list(accounts)
    for name in ROLE_NAMES:
        assert role_holders(token, name, everybody) == {acc[HOLDER[name]].address}, name


def test_renounced_role_is_gone(token, pauser):
    token.renounceRole(role_id("PAUSER_ROLE"), pauser, sender=pauser)
    with reverts(token.AccessControlUnauthorizedAccount, account=pauser, neededRole=role_id("PAUSER_ROLE")):
        token.pause(sender=pauser)


def test_cannot_renounce_for_someone_else(token, pauser, alice):
    with reverts(token.AccessControlBadConfirmation):
        token.renounceRole(role_id("PAUSER_ROLE"), pauser, sender=alice)


# ------------------------------------------------------------------ deployment grants only what it names


@pytest.mark.parametrize("unset", ["minter_admin", "compliance", "legal", "pauser", "upgrader"])
def test_deploy_grants_only_named_roles(devnet_config, accounts, unset, carol):
    roles = dict(devnet_config.roles)
    roles[unset] = None
    deployer = carol  # deploys, but is named in no role
    t, _ = deploy_token(replace(devnet_config, roles=roles), deployer, record=False)
    role_of = {
        "admin": "DEFAULT_ADMIN_ROLE", "minter_admin": "MINTER_ADMIN_ROLE", "compliance": "COMPLIANCE_ROLE",
        "legal": "LEGAL_ROLE", "pauser": "PAUSER_ROLE", "upgrader": "UPGRADER_ROLE",
    }
    everybody = list(accounts) + [deployer]
    for key, role in role_of.items():
        holders = role_holders(t, role, everybody)
        expected = set() if key == unset else {roles[key]}
        assert holders == expected, (key, holders)
    assert not role_holders(t, "MINTER_ROLE", everybody)
    for role in ROLE_NAMES:
        assert not role_holders(t, role, [deployer, ZERO_ADDRESS]), role


def test_deploy_without_pauser_nobody_can_pause(devnet_config, admin, pauser, carol):
    roles = dict(devnet_config.roles, pauser=None)
    t, _ = deploy_token(replace(devnet_config, roles=roles), carol, record=False)
    for who in (pauser, admin, carol):
        with reverts(t.AccessControlUnauthorizedAccount, account=who, neededRole=role_id("PAUSER_ROLE")):
            t.pause(sender=who)
    # the admin can still appoint one later
    t.grantRole(role_id("PAUSER_ROLE"), pauser, sender=admin)
    t.pause(sender=pauser)
    assert t.paused()


def test_deploy_with_only_admin(devnet_config, admin, accounts, alice):
    roles = {k: (v if k == "admin" else None) for k, v in devnet_config.roles.items()}
    t, _ = deploy_token(replace(devnet_config, roles=roles), alice, record=False)
    assert t.hasRole(role_id("DEFAULT_ADMIN_ROLE"), admin)
    for role in ROLE_NAMES[1:]:
        assert not role_holders(t, role, accounts), role
    # nothing operational is possible until the admin appoints holders
    with reverts(t.AccessControlUnauthorizedAccount, account=admin, neededRole=role_id("MINTER_ADMIN_ROLE")):
        t.configureMinter(admin, 1, sender=admin)


def test_role_holders_cannot_move_client_funds_by_role(token, admin, compliance, pauser, upgrader, alice, bob):
    """No role other than LEGAL_ROLE moves a client's tokens; the others hold no allowance."""
    for who in (admin, compliance, pauser, upgrader):
        with reverts(token.SpenderNotAllowed, spender=who):
            token.transferFrom(alice, bob, 1, sender=who)
    assert token.balanceOf(alice) == INITIAL
