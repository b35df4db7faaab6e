"""Hashed time-locks (contracts/settlement/HashedTimelock.sol, deptoken.settlement.htlc): every path
and refusal of the contract, the library's checks, the CLI, and two legs on two chains (ape's Anvil,
chain id 31337, and a second Anvil with chain id 31338) that both complete or both refund."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from ape import networks, project
from eth_abi import encode
from eth_utils import keccak

from deptoken.config import load_config
from deptoken.token.deployer import deploy_token
from deptoken.errors import DepositTokenError
from deptoken.token import TokenClient
from deptoken.settlement.htlc import (
    MAX_LOCK_DURATION,
    HtlcClient,
    LockInfo,
    deploy_htlc,
    hashlock_of,
    new_secret,
    parse_deadline,
)
from helpers import (
    deptoken_cli,
    DAY,
    INITIAL,
    YEAR,
    ZERO_ADDRESS,
    decode_error_data,
    eth_call_revert_data,
    ev,
    events,
    next_tx_at,
    norm,
    one_line_error,
    reverts,
    set_time,
)
from ops_support import ROOT, Devnet

from constants import HOUR

AMOUNT = 25_000  # 250.00 USD, minor units
LOCKED, CLAIMED, REFUNDED = 1, 2, 3

# A token that delivers 1% less than it is asked to move: the HTLC must refuse it.
FEE_TOKEN_SOURCE = """// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;
contract FeeToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    function mint(address to, uint256 v) external { balanceOf[to] += v; }
    function approve(address s, uint256 v) external returns (bool) { allowance[msg.sender][s] = v; return true; }
    function transfer(address to, uint256 v) external returns (bool) {
        balanceOf[msg.sender] -= v; balanceOf[to] += v; return true;
    }
    function transferFrom(address f, address to, uint256 v) external returns (bool) {
        allowance[f][msg.sender] -= v; balanceOf[f] -= v; balanceOf[to] += v - v / 100; return true;
    }
}
"""


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def htlc(token, admin, compliance, chain):
    """The HTLC on ape's chain, allowlisted on the USD token for a year."""
    client = deploy_htlc(admin)
    token.allowlist(client.address, chain.pending_timestamp + YEAR, sender=compliance)
    return client


@pytest.fixture(scope="module")
def usd(token, htlc, baseline, fee_token, second_chain, outsider, legal, pauser, carol):  # all up front (see conftest)
    return TokenClient.from_contract(token)


@pytest.fixture(scope="module")
def baseline(admin, alice):
    """A plain OpenZeppelin ERC-20 (no allowlist): the HTLC takes any ERC-20."""
    t = admin.deploy(project.BaselineERC20)
    t.mint(alice, 10**20, sender=admin)
    return t


@pytest.fixture(scope="module")
def fee_token(admin, alice):
    """A fee-on-transfer token, compiled here (a test-only contract of this module alone)."""
    import solcx
    from ape.contracts import ContractContainer
    from solcx.install import get_executable
    from ethpm_types import ContractType
    from packaging.version import Version

    out = solcx.compile_standard(
        {"language": "Solidity", "sources": {"FeeToken.sol": {"content": FEE_TOKEN_SOURCE}},
         "settings": {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}},
        solc_binary=get_executable(Version("0.8.30")),
    )["contracts"]["FeeToken.sol"]["FeeToken"]
    container = ContractContainer(ContractType.model_validate(
        {"contractName": "FeeToken", "abi": out["abi"], "deploymentBytecode": {"bytecode": "0x" + out["evm"]["bytecode"]["object"]}}
    ))
    t = admin.deploy(container)
    t.mint(alice, 10**6, sender=admin)
    return t


@pytest.fixture(scope="module")
def second_chain(tmp_path_factory, accounts, alice, bob):
    """A second Anvil (chain id 31338) with the CNH bank's token and an HTLC, both allowlisted:
    bob holds INITIAL CNH. ``connect()`` makes it ape's active chain inside a ``with`` block."""
    net = Devnet(tmp_path_factory.mktemp("chain2"), chain_id=31338)
    net.start()
    cnh_bank = [accounts[i] for i in range(20, 27)]  # config/devnet-cnh.yaml: beyond Anvil's 20 funded accounts
    for account in cnh_bank:
        net.rpc("anvil_setBalance", account.address, hex(10**21))

    # One provider connection to it (ape's foundry provider attaches to a running Anvil given its
    # host), made active by re-entering the same context; ape disconnects it at the end of the session.
    # (A new connection per use would cost a second or more: ape scans its node map on disconnect.)
    context = networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": f"http://127.0.0.1:{net.port}"})

    @contextmanager
    def connect():
        with context as provider:
            yield provider

    try:
        with connect() as provider:
            assert provider.chain_id == 31338
            admin2, minter_admin2, minter2, compliance2 = cnh_bank[0], cnh_bank[1], cnh_bank[2], cnh_bank[3]
            config = replace(load_config(ROOT / "config" / "devnet-cnh.yaml"), chain_id=31338)
            cnh, _ = deploy_token(config, admin2, record=False)
            htlc2 = deploy_htlc(admin2)
            cnh.configureMinter(minter2, 10**15, sender=minter_admin2)
            expiry = provider.get_block("pending").timestamp + YEAR
            cnh.allowlistBatch([alice, bob, htlc2.address, minter2], [expiry] * 4, sender=compliance2)
            cnh.mint(bob, INITIAL, b"\x02" * 32, sender=minter2)
            ns = SimpleNamespace(net=net, connect=connect, htlc=htlc2, cnh=TokenClient.from_contract(cnh))
        yield ns
    finally:
        net.stop()


@pytest.fixture
def chain2(second_chain):
    """The second chain, reverted after the test (ape isolates only its own chain)."""
    snapshot = second_chain.net.rpc("evm_snapshot")
    yield second_chain
    second_chain.net.rpc("evm_revert", snapshot)


def _lock(htlc, token, sender, recipient, amount, hashlock, deadline):
    """Approves and locks straight through the contract; returns (lock id, lock receipt)."""
    token.approve(htlc.address, amount, sender=sender)
    receipt = htlc.contract.lock(token, recipient, amount, hashlock, deadline, sender=sender)
    [log] = receipt.decode_logs(htlc.contract.Locked)
    return bytes(log.lockId), receipt


def _call_reverts(contract, fn: str, args: tuple, sender, error: str, /, **inputs) -> None:
    """``contract.fn(*args)`` reverts with ``error(**inputs)``, simulated with a plain eth_call (much
    faster than a transaction); the error may also be the token's, bubbled up through the HTLC."""
    contract = project.HashedTimelock.at(contract.address)  # a library Contract too: ape's ABI decodes the errors
    data = eth_call_revert_data(contract, fn, args, sender)
    decoded = decode_error_data(data, contract.contract_type) or decode_error_data(data, project.DepositToken.contract_type)
    assert decoded is not None, f"{fn}: undecodable revert {data!r}"
    assert (decoded[0], {k: norm(v) for k, v in decoded[1].items()}) == (error, {k: norm(v) for k, v in inputs.items()})


def _same_clock(chain, chain2) -> None:
    """Both chains' clocks at the same time (earlier tests may have moved ape's Anvil ahead)."""
    here = chain.pending_timestamp
    with chain2.connect():
        target = max(here, chain.pending_timestamp) + 1
        set_time(chain, target)
    set_time(chain, target)


def _nonce(account) -> int:
    from ape import chain

    return chain.provider.get_nonce(account.address)


# ---------------------------------------------------------------------------- the contract


def test_lock_records_the_lock_and_pulls_the_tokens(usd, htlc, token, alice, bob, chain):
    _, hashlock = new_secret()
    deadline = chain.pending_timestamp + DAY
    nonce = htlc.contract.lockCount()
    lock_id, receipt = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)

    expected_id = keccak(encode(
        ["uint256", "uint256", "uint256", "address", "address", "address", "uint256", "bytes32", "uint64"],
        [31337, int(htlc.address, 16), nonce, alice.address, bob.address, token.address, AMOUNT, hashlock, deadline],
    ))
    assert lock_id == expected_id
    assert events(receipt) == [
        ev("Locked", lockId=lock_id, sender=alice, recipient=bob, token=token, amount=AMOUNT, hashlock=hashlock, deadline=deadline),
        ev("Transfer", **{"from": alice, "to": htlc.address, "value": AMOUNT}),
    ]
    assert tuple(htlc.contract.getLock(lock_id)) == (token.address, deadline, LOCKED, False, bob.address, alice.address, AMOUNT, hashlock)
    assert token.balanceOf(htlc.address) == AMOUNT and token.balanceOf(alice) == INITIAL - AMOUNT
    assert htlc.contract.outstanding(token) == AMOUNT
    assert htlc.contract.lockCount() == nonce + 1
    again, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)  # same terms: another lock
    assert again != lock_id and token.balanceOf(htlc.address) == 2 * AMOUNT
    token.approve(htlc.address, AMOUNT, sender=alice)
    at = chain.pending_timestamp + 10
    next_tx_at(chain, at)
    htlc.contract.lock(token, bob, AMOUNT, hashlock, at + MAX_LOCK_DURATION, sender=alice)  # the longest allowed
    assert htlc.contract.lockCount() == nonce + 3


def test_claim_before_the_deadline_pays_the_recipient(usd, htlc, token, alice, bob, carol, chain):
    preimage, hashlock = new_secret()
    deadline = chain.pending_timestamp + HOUR
    lock_id, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    _call_reverts(htlc.contract, "claim", (lock_id, hashlock), carol, "WrongPreimage", lockId=lock_id)
    _call_reverts(htlc.contract, "claim", (hashlock, preimage), carol, "UnknownLock", lockId=hashlock)
    with reverts("LockNotExpired", lockId=lock_id, deadline=deadline):
        next_tx_at(chain, deadline - 2)
        project.HashedTimelock.at(htlc.address).refund(lock_id, sender=alice)

    next_tx_at(chain, deadline - 1)  # the last second it can be claimed; anyone may send the claim
    receipt = htlc.contract.claim(lock_id, preimage, sender=carol)
    assert events(receipt) == [
        ev("Claimed", lockId=lock_id, preimage=preimage),
        ev("Transfer", **{"from": htlc.address, "to": bob, "value": AMOUNT}),
        ev("Withdrawn", lockId=lock_id, to=bob, amount=AMOUNT),  # paid at once
    ]
    assert htlc.contract.getLock(lock_id).state == CLAIMED and htlc.contract.getLock(lock_id).paid
    _books(htlc, token)
    assert token.balanceOf(bob) == INITIAL + AMOUNT and token.balanceOf(htlc.address) == 0
    _call_reverts(htlc.contract, "claim", (lock_id, preimage), bob, "LockSettled", lockId=lock_id, state=CLAIMED)
    set_time(chain, deadline + 1)
    _call_reverts(htlc.contract, "refund", (lock_id,), alice, "LockSettled", lockId=lock_id, state=CLAIMED)


def test_refund_from_the_deadline_on(usd, htlc, token, alice, bob, carol, chain):
    preimage, hashlock = new_secret()
    deadline = chain.pending_timestamp + HOUR
    lock_id, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    late_id, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    _call_reverts(htlc.contract, "refund", (preimage,), carol, "UnknownLock", lockId=preimage)

    next_tx_at(chain, deadline)  # refundable from the deadline on; anyone may send the refund
    receipt = htlc.contract.refund(lock_id, sender=carol)
    assert events(receipt) == [
        ev("Refunded", lockId=lock_id),
        ev("Transfer", **{"from": htlc.address, "to": alice, "value": AMOUNT}),
        ev("Withdrawn", lockId=lock_id, to=alice, amount=AMOUNT),
    ]
    _books(htlc, token)
    assert htlc.contract.getLock(lock_id).state == REFUNDED
    assert token.balanceOf(alice) == INITIAL - AMOUNT and token.balanceOf(htlc.address) == AMOUNT
    with reverts("LockExpired", lockId=late_id, deadline=deadline):  # claimable only before the deadline
        project.HashedTimelock.at(htlc.address).claim(late_id, preimage, sender=bob)
    _call_reverts(htlc.contract, "refund", (lock_id,), alice, "LockSettled", lockId=lock_id, state=REFUNDED)
    _call_reverts(htlc.contract, "claim", (lock_id, preimage), bob, "LockSettled", lockId=lock_id, state=REFUNDED)


def test_lock_refusals(usd, htlc, token, baseline, fee_token, alice, bob, admin, chain):
    _, hashlock = new_secret()
    c = project.HashedTimelock.at(htlc.address)  # ape's instance: the reverts below are ape's
    ok = chain.pending_timestamp + HOUR
    token.approve(htlc.address, AMOUNT, sender=alice)
    fee_token.approve(htlc.address, 1000, sender=alice)
    other = admin.deploy(project.HashedTimelock)  # not allowlisted on the token
    token.approve(other, AMOUNT, sender=alice)
    cases = [  # (contract, lock arguments, error, error arguments); simulated with eth_call (fast)
        (c, (alice.address, bob, AMOUNT, hashlock, ok), "InvalidToken", {"token": alice}),
        (c, (ZERO_ADDRESS, bob, AMOUNT, hashlock, ok), "InvalidToken", {"token": ZERO_ADDRESS}),
        (c, (token, ZERO_ADDRESS, AMOUNT, hashlock, ok), "InvalidRecipient", {"recipient": ZERO_ADDRESS}),
        (c, (token, htlc.address, AMOUNT, hashlock, ok), "InvalidRecipient", {"recipient": htlc.address}),
        (c, (token, bob, 0, hashlock, ok), "ZeroAmount", {}),
        (c, (token, bob, AMOUNT, b"\x00" * 32, ok), "InvalidHashlock", {}),
        (c, (fee_token, bob, 1000, hashlock, ok), "AmountNotReceived", {"expected": 1000, "received": 990}),
        # the token's own rules: the allowance, and the HTLC must be allowlisted (it is the spender)
        (c, (token, bob, AMOUNT + 1, hashlock, ok), "ERC20InsufficientAllowance",
         {"spender": htlc.address, "allowance": AMOUNT, "needed": AMOUNT + 1}),
        (other, (token, bob, AMOUNT, hashlock, ok), "SpenderNotAllowed", {"spender": other.address}),
    ]
    for contract, args, error, inputs in cases:
        _call_reverts(contract, "lock", args, alice, error, **inputs)
    now = chain.pending_timestamp + 100  # the deadline's bounds, in real transactions at a chosen time
    with reverts(c.DeadlineNotInFuture, deadline=now, timestamp=now):
        next_tx_at(chain, now)
        c.lock(token, bob, AMOUNT, hashlock, now, sender=alice)
    with reverts(c.DeadlineTooFar, deadline=now + MAX_LOCK_DURATION + 2, latest=now + 1 + MAX_LOCK_DURATION):
        next_tx_at(chain, now + 1)
        c.lock(token, bob, AMOUNT, hashlock, now + MAX_LOCK_DURATION + 2, sender=alice)
    assert c.lockCount() == 0 and token.balanceOf(htlc.address) == 0


def test_any_erc20_and_the_token_rules_at_settlement(usd, htlc, token, baseline, alice, bob, carol, compliance, chain):
    preimage, hashlock = new_secret()
    deadline = chain.pending_timestamp + HOUR
    plain = TokenClient.from_contract(baseline)  # no allowlist on a plain ERC-20: the library checks what it can
    assert "holds 0.000000000000000000 BASE" in one_line_error(htlc.lock, plain, alice, "1", hashlock, deadline, sender=bob)
    plain_id = htlc.lock(plain, bob, "1", hashlock, deadline, sender=alice, approve=True).lock_id
    lock_id, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)  # one secret, two locks
    htlc.claim(plain_id, preimage, sender=carol)
    assert baseline.balanceOf(bob) == 10**18 and baseline.balanceOf(htlc.address) == 0

    # A frozen recipient cannot be paid, but its claim is recorded (issue 9: this used to revert,
    # and the sender refunded after the deadline): the payout waits for withdraw after the unfreeze.
    token.freezeAccount(bob, sender=compliance)
    receipt = htlc.claim(lock_id, preimage, sender=carol)
    assert events(receipt) == [ev("Claimed", lockId=lock_id, preimage=preimage)]
    _call_reverts(htlc.contract, "withdraw", (lock_id,), carol, "ERC7943CannotReceive", account=bob)
    assert "recipient " + bob.address + " is frozen" in one_line_error(htlc.withdraw, lock_id, sender=carol)
    set_time(chain, deadline)
    _call_reverts(htlc.contract, "refund", (lock_id,), alice, "LockSettled", lockId=lock_id, state=CLAIMED)
    token.unfreezeAccount(bob, sender=compliance)
    htlc.withdraw(lock_id, sender=carol)
    assert token.balanceOf(bob) == INITIAL + AMOUNT and token.balanceOf(htlc.address) == 0


# ---------------------------------------------------------------------------- the library


def test_library_lock_claim_and_preimage(usd, htlc, token, alice, bob, carol, chain):
    preimage, hashlock = new_secret()
    assert hashlock == hashlib.sha256(preimage).digest() and len(preimage) == 32 and new_secret()[0] != preimage
    now = chain.pending_timestamp
    placed = htlc.lock(usd, bob, "250.00", "0x" + hashlock.hex(), "+2h", sender=alice, approve=True)
    assert placed.approve_receipt is not None and token.allowance(alice, htlc.address) == 0
    info = htlc.lock_info(placed.lock_id)
    assert info == LockInfo(lock_id=placed.lock_id, htlc=htlc.address, chain_id=31337, token=token.address, sender=alice.address,
                            recipient=bob.address, amount=AMOUNT, hashlock=hashlock, deadline=info.deadline, state="locked",
                            paid=False)
    assert now + 2 * HOUR <= info.deadline <= now + 2 * HOUR + 5  # "+2h" from the chain's clock
    assert info.as_dict()["lock_id"] == "0x" + placed.lock_id.hex() and info.as_dict()["amount"] == AMOUNT
    assert htlc.find_preimage(placed.lock_id) is None

    htlc.claim("0x" + placed.lock_id.hex(), preimage, sender=carol)
    assert htlc.lock_info(placed.lock_id).state == "claimed"
    assert htlc.find_preimage(placed.lock_id) == preimage
    assert usd.balance(bob) == usd.to_decimal(INITIAL + AMOUNT)
    assert HtlcClient.at(htlc.address).lock_info(placed.lock_id).state == "claimed"
    assert "no HashedTimelock at" in one_line_error(HtlcClient.at, token.address)


def test_library_lock_refusals_send_nothing(usd, htlc, token, alice, bob, carol, outsider, admin, compliance, chain):
    _, hashlock = new_secret()
    h = "0x" + hashlock.hex()
    now = chain.pending_timestamp
    sent = _nonce(alice), _nonce(carol)
    cases = [
        (dict(recipient="0xabc"), "is not an address"),
        (dict(recipient=bob.address.lower()), "has no EIP-55 checksum"),
        (dict(amount="250.001"), "more than 2 decimal places"),
        (dict(amount=250.5), "never as a float"),
        (dict(hashlock="0x" + "00" * 32), "hashlock must not be zero"),
        (dict(hashlock="0x1234"), "is not 0x followed by 64 hex digits"),
        (dict(deadline=now - 1), "is not in the future"),
        (dict(deadline="+366d"), "more than 365 days ahead"),
        (dict(deadline="2030-01-01T12:00:00"), "has no time zone"),
        (dict(deadline="tomorrow"), "is not unix seconds, +N[s|m|h|d] or an ISO 8601 time"),
        (dict(recipient=outsider.address), f"recipient {outsider.address} is not allowlisted"),
        (dict(recipient=alice.address), "must be another party than the sender"),
        (dict(sender=carol), f"sender {carol.address} holds 0.00 EXUSD, less than 250.00 EXUSD"),
        (dict(approve=False), "has approved the HTLC for 0.00 EXUSD, less than 250.00 EXUSD: approve it first"),
    ]
    for overrides, fragment in cases:
        args = {"recipient": bob.address, "amount": "250.00", "hashlock": h, "deadline": "+2h", "sender": alice, "approve": True} | overrides
        sender, approve = args.pop("sender"), args.pop("approve")
        message = one_line_error(htlc.lock, usd, sender=sender, approve=approve, **args)
        assert fragment in message, (overrides, message)
    assert (_nonce(alice), _nonce(carol)) == sent, "a refused lock sent something"

    other = deploy_htlc(admin)  # not allowlisted: it could not take the tokens
    assert f"the HTLC {other.address} is not allowlisted" in one_line_error(
        other.lock, usd, bob, "250.00", h, "+2h", sender=alice, approve=True)
    token.allowlist(bob, now + HOUR, sender=compliance)  # bob's KYC review ends before the deadline
    assert f"recipient {bob.address} is allowlisted on EXUSD until" in one_line_error(
        htlc.lock, usd, bob, "250.00", h, "+2h", sender=alice, approve=True)


def test_library_claim_and_refund_refusals(usd, htlc, token, alice, bob, carol, legal, pauser, chain):
    preimage, hashlock = new_secret()
    placed = htlc.lock(usd, bob, "250.00", hashlock, "+1h", sender=alice, approve=True)
    lock_id, deadline = placed.lock_id, htlc.lock_info(placed.lock_id).deadline
    sent = _nonce(carol)
    assert "wrong preimage for lock" in one_line_error(htlc.claim, lock_id, hashlock, sender=carol)
    assert "preimage '0x12' is not 0x followed by 64 hex digits" in one_line_error(htlc.claim, lock_id, "0x12", sender=carol)
    assert "preimage must be 32 bytes, not 3" in one_line_error(htlc.claim, lock_id, b"abc", sender=carol)
    assert "is unknown to the HTLC" in one_line_error(htlc.claim, hashlock, preimage, sender=carol)
    assert "lock id '42' is not 0x followed by 64 hex digits" in one_line_error(htlc.refund, "42", sender=carol)
    assert "no refund before its deadline" in one_line_error(htlc.refund, lock_id, sender=carol)
    assert "is still locked: claim or refund it first" in one_line_error(htlc.withdraw, lock_id, sender=carol)
    assert _nonce(carol) == sent
    # issue 9: a lien on the HTLC's holdings or a pause no longer stops the claim (it is recorded);
    # they stop the payout, which withdraw makes once they are lifted
    token.setFrozenTokens(htlc.address, 1, sender=legal)
    claimed = htlc.claim(lock_id, preimage, sender=carol)
    assert [name for name, _ in events(claimed)] == ["Claimed"] and not htlc.lock_info(lock_id).paid
    sent = _nonce(carol)
    assert f"the HTLC {htlc.address} has 249.99 EXUSD unfrozen" in one_line_error(htlc.withdraw, lock_id, sender=carol)
    token.setFrozenTokens(htlc.address, 0, sender=legal)
    token.pause(sender=pauser)
    assert "the token is paused: cannot withdraw" in one_line_error(htlc.withdraw, lock_id, sender=carol)
    token.unpause(sender=pauser)
    assert _nonce(carol) == sent
    htlc.withdraw(lock_id, sender=carol)
    assert htlc.lock_info(lock_id).paid and usd.balance(bob) == usd.to_decimal(INITIAL + AMOUNT)

    placed = htlc.lock(usd, bob, "250.00", hashlock, "+1h", sender=alice, approve=True)
    lock_id, deadline = placed.lock_id, htlc.lock_info(placed.lock_id).deadline

    set_time(chain, deadline)
    assert "expired at" in one_line_error(htlc.claim, lock_id, preimage, sender=carol)
    htlc.refund(lock_id, sender=carol)
    assert "is already refunded: nothing to refund" in one_line_error(htlc.refund, lock_id, sender=carol)
    assert "is already refunded: nothing to claim" in one_line_error(htlc.claim, lock_id, preimage, sender=carol)
    assert htlc.find_preimage(lock_id) is None and usd.balance(alice) == usd.to_decimal(INITIAL - AMOUNT)


def test_check_counter_lock(usd, htlc, token, baseline, alice, bob, carol, compliance, chain):
    preimage, hashlock = new_secret()
    placed = htlc.lock(usd, bob, "250.00", hashlock, "+4h", sender=alice, approve=True)
    t1 = htlc.lock_info(placed.lock_id).deadline
    terms = dict(hashlock=hashlock, recipient=bob, token=usd, amount="250.00")
    # bob, the responder, checks alice's first leg before locking his with an earlier deadline
    assert htlc.check_counter_lock(placed.lock_id, role="responder", my_deadline=t1 - HOUR, **terms).state == "locked"
    # alice, the initiator, would check a second leg that ends an hour before hers
    assert htlc.check_counter_lock(placed.lock_id, role="initiator", my_deadline=t1 + HOUR, **terms).amount == AMOUNT
    refusals = [
        (dict(role="responder", my_deadline=t1 - HOUR + 1), "as the first leg it must end at least 3600 s after your deadline"),
        (dict(role="initiator", my_deadline=t1 + HOUR - 1), "as the second leg it must end at least 3600 s before your deadline"),
        (dict(role="broker"), "role must be 'initiator' or 'responder'"),
        (dict(hashlock=preimage), "has hashlock"),
        (dict(recipient=carol), f"pays {bob.address}, not {carol.address}"),
        (dict(amount="250.01"), "locks 250.00 EXUSD, not 250.01 EXUSD"),
        (dict(token=TokenClient.from_contract(baseline), amount="250"), f"locks token {token.address}, not {baseline.address}"),
        # the initiator's own secret must open the lock: 32 bytes (bytes32 here) hashing to the hashlock
        (dict(role="initiator", my_deadline=t1 + HOUR, preimage=preimage + b"\x00"), "preimage must be 32 bytes, not 33"),
        (dict(role="initiator", my_deadline=t1 + HOUR, preimage=hashlock), "the preimage's sha256 is not the hashlock"),
    ]
    for overrides, fragment in refusals:
        args = {"role": "responder", "my_deadline": t1 - 2 * HOUR, **terms} | overrides
        assert fragment in one_line_error(htlc.check_counter_lock, placed.lock_id, **args), overrides
    assert htlc.check_counter_lock(placed.lock_id, role="initiator", my_deadline=t1 + HOUR, preimage=preimage, **terms).paid is False
    token.freezeAccount(alice, sender=compliance)  # a sanctioned sender's lock would not pay bob
    assert f"its sender {alice.address} is frozen, so a claim would not pay you" in one_line_error(
        htlc.check_counter_lock, placed.lock_id, role="responder", my_deadline=t1 - 2 * HOUR, **terms)
    token.unfreezeAccount(alice, sender=compliance)
    token.allowlist(bob, t1 - 1, sender=compliance)  # bob could not be paid until the end
    assert f"recipient {bob.address} is allowlisted on EXUSD until" in one_line_error(
        htlc.check_counter_lock, placed.lock_id, role="responder", my_deadline=t1 - 2 * HOUR, **terms)
    set_time(chain, t1 - 599)
    assert "less than 600 s from now" in one_line_error(
        htlc.check_counter_lock, placed.lock_id, role="initiator", my_deadline=t1 + HOUR, **terms)


def test_deadlines_and_hashlocks():
    assert parse_deadline("+90m", 1_000) == 1_000 + 5400 and parse_deadline("+2d", 0) == 172_800
    assert parse_deadline("+30", 5) == 35 and parse_deadline("1800000000", 0) == 1_800_000_000
    assert parse_deadline("2030-01-01T00:00:00Z", 0) == parse_deadline("2030-01-01T08:00:00+08:00", 0) == 1_893_456_000
    assert parse_deadline(datetime(2030, 1, 1, tzinfo=UTC), 0) == 1_893_456_000
    with pytest.raises(DepositTokenError, match="has no time zone"):
        parse_deadline(datetime(2030, 1, 1), 0)
    with pytest.raises(DepositTokenError, match="is not a time"):
        parse_deadline(True, 0)
    # sha256, not keccak-256: the hashlock of 32 zero bytes as other ledgers compute it
    assert hashlock_of("0x" + "00" * 32).hex() == "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"


# ---------------------------------------------------------------------------- the CLI (in-process)


def test_cli_lock_check_claim_show(usd, htlc, token, alice, bob, chain):
    from deptoken.cli.main import main
    from deptoken.cli.htlc_commands import htlc as htlc_group

    assert main.commands["htlc"] is htlc_group  # `deptoken htlc`
    run = deptoken_cli(chain, "htlc")

    secret = run("secret")
    assert hashlock_of(secret["preimage"]).hex() == secret["hashlock"][2:]
    common = ["--htlc", htlc.address]
    placed = run("lock", *common, "--token", token.address, "--to", bob.address, "--amount", "250.00",
                 "--hashlock", secret["hashlock"], "--deadline", "+2h", "--as", "7", "--approve")
    assert (placed["state"], placed["amount"], placed["sender"], placed["recipient"]) == ("locked", AMOUNT, alice.address, bob.address)
    lock_id = placed["lock_id"]
    checked = run("check", lock_id, *common, "--role", "responder", "--token", token.address, "--to", bob.address,
                  "--amount", "250.00", "--hashlock", secret["hashlock"], "--my-deadline", str(placed["deadline"] - HOUR))
    assert checked["lock_id"] == lock_id
    assert run("show", lock_id, *common)["preimage"] is None
    error = run("refund", lock_id, *common, "--as", "9", code=1)
    assert error.startswith("error: lock ") and "no refund before its deadline" in error and "\n" not in error
    assert run("claim", lock_id, *common, "--preimage", secret["preimage"], "--as", "9")["state"] == "claimed"
    shown = run("show", lock_id, *common)
    assert shown["state"] == "claimed" and shown["preimage"] == secret["preimage"]
    assert run("show", lock_id, *common, as_json=False).splitlines() == [
        f"lock {lock_id} (claimed, paid): 250.00 EXUSD from {alice.address} to {bob.address}, hashlock {secret['hashlock']}, "
        f"deadline {datetime.fromtimestamp(placed['deadline'], UTC):%Y-%m-%dT%H:%M:%SZ} on chain 31337",
        f"preimage {secret['preimage']}",
    ]
    assert token.balanceOf(bob) == INITIAL + AMOUNT
    error = run("lock", *common, "--token", token.address, "--to", bob.address, "--amount", "1.001",
                "--hashlock", secret["hashlock"], "--deadline", "+2h", "--as", "7", code=1)
    assert error == "error: amount '1.001' has more than 2 decimal places"


# ---------------------------------------------------------------------------- two legs on two chains


def test_two_chains_both_legs_complete(usd, htlc, token, chain2, alice, bob, chain):
    """alice pays 250.00 USD on chain 1 for bob's 1,800.00 CNH on chain 2, atomically."""
    _same_clock(chain, chain2)
    preimage, hashlock = new_secret()  # alice's secret
    t1 = chain.pending_timestamp + 6 * HOUR
    first = htlc.lock(usd, bob, "250.00", hashlock, t1, sender=alice, approve=True).lock_id
    # bob checks alice's leg on chain 1, then locks his on chain 2 with a deadline 2 hours earlier
    t2 = t1 - 2 * HOUR
    htlc.check_counter_lock(first, role="responder", hashlock=hashlock, recipient=bob, token=usd, amount="250.00", my_deadline=t2)
    with chain2.connect():
        cnh = chain2.cnh
        assert "is on chain 31337, but the connected node is on chain 31338" in one_line_error(htlc.lock_info, first)
        second = chain2.htlc.lock(cnh, alice, "1800.00", hashlock, t2, sender=bob, approve=True).lock_id
        # alice checks bob's leg and claims it, which reveals the preimage on chain 2
        chain2.htlc.check_counter_lock(second, role="initiator", hashlock=hashlock, recipient=alice, token=cnh,
                                       amount="1800.00", my_deadline=t1)
        chain2.htlc.claim(second, preimage, sender=alice)
        revealed = chain2.htlc.find_preimage(second)  # bob reads it from chain 2's Claimed event
        assert revealed == preimage
        assert (cnh.contract.balanceOf(alice), cnh.contract.balanceOf(bob), cnh.contract.balanceOf(chain2.htlc.address)) == (
            180_000, INITIAL - 180_000, 0)
    assert "is on chain 31338, but the connected node is on chain 31337" in one_line_error(chain2.htlc.find_preimage, second)
    htlc.claim(first, revealed, sender=bob)  # bob claims alice's leg on chain 1 with it
    assert (token.balanceOf(alice), token.balanceOf(bob), token.balanceOf(htlc.address)) == (INITIAL - AMOUNT, INITIAL + AMOUNT, 0)
    assert htlc.lock_info(first).state == "claimed"


def test_two_chains_both_legs_refund(usd, htlc, token, chain2, alice, bob, chain):
    """alice never claims: after the deadlines both get their own tokens back, and no one can claim."""
    _same_clock(chain, chain2)
    preimage, hashlock = new_secret()
    t1 = chain.pending_timestamp + 6 * HOUR
    t2 = t1 - 2 * HOUR
    first = htlc.lock(usd, bob, "250.00", hashlock, t1, sender=alice, approve=True).lock_id
    with chain2.connect():
        cnh = chain2.cnh
        second = chain2.htlc.lock(cnh, alice, "1800.00", hashlock, t2, sender=bob, approve=True).lock_id
        assert "no refund before its deadline" in one_line_error(chain2.htlc.refund, second, sender=bob)
        set_time(chain, t2)
        assert "it can only be refunded" in one_line_error(chain2.htlc.claim, second, preimage, sender=alice)
        chain2.htlc.refund(second, sender=bob)
        assert chain2.htlc.lock_info(second).state == "refunded" and chain2.htlc.find_preimage(second) is None
        assert (cnh.contract.balanceOf(alice), cnh.contract.balanceOf(bob), cnh.contract.balanceOf(chain2.htlc.address)) == (
            0, INITIAL, 0)
    assert "no refund before its deadline" in one_line_error(htlc.refund, first, sender=alice)
    set_time(chain, t1)
    htlc.refund(first, sender=alice)
    assert (token.balanceOf(alice), token.balanceOf(bob), token.balanceOf(htlc.address)) == (INITIAL, INITIAL, 0)
    assert htlc.lock_info(first).state == "refunded"


# ---------------------------------------------------------------------------- issue 9: the bank's controls per lock

SEIZED = 4
ORDER_REF = keccak(text="COURT-ORDER-2026-9")


def _books(htlc, token) -> None:
    """The HTLC holds exactly what it owes: the unpaid locks' amounts."""
    assert token.balanceOf(htlc.address) == htlc.contract.outstanding(token.address)


def test_two_chains_claim_recorded_while_paused_is_paid_later(usd, htlc, token, chain2, alice, bob, carol, pauser, chain):
    """Finding A (atomicity): alice claims bob's leg (revealing the secret), then her token is paused
    until past her own leg's deadline. bob's claim before the deadline is recorded (not paid: the token
    is paused), alice can no longer refund, and bob is paid by withdraw once the token is unpaused."""
    _same_clock(chain, chain2)
    preimage, hashlock = new_secret()
    t1 = chain.pending_timestamp + 6 * HOUR
    t2 = t1 - 2 * HOUR
    first = htlc.lock(usd, bob, "250.00", hashlock, t1, sender=alice, approve=True).lock_id
    with chain2.connect():
        second = chain2.htlc.lock(chain2.cnh, alice, "1800.00", hashlock, t2, sender=bob, approve=True).lock_id
        chain2.htlc.claim(second, preimage, sender=alice)
        revealed = chain2.htlc.find_preimage(second)
    token.pause(sender=pauser)
    receipt = htlc.contract.claim(first, revealed, sender=bob)  # before the fix: reverts (EnforcedPause)
    assert events(receipt) == [ev("Claimed", lockId=first, preimage=preimage)]
    info = htlc.lock_info(first)
    assert (info.state, info.paid) == ("claimed", False) and htlc.contract.outstanding(token) == AMOUNT
    _books(htlc, token)

    set_time(chain, t1 + HOUR)  # past alice's deadline: the claim stands, no refund
    _call_reverts(htlc.contract, "refund", (first,), alice, "LockSettled", lockId=first, state=CLAIMED)
    _call_reverts(htlc.contract, "withdraw", (first,), carol, "EnforcedPause")
    assert "the token is paused: cannot withdraw" in one_line_error(htlc.withdraw, first, sender=carol)
    token.unpause(sender=pauser)
    receipt = htlc.withdraw(first, sender=carol)  # anyone may send it
    assert events(receipt) == [
        ev("Withdrawn", lockId=first, to=bob, amount=AMOUNT),
        ev("Transfer", **{"from": htlc.address, "to": bob, "value": AMOUNT}),
    ]
    assert (token.balanceOf(alice), token.balanceOf(bob)) == (INITIAL - AMOUNT, INITIAL + AMOUNT)
    assert htlc.lock_info(first).paid and htlc.contract.outstanding(token) == 0
    _books(htlc, token)
    _call_reverts(htlc.contract, "withdraw", (first,), carol, "LockPaid", lockId=first)
    assert "is already paid out: nothing to withdraw" in one_line_error(htlc.withdraw, first, sender=carol)


def test_refund_recorded_while_the_sender_is_frozen_is_paid_later(usd, htlc, token, alice, bob, carol, compliance, chain):
    """Finding A (refunds alike): from the deadline the refund is recorded even if the token cannot
    pay the sender back now; a later withdraw pays it, and the recipient can no longer claim."""
    preimage, hashlock = new_secret()
    deadline = chain.pending_timestamp + HOUR
    lock_id, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    token.freezeAccount(alice, sender=compliance)
    set_time(chain, deadline)
    receipt = htlc.refund(lock_id, sender=carol)  # before the fix: reverts (ERC7943CannotReceive)
    assert events(receipt) == [ev("Refunded", lockId=lock_id)]
    assert htlc.contract.getLock(lock_id).state == REFUNDED and not htlc.contract.getLock(lock_id).paid
    _books(htlc, token)
    _call_reverts(htlc.contract, "withdraw", (lock_id,), carol, "ERC7943CannotReceive", account=alice)
    assert f"sender {alice.address} is frozen" in one_line_error(htlc.withdraw, lock_id, sender=carol)
    token.unfreezeAccount(alice, sender=compliance)
    htlc.withdraw(lock_id, sender=carol)
    assert token.balanceOf(alice) == INITIAL and htlc.contract.outstanding(token) == 0
    _books(htlc, token)


def test_frozen_sender_lock_does_not_pay_the_recipient(usd, htlc, token, alice, bob, carol, compliance, legal, minter, chain):
    """Finding C: the claim of a frozen sender's lock is recorded but pays nothing; withdraw reverts
    PartyRestricted while the sender is frozen, pays after the unfreeze, or the bank seizes the lock."""
    preimage, hashlock = new_secret()
    deadline = chain.pending_timestamp + HOUR
    lock_id, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    seized_id, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    token.freezeAccount(alice, sender=compliance)

    receipt = htlc.contract.claim(lock_id, preimage, sender=carol)
    assert events(receipt) == [ev("Claimed", lockId=lock_id, preimage=preimage)]  # before the fix: bob paid
    assert token.balanceOf(bob) == INITIAL
    htlc.claim(seized_id, preimage, sender=carol)  # the library records the claim too
    _books(htlc, token)
    _call_reverts(htlc.contract, "withdraw", (lock_id,), carol, "PartyRestricted", token=token, party=alice)
    assert f"sender {alice.address} is frozen on EXUSD: its lock cannot pay out" in one_line_error(
        htlc.withdraw, lock_id, sender=carol)

    receipt = htlc.seize_lock(seized_id, minter, "COURT-ORDER-2026-9", sender=legal)  # the bank's remedy
    assert events(receipt) == [
        ev("LockSeized", lockId=seized_id, to=minter, amount=AMOUNT, legalOrderRef=ORDER_REF, by=legal),
        ev("Transfer", **{"from": htlc.address, "to": minter, "value": AMOUNT}),
    ]
    assert htlc.lock_info(seized_id).state == "seized"
    _books(htlc, token)
    token.unfreezeAccount(alice, sender=compliance)
    htlc.withdraw(lock_id, sender=carol)
    assert token.balanceOf(bob) == INITIAL + AMOUNT and htlc.contract.outstanding(token) == 0
    _books(htlc, token)


def test_seize_lock_leaves_the_other_locks_whole(usd, htlc, token, alice, bob, carol, legal, minter, chain):
    """Finding B: a token-level forcedTransfer of the pool would make another lock's claim revert;
    seizeLock takes exactly one lock's amount, closes it as Seized, and the others stay claimable."""
    preimage, hashlock = new_secret()
    deadline = chain.pending_timestamp + HOUR
    target, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    other, _ = _lock(htlc, token, bob, alice, 2 * AMOUNT, hashlock, deadline)
    _books(htlc, token)

    c = htlc.contract
    _call_reverts(c, "seizeLock", (target, minter, ORDER_REF), carol, "NotTokenLegalRole", token=token, caller=carol)
    _call_reverts(c, "seizeLock", (target, minter, b"\x00" * 32), legal, "InvalidLegalOrderRef")
    _call_reverts(c, "seizeLock", (target, ZERO_ADDRESS, ORDER_REF), legal, "InvalidBeneficiary", account=ZERO_ADDRESS)
    _call_reverts(c, "seizeLock", (target, htlc.address, ORDER_REF), legal, "InvalidBeneficiary", account=htlc.address)
    _call_reverts(c, "seizeLock", (hashlock, minter, ORDER_REF), legal, "UnknownLock", lockId=hashlock)
    receipt = c.seizeLock(target, minter, ORDER_REF, sender=legal)
    assert events(receipt) == [
        ev("LockSeized", lockId=target, to=minter, amount=AMOUNT, legalOrderRef=ORDER_REF, by=legal),
        ev("Transfer", **{"from": htlc.address, "to": minter, "value": AMOUNT}),
    ]
    assert tuple(c.getLock(target))[2:4] == (SEIZED, True)
    assert token.balanceOf(minter) == AMOUNT and c.outstanding(token) == 2 * AMOUNT
    _books(htlc, token)
    _call_reverts(c, "seizeLock", (target, minter, ORDER_REF), legal, "LockPaid", lockId=target)
    _call_reverts(c, "claim", (target, preimage), carol, "LockSettled", lockId=target, state=SEIZED)
    c.claim(other, preimage, sender=carol)  # the other lock is whole
    assert token.balanceOf(alice) == INITIAL - AMOUNT + 2 * AMOUNT and c.outstanding(token) == 0
    _books(htlc, token)
    set_time(chain, deadline)
    _call_reverts(c, "refund", (target,), carol, "LockSettled", lockId=target, state=SEIZED)


def test_replace_party_after_a_lost_key_recovery(usd, htlc, token, accounts, alice, bob, carol, compliance, legal, chain):
    """Finding D: after recoverAccount(bob, dave) bob is delisted and can never be paid; the token's
    legal role moves the lock's recipient to dave, who is then paid by withdraw."""
    dave = accounts[11]
    preimage, hashlock = new_secret()
    deadline = chain.pending_timestamp + HOUR
    lock_id, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    token.allowlist(dave, chain.pending_timestamp + YEAR, sender=compliance)
    token.recoverAccount(bob, dave, sender=legal)
    c = htlc.contract
    c.claim(lock_id, preimage, sender=carol)  # before the fix: reverts (bob cannot receive)
    assert not c.getLock(lock_id).paid

    _call_reverts(c, "replaceParty", (lock_id, bob, dave), carol, "NotTokenLegalRole", token=token, caller=carol)
    _call_reverts(c, "replaceParty", (lock_id, carol, dave), legal, "NotAParty", lockId=lock_id, account=carol)
    _call_reverts(c, "replaceParty", (lock_id, bob, alice), legal, "InvalidBeneficiary", account=alice)
    _call_reverts(c, "replaceParty", (lock_id, bob, bob), legal, "InvalidBeneficiary", account=bob)
    _call_reverts(c, "replaceParty", (lock_id, bob, ZERO_ADDRESS), legal, "InvalidBeneficiary", account=ZERO_ADDRESS)
    assert "lost" in one_line_error(htlc.replace_party, lock_id, carol, dave, sender=legal)
    assert [p.role for p in htlc.open_positions(bob)] == ["recipient"]
    receipt = htlc.replace_party(lock_id, bob, dave, sender=legal)
    assert events(receipt) == [ev("PartyReplaced", lockId=lock_id, lost=bob, replacement=dave)]
    assert htlc.open_positions(bob) == []
    [position] = htlc.open_positions(dave)
    assert (position.kind, position.position_id, position.role, position.state, position.amount) == (
        "htlc-lock", "0x" + lock_id.hex(), "recipient", "claimed", AMOUNT)
    htlc.withdraw(lock_id, sender=carol)
    assert token.balanceOf(dave) == INITIAL + AMOUNT and htlc.open_positions(dave) == []
    _books(htlc, token)
    _call_reverts(c, "replaceParty", (lock_id, dave, carol), legal, "LockPaid", lockId=lock_id)


def test_rescue_only_the_excess(usd, htlc, token, alice, bob, carol, legal, chain):
    """Finding D: tokens sent straight to the HTLC can be rescued by the token's legal role, never a lock's funds."""
    _, hashlock = new_secret()
    _lock(htlc, token, alice, bob, AMOUNT, hashlock, chain.pending_timestamp + HOUR)
    token.transfer(htlc.address, 100, sender=bob)  # by mistake
    c = htlc.contract
    assert c.outstanding(token) == AMOUNT and token.balanceOf(htlc.address) == AMOUNT + 100
    _call_reverts(c, "rescueExcess", (token, bob, 100), carol, "NotTokenLegalRole", token=token, caller=carol)
    _call_reverts(c, "rescueExcess", (token, bob, 101), legal, "RescueExceedsExcess", token=token, amount=101, excess=100)
    assert "exceeds the 1.00 EXUSD" in one_line_error(htlc.rescue, usd, bob, "1.01", sender=legal)
    receipt = htlc.rescue(usd, bob, "1.00", sender=legal)
    assert events(receipt)[0] == ev("ExcessRescued", token=token, to=bob, amount=100, by=legal)
    assert token.balanceOf(bob) == INITIAL - 100 + 100
    _books(htlc, token)


def test_cli_withdraw_seize_replace_positions(usd, htlc, token, accounts, alice, bob, carol, compliance, legal, minter, chain):
    """The new commands: withdraw a claim the token could not pay at once, list a party's open locks,
    and the legal role's seize and replace-party (refusals: one line, nothing sent)."""
    run = deptoken_cli(chain, "htlc")
    common = ["--htlc", htlc.address]
    dave = accounts[11]
    token.allowlist(dave, chain.pending_timestamp + YEAR, sender=compliance)
    preimage, hashlock = new_secret()
    deadline = chain.pending_timestamp + DAY
    paid_later, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    seized, _ = _lock(htlc, token, alice, bob, AMOUNT, hashlock, deadline)
    pid, sid = "0x" + paid_later.hex(), "0x" + seized.hex()

    token.freezeAccount(alice, sender=compliance)
    claimed = run("claim", pid, *common, "--preimage", "0x" + preimage.hex(), "--as", "9")
    assert (claimed["state"], claimed["paid"]) == ("claimed", False)
    error = run("withdraw", pid, *common, "--as", "9", code=1)
    assert error == f"error: sender {alice.address} is frozen on EXUSD: its lock cannot pay out"
    listed = run("positions", bob.address, *common)
    assert [(p["id"], p["role"], p["state"], p["amount"]) for p in listed] == [
        (pid, "recipient", "claimed", AMOUNT), (sid, "recipient", "locked", AMOUNT)]
    assert run("positions", alice.address, *common, as_json=False).splitlines() == [
        f"{pid} sender claimed: 250.00 EXUSD", f"{sid} sender locked: 250.00 EXUSD"]
    token.unfreezeAccount(alice, sender=compliance)
    assert run("withdraw", pid, *common, "--as", "9")["paid"] is True
    assert token.balanceOf(bob) == INITIAL + AMOUNT

    sent = _nonce(carol), _nonce(legal)
    error = run("seize", sid, *common, "--to", minter.address, "--legal-order", "ORDER-2026-7", "--as", "9", code=1)
    assert error == f"error: {carol.address} lacks the legal role needed to seize a lock"
    error = run("replace-party", sid, *common, "--lost", carol.address, "--replacement", dave.address, "--as", "4", code=1)
    assert error.startswith(f"error: lost account {carol.address} is neither the sender nor the recipient of lock")
    assert (_nonce(carol), _nonce(legal)) == sent
    replaced = run("replace-party", sid, *common, "--lost", bob.address, "--replacement", dave.address, "--as", "4")
    assert replaced["recipient"] == dave.address and run("positions", bob.address, *common) == []
    shown = run("seize", sid, *common, "--to", minter.address, "--legal-order", "ORDER-2026-7", "--as", "4", as_json=False)
    assert shown.startswith(f"lock {sid} (seized): 250.00 EXUSD from {alice.address} to {dave.address}")
    assert token.balanceOf(minter) == AMOUNT and htlc.outstanding(usd) == 0
    _books(htlc, token)


# ---------------------------------------------------------------------------- the books under random restrictions


def test_state_machine_books_balance_under_restrictions(usd, htlc, token, alice, bob, compliance, legal, pauser, minter, chain):
    """Hypothesis state machine: random locks, claims, refunds, withdrawals and legal exits while the
    token freezes and unfreezes the parties and pauses, with time travel. After every step each lock
    is the model's (state, paid), and the HTLC holds exactly what it owes: balance == outstanding ==
    the unpaid locks' amounts. Each lock pays out at most once, and a claim pays only while the
    sender is active."""
    from ape.exceptions import ContractLogicError
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

    c = htlc.contract
    parties = {"alice": alice, "bob": bob}
    preimage, hashlock = new_secret()
    for p in parties.values():
        token.approve(htlc.address, 2**256 - 1, sender=p)
    start = chain.pending_timestamp + 10

    class HtlcMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.now = start
            self.locks = {}  # id -> dict(sender, recipient, amount, deadline, state, paid)
            self.order = []
            self.frozen = set()
            self.paused = False

        def teardown(self):
            chain.restore(self.snapshot)

        def _tx(self):
            self.now += 1
            next_tx_at(chain, self.now)

        def _active(self, name):
            return name not in self.frozen

        def _unpaid(self):
            return [i for i in self.order if not self.locks[i]["paid"]]

        @rule(sender=st.sampled_from(("alice", "bob")), amount=st.integers(1, 5_000), duration=st.integers(5, 200))
        def lock(self, sender, amount, duration):
            if self.paused or not self._active(sender):
                return  # the token refuses the transferFrom (covered elsewhere)
            recipient = "bob" if sender == "alice" else "alice"
            self._tx()
            receipt = c.lock(token, parties[recipient], amount, hashlock, self.now + duration, sender=parties[sender])
            [log] = receipt.decode_logs(c.Locked)
            lid = bytes(log.lockId)
            self.locks[lid] = dict(sender=sender, recipient=recipient, amount=amount, deadline=self.now + duration,
                                   state=LOCKED, paid=False)
            self.order.append(lid)

        @precondition(lambda self: self.order)
        @rule(pick=st.integers(0, 10**6))
        def claim(self, pick):
            lid = self.order[pick % len(self.order)]
            m = self.locks[lid]
            if m["state"] != LOCKED or self.now + 1 >= m["deadline"]:
                return
            self._tx()
            c.claim(lid, preimage, sender=minter)
            m["state"] = CLAIMED
            m["paid"] = not self.paused and self._active(m["sender"]) and self._active(m["recipient"])

        @precondition(lambda self: self.order)
        @rule(pick=st.integers(0, 10**6))
        def refund(self, pick):
            lid = self.order[pick % len(self.order)]
            m = self.locks[lid]
            if m["state"] != LOCKED or self.now + 1 < m["deadline"]:
                return
            self._tx()
            c.refund(lid, sender=minter)
            m["state"] = REFUNDED
            m["paid"] = not self.paused and self._active(m["sender"])

        @precondition(lambda self: self.order)
        @rule(pick=st.integers(0, 10**6))
        def withdraw(self, pick):
            lid = self.order[pick % len(self.order)]
            m = self.locks[lid]
            if m["state"] not in (CLAIMED, REFUNDED) or m["paid"]:
                return
            payee = m["recipient"] if m["state"] == CLAIMED else m["sender"]
            ok = not self.paused and self._active(payee) and (m["state"] == REFUNDED or self._active(m["sender"]))
            self._tx()
            if ok:
                c.withdraw(lid, sender=minter)
                m["paid"] = True
            else:
                with pytest.raises(ContractLogicError):
                    c.withdraw(lid, sender=minter)

        @precondition(lambda self: self.order)
        @rule(pick=st.integers(0, 10**6))
        def seize(self, pick):
            unpaid = self._unpaid()
            if not unpaid or self.paused:
                return
            lid = unpaid[pick % len(unpaid)]
            self._tx()
            c.seizeLock(lid, minter, ORDER_REF, sender=legal)
            self.locks[lid].update(state=SEIZED, paid=True)

        @rule(name=st.sampled_from(("alice", "bob")))
        def toggle_freeze(self, name):
            self._tx()
            if name in self.frozen:
                token.unfreezeAccount(parties[name], sender=compliance)
                self.frozen.discard(name)
            else:
                token.freezeAccount(parties[name], sender=compliance)
                self.frozen.add(name)

        @rule()
        def toggle_pause(self):
            self._tx()
            (token.unpause if self.paused else token.pause)(sender=pauser)
            self.paused = not self.paused

        @rule(seconds=st.integers(1, 150))
        def wait(self, seconds):
            self.now += seconds

        @invariant()
        def books(self):
            owed = sum(m["amount"] for m in self.locks.values() if not m["paid"])
            assert token.balanceOf(htlc.address) == c.outstanding(token) == owed
            for lid in self.order[-3:]:  # the latest locks in full (all of them would be slow)
                lock = c.getLock(lid)
                assert (lock.state, lock.paid) == (self.locks[lid]["state"], self.locks[lid]["paid"]), lid.hex()

    run_state_machine_as_test(HtlcMachine, settings=settings(
        max_examples=8, stateful_step_count=20, deadline=None, database=None, derandomize=True, print_blob=False,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)))
