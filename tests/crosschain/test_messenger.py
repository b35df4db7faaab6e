"""The cross-chain messenger (contracts/crosschain/DepositTokenMessenger.sol, deptoken.crosschain.messenger)
on two real chains: ape's Anvil (chain A, id 31337) and a second Anvil (chain B, id 31338), the same bank's
USD token and a messenger on each, routes both ways, attesters 2 of 3.

Transfers A -> B and back with the supplies (both chains plus in flight) constant; every refusal of an
attestation (forged, replayed, wrong chain, wrong messenger, under the threshold, a signer twice or out of
order, a removed attester) and an ERC-1271 attester; refusal and refund exactly once, never a mint after a
refusal nor a refusal after a mint; rate limits at and one over their boundaries and their refill over
time; the per-message maximum, route and global pauses, unknown routes; a send by one EIP-3009 signature;
a sender who may not send."""

from __future__ import annotations

import random
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from ape import networks, project
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from constants import CHAIN_ID, DAY, SECOND_CHAIN_ID, YEAR, ZERO_ADDRESS
from deptoken import eip712
from deptoken.errors import InvalidInput
from deptoken.crosschain.messenger import (
    EXPIRED,
    INBOUND,
    MESSAGE_FIELDS,
    NONE,
    OUTBOUND,
    RECEIVED,
    RECIPIENT_NOT_ACTIVE,
    REFUNDED,
    REFUSED,
    SENT,
    TRANSFER,
    Message,
    attest,
    deploy_messenger,
    encode_attestation,
    messenger_domain,
    refund_typed_data,
    send_nonce,
    transfer_typed_data,
)
from deptoken.token.authorizations import sign as sign_authorization
from deptoken.token.authorizations import transfer_authorization
from deptoken.token import TokenClient
from deptoken.token.deployer import deploy_token
from helpers import decode_error_data, eth_call_revert_data, events, ev, norm, set_time, next_tx_at
from ops_support import ROOT, Devnet

A, B = CHAIN_ID, SECOND_CHAIN_ID
LIFETIME = DAY  # seconds a message may be received
MAX = 500_000  # minor units per message, each route
ALLOWANCE = 10**12  # what each messenger may mint
START = 1_000_000  # alice's balance on A (the token fixture), bob's on B


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def relayer(accounts):
    """Submits messages and signed sends: no role, no tokens (test account 43, the spare)."""
    return accounts[43]


@pytest.fixture(scope="module")
def attesters():
    """Three attester keys (they only sign), in increasing address order."""
    keys = [Account.from_key(keccak(text=f"deptoken messenger attester {i}")) for i in range(3)]
    return sorted(keys, key=lambda k: int(k.address, 16))


@pytest.fixture(scope="module")
def second_chain(tmp_path_factory, chain, token, devnet_config, admin, minter_admin, minter, compliance, pauser, alice,
                 bob, carol, outsider, relayer, attesters):  # every fixture up front: ape's isolation wants them first
    """Both chains set up: on A the fixture token and messenger ``a``; on B (a second Anvil, id 31338)
    the same bank's token and messenger ``b``; routes A <-> B, attesters 2 of 3 on both; alice, bob and
    carol allowlisted on both, bob holds START on B. ``connect()`` makes B ape's chain in a ``with`` block."""
    net = Devnet(tmp_path_factory.mktemp("chain-b"), chain_id=B)
    net.start()
    context = networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": f"http://127.0.0.1:{net.port}"})

    @contextmanager
    def connect():
        with context as provider:
            yield provider

    try:
        now = chain.pending_timestamp
        a = deploy_messenger(admin, token, admin=admin, pauser=pauser, message_lifetime=LIFETIME)
        token.configureMinter(a, ALLOWANCE, sender=minter_admin)
        token.allowlist(a, now + 10 * YEAR, sender=compliance)
        a.setAttesters([k.address for k in attesters], 2, sender=admin)
        with connect() as provider:
            assert provider.chain_id == B
            set_time(chain, max(now, chain.pending_timestamp))  # B's clock where A's is
            token_b, _ = deploy_token(replace(devnet_config, chain_id=B), admin, record=False)
            b = deploy_messenger(admin, token_b, admin=admin, pauser=pauser, message_lifetime=LIFETIME)
            token_b.configureMinter(b, ALLOWANCE, sender=minter_admin)
            token_b.configureMinter(minter, ALLOWANCE, sender=minter_admin)
            token_b.allowlistBatch([alice, bob, carol, minter, b], [now + 10 * YEAR] * 5, sender=compliance)
            token_b.mint(bob, START, b"\x0b" * 32, sender=minter)
            b.setAttesters([k.address for k in attesters], 2, sender=admin)
            b.setRoute(A, a, MAX, sender=admin)
            bare = deploy_messenger(admin, token_b, admin=admin, pauser=pauser, message_lifetime=LIFETIME)
            bare.setRoute(A, a, MAX, sender=admin)  # a route but no attesters
        a.setRoute(B, b, MAX, sender=admin)
        yield SimpleNamespace(net=net, connect=connect, a=a, token_a=token, b=b, token_b=token_b, bare=bare)
    finally:
        net.stop()


@pytest.fixture
def x(second_chain, chain):
    """The two chains, B reverted after the test (ape reverts A), both clocks at the later one's time."""
    snapshot = second_chain.net.rpc("evm_snapshot")
    here = chain.pending_timestamp
    with second_chain.connect():
        there = chain.pending_timestamp
        if there < here:
            set_time(chain, here)
    if here < there:
        set_time(chain, there)
    yield second_chain
    second_chain.net.rpc("evm_revert", snapshot)


# ---------------------------------------------------------------------------- helpers


def send(x, sender, recipient, amount, *, dest=B) -> tuple[Message, object]:
    """``sender`` approves and sends ``amount`` from A to ``recipient`` on ``dest``: the message and receipt."""
    x.token_a.approve(x.a, amount, sender=sender)
    receipt = x.a.send(dest, recipient, amount, sender=sender)
    [log] = receipt.decode_logs(x.a.MessageSent)
    return Message.decode(bytes(log.message)), receipt


def send_from_b(x, sender, recipient, amount) -> Message:
    with x.connect():
        x.token_b.approve(x.b, amount, sender=sender)
        [log] = x.b.send(A, recipient, amount, sender=sender).decode_logs(x.b.MessageSent)
    return Message.decode(bytes(log.message))


def signed(message: Message, signers) -> bytes:
    """The attestation of ``message`` (to be received) by ``signers``."""
    return attest(transfer_typed_data(message), signers)


def refund_signed(message: Message, signers) -> bytes:
    return attest(refund_typed_data(message), signers)


def call_reverts(contract, fn: str, args: tuple, sender, error: str, /, **inputs) -> None:
    """``contract.fn(*args)`` from ``sender`` reverts with ``error(**inputs)`` (the messenger's or the
    token's, bubbled up), simulated with an eth_call on the active chain."""
    data = eth_call_revert_data(contract, fn, args, sender)
    decoded = (decode_error_data(data, project.DepositTokenMessenger.contract_type)
               or decode_error_data(data, project.DepositToken.contract_type))
    assert decoded is not None, f"{fn}: undecodable revert {data!r}"
    assert (decoded[0], {k: norm(v) for k, v in decoded[1].items()}) == (error, {k: norm(v) for k, v in inputs.items()})


def supplies(x) -> tuple[int, int]:
    a = x.token_a.totalSupply()
    with x.connect():
        b = x.token_b.totalSupply()
    return a, b


# ---------------------------------------------------------------------------- the library and the contract agree


def test_message_encoding_ids_and_digests_match_the_contract(x, alice, bob, attesters):
    message, receipt = send(x, alice, bob, 1_234)
    assert message == Message(1, A, B, x.a.address, x.b.address, 0, alice.address, bob.address, 1_234,
                              receipt.timestamp + LIFETIME)
    encoded = message.encode()
    assert len(encoded) == 320 and Message.decode(encoded) == message
    assert bytes(x.a.messageId(encoded)) == message.id == keccak(encoded)
    assert tuple(x.a.decodeMessage(encoded)) == tuple(message.as_dict().values())
    assert bytes(x.a.refundDigest(message.id)) == eip712.digest(refund_typed_data(message))
    with x.connect():
        assert bytes(x.b.transferDigest(encoded)) == eip712.digest(transfer_typed_data(message))
    assert transfer_typed_data(message)["domain"] == messenger_domain(B, x.b)
    assert bytes(x.a.sendNonce(B, bob, b"\x05" * 32)) == send_nonce(x.a, B, bob, b"\x05" * 32)


# ---------------------------------------------------------------------------- transfers


def test_send_burns_records_and_emits_the_message(x, alice, bob, token):
    supply = token.totalSupply()
    message, receipt = send(x, alice, bob, 40_000)
    assert token.balanceOf(alice) == START - 40_000 and token.balanceOf(x.a) == 0
    assert token.totalSupply() == supply - 40_000
    assert token.isBurnRefUsed(message.id)
    assert x.a.messageStatus(message.id) == SENT and x.a.nextNonce() == 1
    assert events(receipt, x.a) == [
        ev("MessageSent", messageId=message.id, destinationChainId=B, sender=alice, message=message.encode())]
    assert ("Burned", {"account": norm(x.a), "amount": 40_000, "burnRef": message.id}) in events(receipt, token)
    second, _ = send(x, alice, bob, 1)
    assert second.nonce == 1 and second.id != message.id


def test_transfer_a_to_b_and_back_keeps_the_total(x, alice, bob, carol, relayer, attesters):
    a0, b0 = supplies(x)
    total = a0 + b0
    message, _ = send(x, alice, bob, 250_000)
    a1, b1 = supplies(x)
    assert a1 + b1 + message.amount == total  # in flight
    with x.connect():
        receipt = x.b.receiveMessage(message.encode(), signed(message, attesters[:2]), sender=relayer)
        assert x.token_b.balanceOf(bob) == START + 250_000
        assert x.b.messageStatus(message.id) == RECEIVED and x.token_b.isDepositRefUsed(message.id)
        assert events(receipt, x.b) == [ev("MessageReceived", messageId=message.id, sourceChainId=A, recipient=bob,
                                           amount=250_000)]
        assert ("Minted", {"minter": norm(x.b), "to": norm(bob), "amount": 250_000, "depositRef": message.id}) \
            in events(receipt, x.token_b)
    assert sum(supplies(x)) == total
    back = send_from_b(x, bob, carol, 100_000)
    assert sum(supplies(x)) + back.amount == total
    x.a.receiveMessage(back.encode(), signed(back, attesters[1:]), sender=relayer)
    assert x.token_a.balanceOf(carol) == 100_000 and x.a.messageStatus(back.id) == RECEIVED
    with x.connect():
        assert x.b.messageStatus(back.id) == SENT and x.token_b.balanceOf(bob) == START + 150_000
    assert sum(supplies(x)) == total


def test_a_received_message_is_not_received_again(x, alice, bob, relayer, attesters):
    message, _ = send(x, alice, bob, 10)
    attestation = signed(message, attesters)
    with x.connect():
        x.b.receiveMessage(message.encode(), attestation, sender=relayer)
        call_reverts(x.b, "receiveMessage", (message.encode(), attestation), relayer, "MessageAlreadyProcessed",
                     messageId=message.id, status=RECEIVED)
        assert x.token_b.balanceOf(bob) == START + 10


def test_send_with_one_eip3009_signature(x, alice, bob, relayer, token):
    salt = b"\x77" * 32
    nonce = bytes(x.a.sendNonce(B, bob, salt))
    client = TokenClient.from_contract(token)
    data = transfer_authorization(client, alice, x.a.address, client.to_decimal(5_000), valid_for=3600, nonce=nonce,
                                  receive=True)
    auth = sign_authorization(alice, data)
    args = (data["message"]["validAfter"], data["message"]["validBefore"], salt, auth.signature)
    # bound to the recipient (and chain): another recipient needs another nonce, so the signature fails
    call_reverts(x.a, "sendWithAuthorization", (B, relayer, 5_000, alice, *args), relayer, "ERC3009InvalidSignature",
                 authorizer=alice)
    receipt = x.a.sendWithAuthorization(B, bob, 5_000, alice, *args, sender=relayer)
    [log] = receipt.decode_logs(x.a.MessageSent)
    message = Message.decode(bytes(log.message))
    assert (message.sender, message.recipient, message.amount) == (alice.address, bob.address, 5_000)
    assert token.balanceOf(alice) == START - 5_000 and token.balanceOf(relayer) == 0
    assert x.a.messageStatus(message.id) == SENT
    call_reverts(x.a, "sendWithAuthorization", (B, bob, 5_000, alice, *args), relayer, "ERC3009UsedAuthorization",
                 authorizer=alice, nonce=nonce)


def test_a_sender_who_may_not_send_sends_nothing(x, alice, bob, carol, compliance, token):
    token.approve(x.a, 100, sender=alice)
    token.approve(x.a, 100, sender=bob)
    token.freezeAccount(alice, sender=compliance)
    token.removeFromAllowlist(bob, sender=compliance)
    call_reverts(x.a, "send", (B, carol, 100), alice, "ERC7943CannotSend", account=alice)
    call_reverts(x.a, "send", (B, carol, 100), bob, "ERC7943CannotSend", account=bob)
    assert x.a.nextNonce() == 0


# ---------------------------------------------------------------------------- attestations refused


def test_forged_attestations_are_refused(x, alice, bob, relayer, attesters):
    message, _ = send(x, alice, bob, 700)
    strangers = sorted((Account.from_key(keccak(text=f"stranger {i}")) for i in range(2)), key=lambda k: int(k.address, 16))
    m = message.encode()
    with x.connect():
        # signed by keys that are not attesters
        call_reverts(x.b, "receiveMessage", (m, signed(message, strangers)), relayer, "NotAnAttester",
                     signer=strangers[0].address)
        # an attester's address with another key's signature
        forged = encode_attestation([(attesters[0].address, eip712.sign(strangers[0], transfer_typed_data(message))),
                                     (attesters[1].address, eip712.sign(attesters[1], transfer_typed_data(message)))])
        call_reverts(x.b, "receiveMessage", (m, forged), relayer, "InvalidAttesterSignature", signer=attesters[0].address)
        # a genuine attestation with the amount raised
        richer = replace(message, amount=message.amount + 1)
        call_reverts(x.b, "receiveMessage", (richer.encode(), signed(message, attesters[:2])), relayer,
                     "InvalidAttesterSignature", signer=attesters[0].address)
        # one signer's signature not a signature at all
        junk = encode_attestation([(attesters[0].address, b"\x01" * 65), (attesters[1].address, b"")])
        call_reverts(x.b, "receiveMessage", (m, junk), relayer, "InvalidAttesterSignature", signer=attesters[0].address)
        assert x.b.messageStatus(message.id) == NONE and x.token_b.balanceOf(bob) == START


def test_under_threshold_duplicate_unsorted_and_malformed_attestations(x, alice, bob, relayer, attesters):
    message, _ = send(x, alice, bob, 700)
    m, data = message.encode(), transfer_typed_data(message)
    sig = {k.address: eip712.sign(k, data) for k in attesters}
    low, mid, high = (k.address for k in attesters)
    with x.connect():
        call_reverts(x.b, "receiveMessage", (m, encode_attestation([(low, sig[low])])), relayer,
                     "AttestationBelowThreshold", signatures=1, threshold=2)
        call_reverts(x.b, "receiveMessage", (m, encode_attestation([])), relayer,
                     "AttestationBelowThreshold", signatures=0, threshold=2)
        call_reverts(x.b, "receiveMessage", (m, encode_attestation([(low, sig[low]), (low, sig[low])])), relayer,
                     "DuplicateSigner", signer=low)
        call_reverts(x.b, "receiveMessage", (m, encode_attestation([(high, sig[high]), (mid, sig[mid])], sort=False)),
                     relayer, "SignersNotSorted", signer=mid)
        lopsided = abi_encode(["address[]", "bytes[]"], [[low, mid], [sig[low]]])
        call_reverts(x.b, "receiveMessage", (m, lopsided), relayer, "MalformedAttestation")
        # all three, sorted, is more than enough
        x.b.receiveMessage(m, encode_attestation(sig), sender=relayer)
        assert x.b.messageStatus(message.id) == RECEIVED


def test_wrong_chain_and_wrong_messenger_are_refused(x, alice, bob, relayer, attesters):
    message, _ = send(x, alice, bob, 900)
    with x.connect():
        # the message's destination is checked against the chain that runs it
        to_a = replace(message, destinationChainId=A)
        call_reverts(x.b, "receiveMessage", (to_a.encode(), signed(to_a, attesters)), relayer, "WrongDestinationChain",
                     destinationChainId=A)
        # signed in B's messenger's domain but for chain A: the domain binds the chain
        wrong_domain = eip712.typed_data(messenger_domain(A, x.b), TRANSFER, MESSAGE_FIELDS, message.as_dict())
        call_reverts(x.b, "receiveMessage", (message.encode(), attest(wrong_domain, attesters)), relayer,
                     "InvalidAttesterSignature", signer=attesters[0].address)
        # signed in another messenger's domain on B: the domain binds the messenger
        other_domain = eip712.typed_data(messenger_domain(B, x.bare), TRANSFER, MESSAGE_FIELDS, message.as_dict())
        call_reverts(x.b, "receiveMessage", (message.encode(), attest(other_domain, attesters)), relayer,
                     "InvalidAttesterSignature", signer=attesters[0].address)
        # for B's messenger, delivered to another messenger on B
        call_reverts(x.bare, "receiveMessage", (message.encode(), signed(message, attesters)), relayer,
                     "WrongDestinationMessenger", destinationMessenger=x.b)
        # the other messenger's own domain, with the message rewritten for it, is still not what was sent:
        # the attesters signed nothing for it, and it has none anyway
        to_bare = replace(message, destinationMessenger=x.bare.address)
        call_reverts(x.bare, "receiveMessage", (to_bare.encode(), signed(to_bare, attesters)), relayer, "NoAttesters")
        # from a messenger that is not the route's, or a chain without a route
        spoofed = replace(message, sourceMessenger=relayer.address)
        call_reverts(x.b, "receiveMessage", (spoofed.encode(), signed(spoofed, attesters)), relayer, "UnknownSource",
                     sourceChainId=A, sourceMessenger=relayer)
        elsewhere = replace(message, sourceChainId=1)
        call_reverts(x.b, "receiveMessage", (elsewhere.encode(), signed(elsewhere, attesters)), relayer, "UnknownRoute",
                     chainId=1)
        assert x.b.messageStatus(message.id) == NONE
        x.b.receiveMessage(message.encode(), signed(message, attesters), sender=relayer)
    # received on B, replayed on A (with an attestation in A's domain): not for this chain
    replay = eip712.typed_data(messenger_domain(A, x.a), TRANSFER, MESSAGE_FIELDS, message.as_dict())
    call_reverts(x.a, "receiveMessage", (message.encode(), attest(replay, attesters)), relayer, "WrongDestinationChain",
                 destinationChainId=B)


def test_malformed_messages_are_refused(x, alice, bob, relayer, attesters):
    message, _ = send(x, alice, bob, 900)
    m = message.encode()
    with x.connect():
        for bad in (m[:-1], m + b"\x00"):
            call_reverts(x.b, "receiveMessage", (bad, signed(message, attesters)), relayer, "InvalidMessageLength",
                         length=len(bad))
        v2 = replace(message, version=2)
        call_reverts(x.b, "receiveMessage", (v2.encode(), signed(v2, attesters)), relayer, "UnsupportedVersion", version=2)
        # the same fields with a dirty high byte in the sender's word: another id, but not a valid encoding
        dirty = m[:6 * 32] + b"\x01" + m[6 * 32 + 1:]
        assert eth_call_revert_data(x.b, "receiveMessage", (dirty, signed(message, attesters)), relayer) in ("0x", None, "")
        assert x.b.messageStatus(message.id) == NONE and x.b.messageStatus(keccak(dirty)) == NONE


def test_erc1271_attester_and_attester_changes(x, alice, bob, relayer, attesters, admin):
    message, _ = send(x, alice, bob, 3_000)
    owner = Account.from_key(keccak(text="deptoken messenger wallet owner"))
    with x.connect():
        wallet = admin.deploy(project.ERC1271WalletMock, owner.address)
        members = sorted([wallet.address, attesters[0].address], key=lambda a: int(a, 16))
        receipt = x.b.setAttesters(members, 2, sender=admin)
        assert events(receipt, x.b) == [ev("AttestersSet", attesters=tuple(members), threshold=2)]
        assert x.b.isAttester(wallet) and not x.b.isAttester(attesters[1].address)
        # a removed attester no longer counts
        call_reverts(x.b, "receiveMessage", (message.encode(), signed(message, attesters[:2])), relayer, "NotAnAttester",
                     signer=attesters[1].address)
        attestation = signed(message, [attesters[0], (wallet.address, owner)])
        x.b.receiveMessage(message.encode(), attestation, sender=relayer)
        assert x.token_b.balanceOf(bob) == START + 3_000


def test_a_declining_erc1271_attester_does_not_count(x, alice, bob, relayer, attesters, admin):
    message, _ = send(x, alice, bob, 3_000)
    with x.connect():
        owner = admin  # the wallet's owner can turn it off
        wallet = admin.deploy(project.ERC1271WalletMock, owner.address)
        members = sorted([wallet.address, attesters[0].address], key=lambda a: int(a, 16))
        x.b.setAttesters(members, 2, sender=admin)
        wallet.setAccepting(False, sender=owner)
        data = transfer_typed_data(message)
        attestation = encode_attestation([(wallet.address, eip712.sign(owner, data)),
                                          (attesters[0].address, eip712.sign(attesters[0], data))])
        call_reverts(x.b, "receiveMessage", (message.encode(), attestation), relayer, "InvalidAttesterSignature",
                     signer=wallet)
        assert x.b.messageStatus(message.id) == NONE


def test_attester_set_rules(x, admin, attesters, relayer):
    low, mid, high = (k.address for k in attesters)
    call_reverts(x.a, "setAttesters", ([high, low], 1), admin, "InvalidAttesters", count=2, threshold=1)
    call_reverts(x.a, "setAttesters", ([low, low], 1), admin, "InvalidAttesters", count=2, threshold=1)
    call_reverts(x.a, "setAttesters", ([ZERO_ADDRESS, low], 1), admin, "InvalidAttesters", count=2, threshold=1)
    call_reverts(x.a, "setAttesters", ([low, mid], 0), admin, "InvalidAttesters", count=2, threshold=0)
    call_reverts(x.a, "setAttesters", ([low, mid], 3), admin, "InvalidAttesters", count=2, threshold=3)
    call_reverts(x.a, "setAttesters", ([low], 1), relayer, "AccessControlUnauthorizedAccount", account=relayer,
                 neededRole=b"\x00" * 32)
    x.a.setAttesters([mid], 1, sender=admin)
    assert list(x.a.attesters()) == [mid] and x.a.threshold() == 1
    assert not x.a.isAttester(low) and not x.a.isAttester(high) and x.a.isAttester(mid)


# ---------------------------------------------------------------------------- refusal and refund


def test_refund_of_a_refused_message_works_once(x, alice, outsider, relayer, attesters, token):
    total = sum(supplies(x))
    message, _ = send(x, alice, outsider, 8_000)  # outsider is not allowlisted on B
    attestation = signed(message, attesters[:2])
    with x.connect():
        call_reverts(x.b, "receiveMessage", (message.encode(), attestation), relayer, "ERC7943CannotReceive",
                     account=outsider)
        receipt = x.b.refuse(message.encode(), attestation, sender=relayer)
        assert events(receipt) == [ev("MessageRefused", messageId=message.id, sourceChainId=A, reason=RECIPIENT_NOT_ACTIVE)]
        assert x.b.messageStatus(message.id) == REFUSED
        call_reverts(x.b, "refuse", (message.encode(), attestation), relayer, "MessageAlreadyProcessed",
                     messageId=message.id, status=REFUSED)
    # the refund needs the refund type in the source's domain: the transfer attestation does not do
    call_reverts(x.a, "refund", (message.encode(), attestation), relayer, "InvalidAttesterSignature",
                 signer=attesters[0].address)
    refund = refund_signed(message, attesters[1:])
    receipt = x.a.refund(message.encode(), refund, sender=relayer)
    assert events(receipt, x.a) == [ev("MessageRefunded", messageId=message.id, destinationChainId=B, sender=alice,
                                       amount=8_000)]
    assert ("Minted", {"minter": norm(x.a), "to": norm(alice), "amount": 8_000, "depositRef": message.id}) \
        in events(receipt, token)
    assert token.balanceOf(alice) == START and x.a.messageStatus(message.id) == REFUNDED
    assert sum(supplies(x)) == total
    call_reverts(x.a, "refund", (message.encode(), refund), relayer, "MessageNotRefundable", messageId=message.id,
                 status=REFUNDED)


def test_a_minted_message_cannot_be_refused_so_never_refunded(x, chain, alice, bob, relayer, attesters, compliance):
    message, _ = send(x, alice, bob, 8_000)
    attestation = signed(message, attesters[:2])
    with x.connect():
        x.b.receiveMessage(message.encode(), attestation, sender=relayer)
        x.token_b.removeFromAllowlist(bob, sender=compliance)  # a reason to refuse, now
        call_reverts(x.b, "refuse", (message.encode(), attestation), relayer, "MessageAlreadyProcessed",
                     messageId=message.id, status=RECEIVED)
        set_time(chain, message.deadline + 1)  # and after its deadline
        call_reverts(x.b, "refuse", (message.encode(), attestation), relayer, "MessageAlreadyProcessed",
                     messageId=message.id, status=RECEIVED)
        # a refund attested at the destination's messenger is in the wrong domain there
        call_reverts(x.b, "refund", (message.encode(), refund_signed(message, attesters)), relayer, "NotSentHere",
                     messageId=message.id)


def test_no_mint_after_a_refusal(x, alice, carol, relayer, attesters, compliance):
    message, _ = send(x, alice, carol, 2_000)
    attestation = signed(message, attesters[:2])
    with x.connect():
        x.token_b.freezeAccount(carol, sender=compliance)
        x.b.refuse(message.encode(), attestation, sender=relayer)
        x.token_b.unfreezeAccount(carol, sender=compliance)  # receivable again: too late
        call_reverts(x.b, "receiveMessage", (message.encode(), attestation), relayer, "MessageAlreadyProcessed",
                     messageId=message.id, status=REFUSED)
        assert x.token_b.balanceOf(carol) == 0


def test_refusal_needs_a_reason_and_expiry_is_one(x, chain, alice, bob, relayer, attesters):
    message, _ = send(x, alice, bob, 2_000)
    attestation = signed(message, attesters[:2])
    with x.connect():
        call_reverts(x.b, "refuse", (message.encode(), attestation), relayer, "MessageNotRefusable", messageId=message.id)
        set_time(chain, message.deadline + 1)
        call_reverts(x.b, "receiveMessage", (message.encode(), attestation), relayer, "MessageExpired",
                     messageId=message.id, deadline=message.deadline)
        call_reverts(x.b, "refuse", (message.encode(), signed(message, attesters[:1])), relayer,
                     "AttestationBelowThreshold", signatures=1, threshold=2)
        receipt = x.b.refuse(message.encode(), attestation, sender=relayer)
        assert events(receipt) == [ev("MessageRefused", messageId=message.id, sourceChainId=A, reason=EXPIRED)]


def test_receipt_at_the_deadline_is_still_in_time(x, chain, alice, bob, relayer, attesters):
    message, _ = send(x, alice, bob, 2_000)
    with x.connect():
        next_tx_at(chain, message.deadline)
        x.b.receiveMessage(message.encode(), signed(message, attesters[:2]), sender=relayer)
        assert x.b.messageStatus(message.id) == RECEIVED


def test_only_messages_sent_here_are_refunded(x, alice, bob, relayer, attesters):
    message, _ = send(x, alice, bob, 2_000)
    never_sent = replace(message, nonce=99)
    call_reverts(x.a, "refund", (never_sent.encode(), refund_signed(never_sent, attesters)), relayer,
                 "MessageNotRefundable", messageId=never_sent.id, status=NONE)
    other_source = replace(message, sourceMessenger=relayer.address)
    call_reverts(x.a, "refund", (other_source.encode(), refund_signed(message, attesters)), relayer, "NotSentHere",
                 messageId=other_source.id)
    call_reverts(x.a, "refund", (message.encode(), refund_signed(message, attesters[:1])), relayer,
                 "AttestationBelowThreshold", signatures=1, threshold=2)
    assert x.a.messageStatus(message.id) == SENT


# ---------------------------------------------------------------------------- limits and pauses


def test_outbound_rate_limit_at_and_over_its_boundary_and_its_refill(x, chain, alice, bob, admin, token):
    receipt = x.a.setRateLimit(B, OUTBOUND, 1_000, 100, sender=admin)  # 10 per second
    assert events(receipt) == [ev("RateLimitSet", chainId=B, direction=OUTBOUND, capacity=1_000, period=100)]
    token.approve(x.a, 10**6, sender=alice)
    t = chain.pending_timestamp + 5
    next_tx_at(chain, t)
    x.a.send(B, bob, 1_000, sender=alice)  # exactly the capacity
    set_time(chain, t + 1)
    assert x.a.rateLimit(B, OUTBOUND) == (1_000, 100, 10)
    call_reverts(x.a, "send", (B, bob, 11), alice, "RateLimitExceeded", chainId=B, direction=OUTBOUND, available=10,
                 amount=11)
    next_tx_at(chain, t + 2)
    x.a.send(B, bob, 20, sender=alice)  # exactly what refilled
    set_time(chain, t + 2 + 100)
    assert x.a.rateLimit(B, OUTBOUND)[2] == 1_000  # a whole period later: full again, not more
    call_reverts(x.a, "send", (B, bob, 1_001), alice, "RateLimitExceeded", chainId=B, direction=OUTBOUND,
                 available=1_000, amount=1_001)
    assert x.a.rateLimit(B, INBOUND) == (0, 0, 0)


def test_inbound_rate_limit_at_and_over_its_boundary_and_its_refill(x, chain, alice, bob, relayer, admin, attesters):
    first, _ = send(x, alice, bob, 1_000)
    second, _ = send(x, alice, bob, 2)
    with x.connect():
        x.b.setRateLimit(A, INBOUND, 1_000, 1_000, sender=admin)  # 1 per second
        t = chain.pending_timestamp + 5
        next_tx_at(chain, t)
        x.b.receiveMessage(first.encode(), signed(first, attesters[:2]), sender=relayer)  # exactly the capacity
        set_time(chain, t + 1)
        call_reverts(x.b, "receiveMessage", (second.encode(), signed(second, attesters[:2])), relayer,
                     "RateLimitExceeded", chainId=A, direction=INBOUND, available=1, amount=2)
        next_tx_at(chain, t + 2)
        x.b.receiveMessage(second.encode(), signed(second, attesters[:2]), sender=relayer)
        assert x.b.rateLimit(A, INBOUND) == (1_000, 1_000, 0)
        set_time(chain, t + 2 + 1_000)
        assert x.b.rateLimit(A, INBOUND) == (1_000, 1_000, 1_000)
        # setting a limit: only on a route, within bounds
        call_reverts(x.b, "setRateLimit", (A, INBOUND, 0, 5), admin, "InvalidRateLimit", capacity=0, period=5)
        call_reverts(x.b, "setRateLimit", (A, INBOUND, 5, 0), admin, "InvalidRateLimit", capacity=5, period=0)
        call_reverts(x.b, "setRateLimit", (A, INBOUND, 2**128, 1), admin, "InvalidRateLimit", capacity=2**128, period=1)
        call_reverts(x.b, "setRateLimit", (7, INBOUND, 5, 1), admin, "UnknownRoute", chainId=7)


def test_per_message_maximum_both_ways(x, chain, alice, bob, relayer, admin, attesters, token):
    token.approve(x.a, MAX + 1, sender=alice)
    call_reverts(x.a, "send", (B, bob, MAX + 1), alice, "AmountAboveMaximum", chainId=B, maximum=MAX, amount=MAX + 1)
    message, _ = send(x, alice, bob, MAX)  # exactly the maximum
    late, _ = send(x, alice, bob, MAX)
    with x.connect():
        x.b.setRoute(A, x.a, MAX - 1, sender=admin)  # B lowered its maximum meanwhile
        for m in (message, late):
            call_reverts(x.b, "receiveMessage", (m.encode(), signed(m, attesters[:2])), relayer,
                         "AmountAboveMaximum", chainId=A, maximum=MAX - 1, amount=MAX)
        x.b.setRoute(A, x.a, MAX, sender=admin)
        x.b.receiveMessage(message.encode(), signed(message, attesters[:2]), sender=relayer)
        assert x.token_b.balanceOf(bob) == START + MAX
        # above the maximum until its deadline: not refusable before, refusable after (never stuck)
        x.b.setRoute(A, x.a, MAX - 1, sender=admin)
        call_reverts(x.b, "refuse", (late.encode(), signed(late, attesters[:2])), relayer, "MessageNotRefusable",
                     messageId=late.id)
        set_time(chain, late.deadline + 1)
        x.b.refuse(late.encode(), signed(late, attesters[:2]), sender=relayer)
        assert x.b.messageStatus(late.id) == REFUSED


def test_pause_per_route(x, alice, outsider, bob, relayer, pauser, admin, attesters, token):
    message, _ = send(x, alice, bob, 100)
    refused, _ = send(x, alice, outsider, 100)
    receipt = x.a.pauseRoute(B, sender=pauser)
    assert events(receipt) == [ev("RoutePauseSet", chainId=B, paused=True)]
    assert x.a.route(B).paused
    token.approve(x.a, 100, sender=alice)
    call_reverts(x.a, "send", (B, bob, 100), alice, "RouteIsPaused", chainId=B)
    call_reverts(x.a, "pauseRoute", (B,), pauser, "RoutePauseUnchanged", chainId=B, paused=True)
    call_reverts(x.a, "pauseRoute", (B,), admin, "AccessControlUnauthorizedAccount", account=admin,
                 neededRole=keccak(text="PAUSER_ROLE"))
    with x.connect():
        x.b.refuse(refused.encode(), signed(refused, attesters[:2]), sender=relayer)
        x.b.pauseRoute(A, sender=pauser)
        call_reverts(x.b, "receiveMessage", (message.encode(), signed(message, attesters[:2])), relayer, "RouteIsPaused",
                     chainId=A)
        x.b.unpauseRoute(A, sender=pauser)
        x.b.receiveMessage(message.encode(), signed(message, attesters[:2]), sender=relayer)
    call_reverts(x.a, "refund", (refused.encode(), refund_signed(refused, attesters[:2])), relayer, "RouteIsPaused",
                 chainId=B)
    x.a.unpauseRoute(B, sender=pauser)
    x.a.refund(refused.encode(), refund_signed(refused, attesters[:2]), sender=relayer)
    x.a.send(B, bob, 100, sender=alice)
    assert x.a.messageStatus(refused.id) == REFUNDED and x.a.nextNonce() == 3


def test_global_pause_stops_everything(x, alice, bob, relayer, pauser, attesters, token):
    message, _ = send(x, alice, bob, 100)
    token.approve(x.a, 100, sender=alice)
    x.a.pause(sender=pauser)
    call_reverts(x.a, "send", (B, bob, 100), alice, "EnforcedPause")
    call_reverts(x.a, "refund", (message.encode(), refund_signed(message, attesters)), relayer, "EnforcedPause")
    x.a.unpause(sender=pauser)
    x.a.send(B, bob, 100, sender=alice)
    assert x.a.nextNonce() == 2


def test_unknown_routes_and_route_rules(x, alice, bob, admin, token):
    token.approve(x.a, 100, sender=alice)
    call_reverts(x.a, "send", (1, bob, 100), alice, "UnknownRoute", chainId=1)
    call_reverts(x.a, "send", (B, ZERO_ADDRESS, 100), alice, "InvalidAddress")
    call_reverts(x.a, "send", (B, bob, 0), alice, "InvalidAmount")
    call_reverts(x.a, "setRoute", (A, x.b, MAX), admin, "InvalidRoute", chainId=A, remoteMessenger=x.b, maxAmount=MAX)
    call_reverts(x.a, "setRoute", (B, ZERO_ADDRESS, MAX), admin, "InvalidRoute", chainId=B, remoteMessenger=ZERO_ADDRESS,
                 maxAmount=MAX)
    call_reverts(x.a, "setRoute", (B, x.b, 0), admin, "InvalidRoute", chainId=B, remoteMessenger=x.b, maxAmount=0)
    call_reverts(x.a, "setRoute", (B, x.b, 2**88), admin, "InvalidRoute", chainId=B, remoteMessenger=x.b, maxAmount=2**88)
    receipt = x.a.removeRoute(B, sender=admin)
    assert events(receipt) == [ev("RouteRemoved", chainId=B)]
    assert tuple(x.a.route(B)) == (ZERO_ADDRESS, 0, False)
    call_reverts(x.a, "send", (B, bob, 100), alice, "UnknownRoute", chainId=B)
    call_reverts(x.a, "removeRoute", (B,), admin, "UnknownRoute", chainId=B)
    call_reverts(x.a, "pauseRoute", (B,), admin, "AccessControlUnauthorizedAccount", account=admin,
                 neededRole=keccak(text="PAUSER_ROLE"))


def test_message_lifetime_setting(x, alice, bob, admin, chain):
    call_reverts(x.a, "setMessageLifetime", (0,), admin, "InvalidMessageLifetime", lifetime=0)
    call_reverts(x.a, "setMessageLifetime", (2**32,), admin, "InvalidMessageLifetime", lifetime=2**32)
    receipt = x.a.setMessageLifetime(60, sender=admin)
    assert events(receipt) == [ev("MessageLifetimeSet", lifetime=60)]
    message, receipt = send(x, alice, bob, 1)
    assert message.deadline == receipt.timestamp + 60


# ---------------------------------------------------------------------------- storage and the library's checks


def test_state_lives_in_its_erc7201_namespace(x, chain, alice, bob):
    from deptoken.storage_layout import erc7201_slot

    base = erc7201_slot("deptoken.storage.DepositTokenMessenger")
    source = (ROOT / "contracts" / "crosschain" / "DepositTokenMessenger.sol").read_text()
    assert f"MESSENGER_STORAGE = {base:#066x}" in source
    send(x, alice, bob, 5)
    word = lambda slot: int.from_bytes(bytes(chain.provider.get_storage(x.a.address, slot)), "big")  # noqa: E731
    assert word(base + 4) == 3  # attesters.length
    params = word(base + 5)  # Params: nextNonce, messageLifetime, threshold, packed from the low end
    assert (params & (2**64 - 1), (params >> 64) & (2**64 - 1), (params >> 128) & 0xFF) == (1, LIFETIME, 2)
    assert all(word(slot) == 0 for slot in range(3))  # OpenZeppelin's own slots: the roles mapping's root, the pause flag, EIP-712's name fallbacks (unused)


def test_library_refuses_what_the_contract_would():
    with pytest.raises(InvalidInput, match="320 bytes"):
        Message.decode(b"\x00" * 319)
    for lifetime in (0, 2**32, True, "60"):
        with pytest.raises(InvalidInput, match="lifetime"):
            deploy_messenger(None, ZERO_ADDRESS, admin=ZERO_ADDRESS, pauser=ZERO_ADDRESS, message_lifetime=lifetime)
    # the attestation is sorted by address, as the contract requires
    low, high = "0x" + "11" * 20, "0x" + "ee" * 20
    signers, _ = abi_decode(["address[]", "bytes[]"], encode_attestation({high: b"\x01", low: b"\x02"}))
    assert [s.lower() for s in signers] == [low, high]


# ---------------------------------------------------------------------------- a state machine over both chains


CLIENTS = ("alice", "bob", "carol")
RECIPIENTS = (*CLIENTS, "outsider")  # the outsider is allowlisted on neither chain
STATE_SETTINGS = settings(max_examples=6, stateful_step_count=30, deadline=None, database=None, derandomize=True,
                          print_blob=False, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
STATE_OUTCOMES: Counter[str] = Counter()
# the actions and their weights
STATE_ACTIONS = (("send", 30), ("relay", 30), ("refuse", 12), ("refund", 12), ("restrict", 12), ("past_the_deadlines", 3),
                 ("service_relay_killed_and_restarted", 15))
CRASH_POINTS = ("after_sign", "after_broadcast", "before_receipt_stored")  # deptoken.ops.faults


class Crash(BaseException):
    """The relayer's process dies here (a fault point of the outbox): nothing after it runs."""


@pytest.mark.slow
def test_state_machine_every_message_minted_or_refunded_once(x, chain, alice, bob, carol, outsider, relayer,
                                                            compliance, pauser, attesters, tmp_path, monkeypatch):
    """Random sends both ways (amounts within and over the balance and the maximum, recipients not active on
    the destination), relays, refusals, refunds the attesters sign once the destination refused, allowlist
    removals, freezes, route pauses and time past the deadlines, against a model. After every step: each
    message's status on both chains is the model's, every client's balance on both chains too, the supplies
    of both chains plus the messages burned and neither minted nor refunded are what they were, and no
    message is both minted and refunded. The bank's relayer (deptoken.crosschain.relay, through its ledger's
    outbox) also relays, and is killed at a random fault point (after signing, after broadcast, before the
    receipt is stored) and restarted: the killed run's transaction runs exactly once (the same bytes
    broadcast again, or its receipt found), and the chains still match the model."""
    from deptoken.crosschain.relay import attest_message, open_node, relay_message, settle_outbox
    from deptoken.errors import DepositTokenError
    from deptoken.ops import outbox
    from deptoken.ops.db import Ledger, upgrade
    from deptoken.ops.models import Transaction

    people = {"alice": alice, "bob": bob, "carol": carol, "outsider": outsider}
    nodes = {A: open_node(f"ethereum:local:{chain.provider.uri}"), B: open_node(f"ethereum:local:http://127.0.0.1:{x.net.port}")}
    crash_at: list[str | None] = [None]

    def checkpoint(point: str) -> None:
        if point == crash_at[0]:
            crash_at[0] = None
            raise Crash(point)

    monkeypatch.setattr(outbox, "checkpoint", checkpoint)
    for c in CLIENTS:  # approvals before the examples' snapshots
        x.token_a.approve(x.a, 2**255, sender=people[c])
        with x.connect():
            x.token_b.approve(x.b, 2**255, sender=people[c])
    sides = {A: SimpleNamespace(token=x.token_a, messenger=x.a, other=B),
             B: SimpleNamespace(token=x.token_b, messenger=x.b, other=A)}
    # reads straight over JSON-RPC with web3 (no switch of ape's provider): the invariant reads every step
    from web3 import HTTPProvider, Web3

    readers = {}
    for cid, w3 in ((A, chain.provider.web3), (B, Web3(HTTPProvider(f"http://127.0.0.1:{x.net.port}")))):
        abi = lambda c: [e.model_dump(mode="json", by_alias=True) for e in c.contract_type.abi]  # noqa: E731
        readers[cid] = SimpleNamespace(
            w3=w3, token=w3.eth.contract(address=sides[cid].token.address, abi=abi(project.DepositToken)),
            messenger=w3.eth.contract(address=sides[cid].messenger.address, abi=abi(project.DepositTokenMessenger)))

    @contextmanager
    def on(chain_id):
        if chain_id == A:
            yield sides[A]
        else:
            with x.connect():
                yield sides[B]

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot_a, self.snapshot_b = chain.snapshot(), x.net.rpc("evm_snapshot")
            here = chain.pending_timestamp
            with x.connect():
                there = chain.pending_timestamp
            start = max(here, there) + 1
            set_time(chain, start)
            with x.connect():
                set_time(chain, start)
            self.balances = {}
            for cid in (A, B):
                with on(cid) as side:
                    for name, person in people.items():
                        self.balances[cid, name] = side.token.balanceOf(person)
            self.listed = {(cid, c): True for cid in (A, B) for c in CLIENTS} | {(A, "outsider"): False, (B, "outsider"): False}
            self.frozen = {key: False for key in self.listed}
            self.paused = {A: False, B: False}
            self.messages: list[Message] = []
            self.source: dict[bytes, int] = {}  # id -> SENT or REFUNDED
            self.destination: dict[bytes, int] = {}  # id -> NONE, RECEIVED or REFUSED
            self.total = sum(supplies(x))
            url = f"sqlite:///{tmp_path / f'relayer-{len(STATE_OUTCOMES)}-{random.random()}.sqlite'}"
            engine = Ledger(url, check=False, create=True).engine
            upgrade(engine)
            engine.dispose()
            self.ledger = Ledger(url)
            self.relayed: dict[str, int] = {}  # the relayer's transactions by action

        def teardown(self):
            self.ledger.dispose()
            chain.restore(self.snapshot_a)
            x.net.rpc("evm_revert", self.snapshot_b)

        def active(self, cid, name):
            return self.listed[cid, name] and not self.frozen[cid, name]

        def expired(self, m):
            return readers[m.destinationChainId].w3.eth.get_block("latest")["timestamp"] > m.deadline

        def expect(self, cid, fn, args, sender, ok: bool, label: str):
            """The transaction succeeds if ``ok`` (sent), else an eth_call of it reverts (nothing sent)."""
            with on(cid) as side:
                if ok:
                    receipt = getattr(side.messenger, fn)(*args, sender=sender)
                else:
                    eth_call_revert_data(side.messenger, fn, args, sender)  # asserts it reverts
                    receipt = None
            STATE_OUTCOMES[label if ":" in label else f"{label} {'ok' if ok else 'refused'}"] += 1
            return receipt

        @rule(seed=st.integers(0, 2**32 - 1))
        def step(self, seed):
            """One action, drawn at the weights of ACTIONS from a generator seeded by hypothesis's draw."""
            rng = random.Random(seed)
            action = rng.choices([a for a, _ in STATE_ACTIONS], weights=[w for _, w in STATE_ACTIONS])[0]
            STATE_OUTCOMES["steps"] += 1
            getattr(self, action)(rng)

        def send(self, rng):
            source, sender, recipient = rng.choice((A, B)), rng.choice(CLIENTS), rng.choice(RECIPIENTS)
            size, fraction = rng.choice(("some",) * 6 + ("balance+1", "max+1")), rng.randint(1, 100)
            if size == "some" and self.balances[source, sender] == 0:  # someone who holds some, if anyone does
                sender = max(CLIENTS, key=lambda c: self.balances[source, c])
            balance = self.balances[source, sender]
            amount = {"some": max(1, min(MAX, balance) * fraction // 100), "balance+1": balance + 1, "max+1": MAX + 1}[size]
            refusal = ("paused" if self.paused[source] else "sender not active" if not self.active(source, sender)
                       else "over the balance" if amount > balance else "over the maximum" if amount > MAX else "")
            ok = not refusal
            receipt = self.expect(source, "send", (sides[source].other, people[recipient], amount), people[sender], ok,
                                  f"send{': ' + refusal if refusal else ''}")
            if ok:
                with on(source) as side:
                    [log] = receipt.decode_logs(side.messenger.MessageSent)
                m = Message.decode(bytes(log.message))
                assert (m.sender, m.recipient, m.amount) == (people[sender].address, people[recipient].address, amount)
                self.messages.append(m)
                self.source[m.id], self.destination[m.id] = SENT, NONE
                self.balances[source, sender] -= amount

        def relay(self, rng):
            if not self.messages:
                return
            open_ = [m for m in self.messages if self.destination[m.id] == NONE and not self.expired(m)]
            m = rng.choice(open_ if open_ and rng.random() < 0.8 else self.messages)  # mostly one in flight, in time
            dest, name = m.destinationChainId, next(n for n, p in people.items() if p.address == m.recipient)
            refusal = ("processed" if self.destination[m.id] != NONE else "paused" if self.paused[dest]
                       else "expired" if self.expired(m) else "recipient not active" if not self.active(dest, name) else "")
            ok = not refusal
            self.expect(dest, "receiveMessage", (m.encode(), signed(m, attesters[:2])), relayer, ok,
                        f"receive{': ' + refusal if refusal else ''}")
            if ok:
                self.destination[m.id] = RECEIVED
                self.balances[dest, name] += m.amount

        def refuse(self, rng):
            if not self.messages:
                return
            def refusable(m):
                recipient = next(n for n, p in people.items() if p.address == m.recipient)
                return self.expired(m) or not self.active(m.destinationChainId, recipient)

            open_ = [m for m in self.messages if self.destination[m.id] == NONE and refusable(m)]
            m = rng.choice(open_ if open_ and rng.random() < 0.7 else self.messages)  # mostly one the bank would refuse
            dest, name = m.destinationChainId, next(n for n, p in people.items() if p.address == m.recipient)
            ok = (self.destination[m.id] == NONE and not self.paused[dest]
                  and (self.expired(m) or not self.active(dest, name)))
            self.expect(dest, "refuse", (m.encode(), signed(m, attesters[1:])), relayer, ok, "refuse")
            if ok:
                self.destination[m.id] = REFUSED

        def refund(self, rng):
            refused = [m for m in self.messages if self.destination[m.id] == REFUSED]
            if not refused:  # the attesters sign a refund only for a message the destination refused
                return
            m = rng.choice(refused)
            source, name = m.sourceChainId, next(n for n, p in people.items() if p.address == m.sender)
            ok = self.source[m.id] == SENT and not self.paused[source] and self.active(source, name)
            self.expect(source, "refund", (m.encode(), refund_signed(m, attesters[:2])), relayer, ok, "refund")
            if ok:
                self.source[m.id] = REFUNDED
                self.balances[source, name] += m.amount

        def service_relay_killed_and_restarted(self, rng):
            """Two attesters attest a message into the relayer's ledger; the relayer relays what it needs next
            (receive, refuse or refund) and is killed at a fault point, then restarted: it finishes the same
            transaction (or finds it done) and sends nothing more. The model predicts which action and whether
            it runs."""
            if not self.messages:
                return
            m = rng.choice(self.messages)
            mid = "0x" + m.id.hex()
            source, dest = m.sourceChainId, m.destinationChainId
            sender = next(n for n, p in people.items() if p.address == m.sender)
            recipient = next(n for n, p in people.items() if p.address == m.recipient)
            if self.destination[m.id] == RECEIVED or self.source[m.id] == REFUNDED:
                action, ok = "none", True
            elif self.destination[m.id] == REFUSED:
                action, ok = "refund", not self.paused[source] and self.active(source, sender)
            elif self.expired(m) or not self.active(dest, recipient):
                action, ok = "refuse", not self.paused[dest]
            else:
                action, ok = "receiveMessage", not self.paused[dest]
            if action != "none":
                for attester in attesters[:2]:
                    attest_message(self.ledger, nodes[source], nodes[dest], x.a.address if source == A else x.b.address, mid,
                                   attester, confirmations=1)
            point = rng.choice(CRASH_POINTS)
            crash_at[0] = point if ok and action != "none" else None
            messenger = x.a.address if source == A else x.b.address
            try:
                result = relay_message(self.ledger, nodes[source], nodes[dest], messenger, mid, sender=relayer)
                assert action == "none" and result.action == "none", (action, result)
            except Crash:
                assert ok and action != "none"
            except DepositTokenError:  # refused at its gas estimate: nothing signed
                assert not ok, (action, mid)
            crash_at[0] = None
            settle_outbox(self.ledger, nodes[source], nodes[dest])  # the restarted relayer's first step
            if ok and action != "none":
                with self.ledger.session() as session:  # the killed run's transaction ran, once: every row settled
                    sent = [t.status for t in session.scalars(select(Transaction).where(Transaction.purpose == f"xchain.{action}"))]
                STATE_OUTCOMES[f"service {action} killed {point}"] += 1
                if action == "receiveMessage":
                    self.destination[m.id] = RECEIVED
                    self.balances[dest, recipient] += m.amount
                elif action == "refuse":
                    self.destination[m.id] = REFUSED
                else:
                    self.source[m.id] = REFUNDED
                    self.balances[source, sender] += m.amount
                assert sent.count("mined") == self.relayed.get(action, 0) + 1 and len(sent) == sent.count("mined"), sent
                self.relayed[action] = self.relayed.get(action, 0) + 1
            else:
                STATE_OUTCOMES[f"service {action} {'done' if ok else 'refused'}"] += 1

        def restrict(self, rng):
            """Removes or restores a client's allowlist entry, freezes or unfreezes it, or pauses or resumes a route."""
            kind, cid, name = rng.choice(("allowlist", "freeze", "pause")), rng.choice((A, B)), rng.choice(CLIENTS)
            restricted = ([("allowlist", *k) for k, v in self.listed.items() if not v and k[1] != "outsider"]
                          + [("freeze", *k) for k, v in self.frozen.items() if v]
                          + [("pause", c, name) for c, v in self.paused.items() if v])
            if restricted and rng.random() < 0.6:  # mostly lift one, so that restrictions come and go
                kind, cid, name = rng.choice(restricted)
            with on(cid) as side:
                if kind == "allowlist" and self.listed[cid, name]:
                    side.token.removeFromAllowlist(people[name], sender=compliance)
                elif kind == "allowlist":
                    side.token.allowlist(people[name], chain.pending_timestamp + 10 * YEAR, sender=compliance)
                elif kind == "freeze":
                    (side.token.unfreezeAccount if self.frozen[cid, name] else side.token.freezeAccount)(people[name], sender=compliance)
                else:
                    (side.messenger.unpauseRoute if self.paused[cid] else side.messenger.pauseRoute)(side.other, sender=pauser)
            if kind == "allowlist":
                self.listed[cid, name] = not self.listed[cid, name]
            elif kind == "freeze":
                self.frozen[cid, name] = not self.frozen[cid, name]
            else:
                self.paused[cid] = not self.paused[cid]

        def past_the_deadlines(self, rng):
            """Both clocks past every deadline so far (by 1,000 s: no deadline is ever within seconds of a clock)."""
            target = max(chain.pending_timestamp, *(m.deadline for m in self.messages), 0) + 1_000
            with x.connect():
                target = max(target, chain.pending_timestamp)
                set_time(chain, target)
            set_time(chain, target)

        @invariant()
        def chains_match_the_model(self):
            in_flight = sum(m.amount for m in self.messages if self.source[m.id] == SENT and self.destination[m.id] != RECEIVED)
            r = {cid: readers[cid] for cid in (A, B)}
            assert sum(r[cid].token.functions.totalSupply().call() for cid in (A, B)) + in_flight == self.total
            for m in self.messages:
                assert not (self.source[m.id] == REFUNDED and self.destination[m.id] == RECEIVED)
                assert r[m.sourceChainId].messenger.functions.messageStatus(m.id).call() == self.source[m.id]
                assert r[m.destinationChainId].messenger.functions.messageStatus(m.id).call() == self.destination[m.id]
            for cid in (A, B):
                for name, person in people.items():
                    assert r[cid].token.functions.balanceOf(person.address).call() == self.balances[cid, name], (cid, name)

    STATE_OUTCOMES.clear()
    run_state_machine_as_test(Machine, settings=STATE_SETTINGS)
    print(f"\nmessenger state machine outcomes: {dict(sorted(STATE_OUTCOMES.items()))}")
    assert sum(n for o, n in STATE_OUTCOMES.items() if o.startswith("service") and " killed " in o) > 0, STATE_OUTCOMES
    for outcome in ("send ok", "receive ok", "refuse ok", "refund ok"):  # each path reached, and refusals of each
        assert STATE_OUTCOMES[outcome] > 0, (outcome, STATE_OUTCOMES)
    for action in ("send", "receive", "refuse", "refund"):
        assert sum(n for o, n in STATE_OUTCOMES.items() if o.startswith(action) and o != f"{action} ok") > 0, (action, STATE_OUTCOMES)
