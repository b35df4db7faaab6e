"""Upgrades from each released version (``releases/<version>.json``: 1.0.0 and 1.1.0 as built from
their commits) to the current token, on Anvil, with real state made through the release's own ABI:
every value is read back the same through the current ABI, the once-only references, nonces and
authorizations stay used, and the rules still hold."""

from __future__ import annotations

import pytest
from ape import Contract, project
from ape.contracts import ContractContainer
from ethpm_types import ContractType

from deptoken import eip712, releases
from deptoken.storage_layout import erc7201_slot
from deptoken.token import TokenClient
from deptoken.token import authorizations as auth

from constants import IMPLEMENTATION_SLOT, INITIALIZABLE_STORAGE, ROLE_NAMES
from helpers import MAX_UINT256, ZERO_ADDRESS, events, init_params, ref, reverts, role_id

pytestmark = pytest.mark.slow  # each test deploys a release and the current implementation

KYC_DAYS = 400 * 86400
# OpenZeppelin's EIP712Storage: _hashedName, _hashedVersion, _name, _version (short strings: one word each)
EIP712_STORAGE = erc7201_slot("openzeppelin.storage.EIP712")


def release_types(version: str) -> dict[str, ContractType]:
    artefact = releases.load(version)
    return {
        name: ContractType.model_validate(
            {"contractName": name, "abi": body["abi"], "deploymentBytecode": {"bytecode": body["bytecode"]}}
        )
        for name, body in artefact["contracts"].items()
    }


def deploy_release(version: str, deployer, **roles):
    """The release's implementation behind the release's proxy, initialized with its own ABI."""
    types = release_types(version)
    implementation = deployer.deploy(ContractContainer(types["DepositToken"]))
    params = init_params(deployer, name="Example Bank USD Deposit", symbol="EXUSD", **roles)
    proxy = deployer.deploy(ContractContainer(types["DepositTokenProxy"]), implementation,
                            implementation.initialize.encode_input(params))
    return Contract(proxy.address, contract_type=types["DepositToken"])


def word(chain, address, slot: int) -> int:
    return int(chain.provider.make_request("eth_getStorageAt", [address, hex(slot), "latest"]), 16)


def storage_written(chain, txn_hash, address: str) -> dict[int, tuple[int, int]]:
    """The storage words of ``address`` that a transaction changed, slot -> (before, after), from the
    node's own state diff (``prestateTracer`` in diff mode: a word absent on one side is zero there)."""
    diff = chain.provider.make_request("debug_traceTransaction", [
        txn_hash if isinstance(txn_hash, str) else "0x" + bytes(txn_hash).hex(),
        {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}])
    pre, post = ({int(k, 16): int(v, 16) for k, v in diff[side].get(address.lower(), {}).get("storage", {}).items()}
                 for side in ("pre", "post"))
    return {slot: (pre.get(slot, 0), post.get(slot, 0)) for slot in pre.keys() | post.keys()
            if pre.get(slot, 0) != post.get(slot, 0)}


def build_state(token, chain, accounts, people) -> dict:
    """Every kind of state a release keeps, made through its own functions."""
    p = people
    expiry = chain.pending_timestamp + KYC_DAYS
    token.configureMinter(p["minter"], 10**12, sender=p["minter_admin"])
    token.configureMinter(p["minter2"], 777_777, sender=p["minter_admin"])
    for i, holder in enumerate(p["holders"]):
        token.allowlist(holder, expiry + i, sender=p["compliance"])
        token.mint(holder, 1_000_000 * (i + 1), ref(f"dep-{i}"), sender=p["minter"])
    token.allowlist(p["minter"], expiry, sender=p["compliance"])
    token.allowlist(p["legal_account"], expiry, sender=p["compliance"])
    token.mint(p["minter"], 50_000, ref("dep-minter"), sender=p["minter"])
    token.burn(20_000, ref("burn-1"), sender=p["minter"])
    alice, bob, carol, dave = p["holders"]
    token.transfer(bob, 12_345, sender=alice)
    token.approve(carol, 4_321, sender=alice)
    token.approve(alice, MAX_UINT256, sender=bob)
    token.transferFrom(bob, dave, 1_000, sender=alice)
    token.redeem(2_500, ref("payout-1"), sender=carol)
    token.setFrozenTokens(bob, 250_000, sender=p["legal"])
    token.setFrozenTokens(carol, 10**9, sender=p["legal"])  # a lien above the balance
    token.freezeAccount(dave, sender=p["compliance"])
    token.seize(alice, p["legal_account"], 5_000, ref("order-1"), sender=p["legal"])
    token.setIssuer("Example Bank N.A.", "5493001KJTIIGC8Y1R12", "EXBKUS33XXX", sender=p["admin"])
    token.grantRole(role_id("PAUSER_ROLE"), p["pauser2"], sender=p["admin"])
    token.revokeRole(role_id("COMPLIANCE_ROLE"), p["admin"], sender=p["admin"])
    token.beginDefaultAdminTransfer(p["next_admin"], sender=p["admin"])
    token.changeDefaultAdminDelay(2 * 86400, sender=p["admin"])  # pending too, beside the admin transfer
    token.pause(sender=p["pauser"])


def snapshot(token, people) -> dict:
    """Every value a release exposes, read through ``token``'s ABI (the functions 1.0.0 already had),
    for every account the state involves."""
    p = people
    parties = [*p["holders"], p["minter"], p["minter2"], p["legal_account"], p["admin"]]
    everyone = {a.address for v in p.values() for a in (v if isinstance(v, list) else [v])}
    refs = [ref(f"dep-{i}") for i in range(4)] + [ref("dep-minter"), ref("dep-unused")]
    return {
        "name": token.name(), "symbol": token.symbol(), "decimals": token.decimals(),
        "currency": token.currency(), "issuer": tuple(token.issuer()), "totalSupply": token.totalSupply(),
        "paused": token.paused(),
        "accounts": {a.address: (token.balanceOf(a), token.allowlistExpiry(a), token.isAllowlisted(a),
                                 token.isFrozen(a), token.getFrozenTokens(a), token.unfrozenBalanceOf(a),
                                 token.minterAllowance(a))
                     for a in parties},
        "allowances": {(o.address, s.address): token.allowance(o, s) for o in parties for s in parties},
        "depositRefs": {r: token.isDepositRefUsed(r) for r in refs},
        "burnRefs": {r: token.isBurnRefUsed(r) for r in (ref("burn-1"), ref("burn-unused"))},
        "payoutRefs": {(a.address, r): token.isPayoutRefUsed(a, r)
                       for a in parties[:4] for r in (ref("payout-1"), ref("payout-unused"))},
        "roles": {(r, a): token.hasRole(role_id(r), a) for r in ROLE_NAMES for a in sorted(everyone)},
        "roleAdmins": {r: token.getRoleAdmin(role_id(r)) for r in ROLE_NAMES},
        "defaultAdmin": token.defaultAdmin(), "defaultAdminDelay": token.defaultAdminDelay(),
        "pendingDefaultAdmin": tuple(token.pendingDefaultAdmin()),
        "pendingDefaultAdminDelay": tuple(token.pendingDefaultAdminDelay()),
        "version": token.version(),
    }


@pytest.fixture
def people(accounts, admin, minter_admin, minter, compliance, legal, pauser, upgrader):
    return {
        "admin": admin, "minter_admin": minter_admin, "minter": minter, "compliance": compliance,
        "legal": legal, "pauser": pauser, "upgrader": upgrader,
        "holders": [accounts[i] for i in (7, 8, 9, 10)],  # alice, bob, carol and dave
        "minter2": accounts[43], "pauser2": accounts[42], "next_admin": accounts[41], "legal_account": accounts[40],
    }


def roles_of(people) -> dict:
    return {"minterAdmin": people["minter_admin"], "compliance": people["compliance"], "legal": people["legal"],
            "pauser": people["pauser"], "upgrader": people["upgrader"]}


def upgrade(token, version: str, people, chain, written: dict | None = None):
    """Upgrades the live proxy to a new current implementation as the current contract documents:
    1.0.0 with `initializeAuthorizations` (its EIP-712 domain), 1.1.0 with no call. The storage words
    the upgrade changed go into ``written``."""
    before = word(chain, token.address, IMPLEMENTATION_SLOT)
    current = people["admin"].deploy(project.DepositToken)  # its constructor deploys its DepositTokenAdmin
    data = current.initializeAuthorizations.encode_input() if version == "1.0.0" else b""
    receipt = token.upgradeToAndCall(current, data, sender=people["upgrader"])
    assert ("Upgraded", {"implementation": current.address}) in events(receipt)
    after = word(chain, token.address, IMPLEMENTATION_SLOT)
    assert after == int(current.address, 16) != before
    if written is not None:
        written.update(storage_written(chain, receipt.txn_hash, token.address))
    upgraded = project.DepositToken.at(token.address)
    assert upgraded.version() == current.version()  # the proxy reports the new implementation's version
    return upgraded


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
def test_upgrade_from_release_keeps_every_value(version, chain, accounts, people):
    token = deploy_release(version, people["admin"], **roles_of(people))
    assert token.version() == version
    build_state(token, chain, accounts, people)
    before = snapshot(token, people)
    # the state is not trivial: each kind of value is there to lose
    alice, bob, carol, dave = people["holders"]
    assert before["paused"] and before["accounts"][dave.address][3] and before["accounts"][carol.address][4] == 10**9
    assert before["allowances"][(bob.address, alice.address)] == MAX_UINT256  # infinite: not spent down
    assert before["allowances"][(alice.address, carol.address)] == 4_321
    assert before["depositRefs"][ref("dep-3")] and before["burnRefs"][ref("burn-1")]
    assert before["payoutRefs"][(carol.address, ref("payout-1"))]
    assert before["pendingDefaultAdmin"][0] == people["next_admin"].address
    assert before["pendingDefaultAdminDelay"][0] == 2 * 86400
    assert before["roles"][("PAUSER_ROLE", people["pauser2"].address)]
    assert not before["roles"][("COMPLIANCE_ROLE", people["admin"].address)]
    initialized = word(chain, token.address, INITIALIZABLE_STORAGE) & (2**64 - 1)
    assert initialized == (1 if version == "1.0.0" else 2)

    written: dict[int, tuple[int, int]] = {}
    current = upgrade(token, version, people, chain, written)

    # raw storage: the upgrade changed the implementation slot and, from 1.0.0, only what its documented
    # step sets (initializer version 1 -> 2, the EIP-712 name and version); no word the release wrote
    expected = {IMPLEMENTATION_SLOT}
    if version == "1.0.0":
        expected |= {INITIALIZABLE_STORAGE, EIP712_STORAGE + 2, EIP712_STORAGE + 3}
        assert written[INITIALIZABLE_STORAGE] == (1, 2)
        assert written[EIP712_STORAGE + 2][0] == written[EIP712_STORAGE + 3][0] == 0  # 1.0.0 had no domain
    assert set(written) == expected
    # every value, read through the current ABI, is the release's but the version (checked by upgrade())
    after = snapshot(current, people)
    assert before.pop("version") == version and after.pop("version") != ""
    assert after == before
    assert word(chain, token.address, INITIALIZABLE_STORAGE) & (2**64 - 1) == 2
    assert current.minterRateLimitOf(people["minter"])[:2] == (0, 0)  # new in the current version: unset


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
def test_upgraded_release_keeps_its_once_only_references_and_rules(version, chain, accounts, people):
    token = deploy_release(version, people["admin"], **roles_of(people))
    build_state(token, chain, accounts, people)
    current = upgrade(token, version, people, chain)
    alice, bob, carol, dave = people["holders"]
    p = people

    with reverts(current.EnforcedPause):
        current.transfer(bob, 1, sender=alice)
    current.unpause(sender=p["pauser2"])  # a role granted under the release still works
    with reverts(current.DepositReferenceUsed, depositRef=ref("dep-0")):
        current.mint(alice, 1, ref("dep-0"), sender=p["minter"])
    with reverts(current.BurnReferenceUsed, burnRef=ref("burn-1")):
        current.burn(1, ref("burn-1"), sender=p["minter"])
    with reverts(current.PayoutReferenceUsed, account=carol, payoutRef=ref("payout-1")):
        current.redeem(1, ref("payout-1"), sender=carol)
    with reverts(current.ERC7943CannotSend, account=dave):  # frozen under the release
        current.transfer(alice, 1, sender=dave)
    unfrozen = current.balanceOf(bob) - 250_000  # the lien set under the release still binds
    with reverts(current.ERC7943InsufficientUnfrozenBalance, account=bob, amount=unfrozen + 1, unfrozen=unfrozen):
        current.transfer(alice, unfrozen + 1, sender=bob)
    current.transfer(alice, unfrozen, sender=bob)
    current.transferFrom(bob, carol, 0, sender=alice)  # the max allowance granted under the release
    current.mint(alice, 100, ref("dep-after"), sender=p["minter"])
    assert current.minterAllowance(p["minter"]) == 10**12 - (1_000_000 + 2_000_000 + 3_000_000 + 4_000_000 + 50_000 + 100)
    chain.pending_timestamp += 86400 + 1
    current.acceptDefaultAdminTransfer(sender=p["next_admin"])  # the transfer begun under the release
    assert current.defaultAdmin() == p["next_admin"].address
    current.setMinterRateLimit(p["minter"], 1_000, 86400, sender=p["minter_admin"])  # new in the current version
    with reverts(current.MinterRateLimitExceeded, minter=p["minter"], available=1_000, amount=1_001):
        current.mint(alice, 1_001, ref("dep-limited"), sender=p["minter"])


def test_permits_and_authorizations_used_under_1_1_0_stay_used(chain, accounts, people):
    token = deploy_release("1.1.0", people["admin"], **roles_of(people))
    build_state(token, chain, accounts, people)
    token.unpause(sender=people["pauser"])
    alice, bob, carol, _ = people["holders"]
    client = TokenClient.from_contract(token)
    deadline = chain.pending_timestamp + 3600
    permit = auth.sign(alice, auth.permit(client, alice, bob, "1.00", deadline=deadline))
    auth.submit(client, permit, sender=bob)
    authorization = auth.sign(bob, auth.transfer_authorization(client, bob, carol, "2.00", valid_for=3600))
    auth.submit(client, authorization, sender=carol)
    nonce = authorization.message["nonce"]
    domain = token.eip712Domain()
    assert token.nonces(alice) == 1 and token.authorizationState(bob, nonce)

    current = upgrade(token, "1.1.0", people, chain)
    current_client = TokenClient.from_contract(current)

    assert current.eip712Domain() == domain and current.nonces(alice) == 1 and current.authorizationState(bob, nonce)
    m = authorization.message  # sent as signed, past the library's own check
    with reverts(current.ERC3009UsedAuthorization, authorizer=bob, nonce=nonce):
        current.transferWithAuthorization(m["from"], m["to"], m["value"], m["validAfter"], m["validBefore"], m["nonce"],
                                          *eip712.split(authorization.signature), sender=carol)
    m = permit.message  # signed for nonce 0, which is used: it no longer verifies
    with reverts(current.ERC2612InvalidSignature, owner=alice):
        current.permit(m["owner"], m["spender"], m["value"], m["deadline"], *eip712.split(permit.signature), sender=bob)
    auth.submit(current_client, auth.sign(alice, auth.permit(current_client, alice, bob, "3.00", deadline=deadline)),
                sender=bob)
    assert current.nonces(alice) == 2 and current.allowance(alice, bob) == 300


def test_1_0_0_upgraded_gets_its_eip712_domain_and_permits_work(chain, accounts, people):
    token = deploy_release("1.0.0", people["admin"], **roles_of(people))
    build_state(token, chain, accounts, people)
    current = upgrade(token, "1.0.0", people, chain)
    current.unpause(sender=people["pauser"])
    assert current.eip712Domain()[1:3] == ("Example Bank USD Deposit", "1")
    with reverts(current.InvalidInitialization):  # once
        current.initializeAuthorizations(sender=people["upgrader"])
    alice, bob, carol, _ = people["holders"]
    client = TokenClient.from_contract(current)
    auth.submit(client, auth.sign(alice, auth.permit(client, alice, carol, "1.00",
                                                     deadline=chain.pending_timestamp + 600)), sender=carol)
    assert current.allowance(alice, carol) == 100 and current.nonces(alice) == 1
    auth.submit(client, auth.sign(bob, auth.transfer_authorization(client, bob, carol, "1.00", valid_for=600)),
                sender=carol)


def test_1_0_0_upgraded_without_its_step_cannot_be_initialized_by_anyone(chain, accounts, people):
    """slither-check-upgradeability (multiple-new-reinitializers, from 1.0.0): the current token has two
    reinitializer(2) functions 1.0.0 did not, `initialize` (anyone) and `initializeAuthorizations`
    (upgrader). Upgraded as documented, in one transaction with the step, the token is at version 2 at
    once. Upgraded without it, it stays at version 1, which `reinitializer(2)` alone would let anyone
    initialize, and take every role once the default admin was renounced: `initialize` refuses a token
    that already has a currency (InvalidInitialization), whoever calls and whether an admin is left."""
    p = people
    token = deploy_release("1.0.0", p["admin"], **roles_of(p))
    token.beginDefaultAdminTransfer(ZERO_ADDRESS, sender=p["admin"])  # the bank renounces its default admin
    chain.pending_timestamp += 86400 + 1
    token.renounceRole(role_id("DEFAULT_ADMIN_ROLE"), p["admin"], sender=p["admin"])
    assert token.defaultAdmin() == ZERO_ADDRESS
    current = p["admin"].deploy(project.DepositToken)
    token.upgradeToAndCall(current, b"", sender=p["upgrader"])  # without the step
    upgraded = project.DepositToken.at(token.address)
    assert word(chain, token.address, INITIALIZABLE_STORAGE) & (2**64 - 1) == 1
    stranger = accounts[13]
    with reverts(upgraded.InvalidInitialization):
        upgraded.initialize(init_params(stranger), sender=stranger)
    assert word(chain, token.address, INITIALIZABLE_STORAGE) & (2**64 - 1) == 1
    assert not upgraded.hasRole(role_id("UPGRADER_ROLE"), stranger) and upgraded.name() == "Example Bank USD Deposit"
    upgraded.initializeAuthorizations(sender=p["upgrader"])  # the step, late
    with reverts(upgraded.InvalidInitialization):
        upgraded.initialize(init_params(stranger), sender=stranger)
    assert upgraded.eip712Domain()[1:3] == ("Example Bank USD Deposit", "1")
