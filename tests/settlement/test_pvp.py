"""FX payment-versus-payment (contracts/settlement/PvPSettlement.sol, deptoken.settlement.pvp) on
Anvil, between the USD bank's token and the CNH bank's token.

Signed quotes: the desk (maker, bob) gives CNH, the client (taker, alice) pays USD. Two-step
proposals: alice locks USD for bob against CNH. Every refusal of the contract with its exact custom
error (errors raised by a token inside a settlement are decoded with the token's ABI), the library's
refusals with nothing sent, and a hypothesis property: whatever the amounts, balances, allowances,
allowlist, freeze and pause states, a settlement moves both legs exactly or nothing, and the
settlement contract never holds funds.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from ape import project
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hexbytes import HexBytes

from deptoken import eip712
from deptoken.token import TokenClient
from deptoken.settlement import pvp as pvp_lib
from deptoken.settlement.pvp import PvPClient, SignedQuote, build_quote, sign_quote
from helpers import (
    deptoken_cli,
    INITIAL,
    MAX_UINT256,
    YEAR,
    ZERO_ADDRESS,
    decode_error_data,
    eth_call_revert_data,
    ev,
    events,
    next_tx_at,
    norm,
    one_line_error,
    ref,
    reverts,
    set_time,
)

RATE = "7.1234"  # CNH per USD
SETTLE_GAS_LIMIT = 121_000  # measured 119,437 on Anvil 1.7.1 (unlimited allowances); 125,491 with finite ones
QUOTE_TYPE = ("(address,address,address,uint256,address,uint256,uint256,uint256,bytes32)", "bytes")


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def pvp(token, cnh_token, cnh_bank, compliance, admin, alice, bob, outsider, chain):  # outsider: set up before any test
    """The settlement contract, allowlisted on both tokens; alice and bob approved it without limit on both."""
    contract = pvp_lib.deploy_pvp(admin)
    expiry = chain.pending_timestamp + YEAR
    token.allowlist(contract, expiry, sender=compliance)
    cnh_token.allowlist(contract, expiry, sender=cnh_bank["compliance"])
    for t in (token, cnh_token):
        for holder in (alice, bob):
            t.approve(contract, MAX_UINT256, sender=holder)
    return contract


@pytest.fixture(scope="module")
def usd(token):
    return TokenClient.from_contract(token)


@pytest.fixture(scope="module")
def cnh(cnh_token):
    return TokenClient.from_contract(cnh_token)


@pytest.fixture(scope="module")
def client(pvp, usd, cnh):
    return PvPClient(pvp, tokens=[usd, cnh])


@pytest.fixture(scope="module")
def wallet(client, token, cnh_token, compliance, cnh_bank, bob, carol, chain):
    """A desk's ERC-1271 contract wallet (carol's key signs), allowlisted on both tokens, holding
    1,000.00 CNH (minted by its bank) and having approved the settlement contract on both tokens."""
    w = carol.deploy(project.ERC1271WalletMock, carol.address)
    expiry = chain.pending_timestamp + YEAR
    token.allowlist(w, expiry, sender=compliance)
    cnh_token.allowlist(w, expiry, sender=cnh_bank["compliance"])
    cnh_token.mint(w, 100_000, keccak(text="wallet deposit"), sender=cnh_bank["minter"])
    for t in (token, cnh_token):
        w.execute(t, t.approve.encode_input(client.address, MAX_UINT256), sender=carol)
    return w


def _quote(client, usd, cnh, maker, taker, amount="1000.00", rate=RATE, seconds=3600):
    return build_quote(client, maker, taker, cnh, usd, amount, rate, expiry_seconds=seconds)


@pytest.fixture
def signed(client, usd, cnh, alice, bob, wallet):  # wallet: its module fixture before any test's snapshot
    """bob's quote to alice: 7,123.40 CNH for 1,000.00 USD, valid for an hour."""
    return sign_quote(bob, client, _quote(client, usd, cnh, bob, alice))


def _balances(*pairs):
    return [int(t.balanceOf(a)) for t, a in pairs]


def call_reverts(contract, fn, args, sender, error, /, decode_with=None, **inputs):
    """``contract.fn(*args)`` from ``sender``, simulated (eth_call), reverts with ``error(**inputs)``
    (all arguments); ``decode_with``: the contract whose ABI has the error (a token reverting inside
    a settlement)."""
    data = eth_call_revert_data(contract, fn, args, sender)
    decoded = decode_error_data(data, (decode_with or contract).contract_type)
    assert decoded is not None, f"{fn}: undecodable revert {data!r}"
    assert (decoded[0], {k: norm(v) for k, v in decoded[1].items()}) == (error, {k: norm(v) for k, v in inputs.items()})


def raw_reverts(contract, fn, args, sender, error, /, decode_with=None, **inputs):
    """:func:`call_reverts`, then the same call sent as a real transaction (raw JSON-RPC from the
    unlocked Anvil account: ape would spend seconds tracing a revert raised by another contract),
    which must be mined as reverted."""
    call_reverts(contract, fn, args, sender, error, decode_with=decode_with, **inputs)
    data = HexBytes(getattr(contract, fn).encode_input(*args)).to_0x_hex()
    receipt = _send_raw(norm(sender), contract.address, data)
    assert receipt["status"] == "0x0", f"{fn} did not revert"


# ------------------------------------------------------------------ signed quotes: settle


def test_settle_moves_both_legs_and_nothing_stays(pvp, client, token, cnh_token, signed, alice, bob):
    q = signed.quote
    assert (q.maker_amount, q.taker_amount, q.rate) == (712_340, 100_000, 7_123_400_000_000_000_000)
    assert pvp.hashQuote(q.as_tuple()) == signed.digest
    assert pvp.eip712Domain()[1:5] == ("DepositToken PvP Settlement", "1", 31337, pvp.address)
    receipt = pvp.settle(q.as_tuple(), signed.signature, sender=alice)
    assert events(receipt) == [
        ev("Settled", quoteHash=signed.digest, maker=bob, taker=alice, nonce=q.nonce, makerToken=cnh_token,
           makerAmount=712_340, takerToken=token, takerAmount=100_000, rate=q.rate),
        ev("Transfer", **{"from": bob, "to": alice, "value": 712_340}),
        ev("Transfer", **{"from": alice, "to": bob, "value": 100_000}),
    ]
    assert _balances((cnh_token, alice), (cnh_token, bob), (token, alice), (token, bob)) == [
        INITIAL + 712_340, INITIAL - 712_340, INITIAL - 100_000, INITIAL + 100_000]
    assert token.balanceOf(pvp) == cnh_token.balanceOf(pvp) == 0
    assert pvp.quoteUsed(bob, q.nonce)
    print(f"\nPvPSettlement.settle gas (unlimited allowances): {receipt.gas_used:,}")
    assert receipt.gas_used <= SETTLE_GAS_LIMIT


def test_settle_gas_with_finite_allowances(pvp, client, token, cnh_token, usd, cnh, alice, bob):
    token.approve(pvp, 10**9, sender=alice)
    cnh_token.approve(pvp, 10**9, sender=bob)
    signed = sign_quote(bob, client, _quote(client, usd, cnh, bob, alice))
    receipt = pvp.settle(signed.quote.as_tuple(), signed.signature, sender=alice)
    assert token.allowance(alice, pvp) == 10**9 - 100_000 and cnh_token.allowance(bob, pvp) == 10**9 - 712_340
    print(f"\nPvPSettlement.settle gas (finite allowances, both decreased): {receipt.gas_used:,}")
    assert receipt.gas_used <= SETTLE_GAS_LIMIT + 6_100  # two allowance writes


def test_expired_quote_reverts(pvp, signed, alice, chain):
    q = signed.quote
    set_time(chain, q.expiry + 1)
    with reverts(pvp.QuoteExpired, expiry=q.expiry):
        pvp.settle(q.as_tuple(), signed.signature, sender=alice)


def test_settle_at_the_expiry_second(pvp, signed, alice, chain):
    next_tx_at(chain, signed.quote.expiry)
    pvp.settle(signed.quote.as_tuple(), signed.signature, sender=alice)
    assert pvp.quoteUsed(signed.quote.maker, signed.quote.nonce)


def test_replay_reverts(pvp, signed, alice, bob):
    q = signed.quote
    pvp.settle(q.as_tuple(), signed.signature, sender=alice)
    with reverts(pvp.QuoteAlreadyUsed, maker=bob, nonce=q.nonce):
        pvp.settle(q.as_tuple(), signed.signature, sender=alice)


def test_every_altered_field_invalidates_the_signature(pvp, cnh_token, token, signed, alice, bob, carol):
    q = signed.quote
    other_token = pvp.address  # a contract: passes the code check, so the signature check decides
    alterations = {
        "maker": replace(q, maker=carol.address),
        "maker_token": replace(q, maker_token=other_token),
        "maker_amount": replace(q, maker_amount=q.maker_amount + 1),
        "taker_token": replace(q, taker_token=other_token),
        "taker_amount": replace(q, taker_amount=q.taker_amount - 1),
        "rate": replace(q, rate=q.rate + 1),
        "expiry": replace(q, expiry=q.expiry + 1),
        "nonce": replace(q, nonce=b"\x01" * 32),
        "swapped tokens": replace(q, maker_token=q.taker_token, taker_token=q.maker_token),
    }
    for name, altered in alterations.items():
        call_reverts(pvp, "settle", (altered.as_tuple(), signed.signature), alice, "InvalidQuoteSignature", maker=altered.maker)
    # the taker is signed too: carol settling a copy made out to her
    call_reverts(pvp, "settle", (replace(q, taker=carol.address).as_tuple(), signed.signature), carol,
                 "InvalidQuoteSignature", maker=bob)
    # and the domain: the same quote signed for another chain or another settlement contract
    for domain in ({**signed.domain, "chainId": 1}, {**signed.domain, "verifyingContract": token.address}):
        foreign = eip712.sign(bob, q.typed_data(domain))
        call_reverts(pvp, "settle", (q.as_tuple(), foreign), alice, "InvalidQuoteSignature", maker=bob)
    with reverts(pvp.InvalidQuoteSignature, maker=bob):  # one of them as a transaction
        pvp.settle(alterations["maker_amount"].as_tuple(), signed.signature, sender=alice)
    assert _balances((cnh_token, alice), (token, alice)) == [INITIAL, INITIAL]


def test_wrong_signer_and_malformed_signatures(pvp, client, signed, alice, carol):
    q = signed.quote
    by_carol = eip712.sign(carol, signed.typed_data)
    with reverts(pvp.InvalidQuoteSignature, maker=q.maker):
        pvp.settle(q.as_tuple(), by_carol, sender=alice)
    for bad in (signed.signature[:64], b"", signed.signature + b"\x00", b"\x00" * 65):
        call_reverts(pvp, "settle", (q.as_tuple(), bad), alice, "InvalidQuoteSignature", maker=q.maker)
    assert "cannot sign for maker" in one_line_error(sign_quote, carol, client, q)


def test_only_the_taker_settles(pvp, signed, bob, carol, alice):
    q = signed.quote
    with reverts(pvp.NotTaker, caller=carol, taker=alice):
        pvp.settle(q.as_tuple(), signed.signature, sender=carol)
    call_reverts(pvp, "settle", (q.as_tuple(), signed.signature), bob, "NotTaker", caller=bob, taker=alice)


def test_cancelled_quote(pvp, signed, alice, bob):
    q = signed.quote
    receipt = pvp.cancelQuote(q.nonce, sender=bob)
    assert events(receipt) == [ev("QuoteCancelled", maker=bob, nonce=q.nonce)]
    assert pvp.quoteUsed(bob, q.nonce)
    with reverts(pvp.QuoteAlreadyUsed, maker=bob, nonce=q.nonce):
        pvp.settle(q.as_tuple(), signed.signature, sender=alice)
    with reverts(pvp.QuoteAlreadyUsed, maker=bob, nonce=q.nonce):
        pvp.cancelQuote(q.nonce, sender=bob)
    assert not pvp.quoteUsed(alice, q.nonce)  # nonces are per maker


def test_malformed_quotes(pvp, signed, token, alice, bob):
    q, sig = signed.quote, signed.signature
    t = q.as_tuple()
    cases = [
        ((t[0], t[1], t[2], 0, *t[4:]), "ZeroAmount", {}),
        ((*t[:5], 0, *t[6:]), "ZeroAmount", {}),
        ((t[0], t[1], t[4], t[3], t[4], *t[5:]), "InvalidToken", {"token": t[4]}),  # same token twice
        ((t[0], t[1], ZERO_ADDRESS, *t[3:]), "InvalidToken", {"token": ZERO_ADDRESS}),
        ((*t[:4], alice.address, *t[5:]), "InvalidToken", {"token": alice.address}),  # no code
        ((alice.address, *t[1:]), "InvalidCounterparty", {"counterparty": alice.address}),  # maker == taker
    ]
    for args, error, inputs in cases:
        call_reverts(pvp, "settle", (args, sig), alice, error, **inputs)
    with reverts(pvp.ZeroAmount):
        pvp.settle(cases[0][0], sig, sender=alice)


@pytest.mark.parametrize(
    "who, on, error, account",
    [
        ("maker", "cnh", "ERC7943CannotSend", "maker"),
        ("maker", "usd", "ERC7943CannotReceive", "maker"),
        ("taker", "cnh", "ERC7943CannotReceive", "taker"),
        ("taker", "usd", "ERC7943CannotSend", "taker"),
        ("pvp", "cnh", "SpenderNotAllowed", "pvp"),
        ("pvp", "usd", "SpenderNotAllowed", "pvp"),
    ],
)
def test_allowlist_of_both_tokens_applies_to_both_legs(pvp, client, token, cnh_token, compliance, cnh_bank, signed,
                                                      alice, bob, who, on, error, account):
    party = {"maker": bob, "taker": alice, "pvp": pvp}
    t, officer = (cnh_token, cnh_bank["compliance"]) if on == "cnh" else (token, compliance)
    t.removeFromAllowlist(party[who], sender=officer)
    before = _balances((cnh_token, alice), (cnh_token, bob), (token, alice), (token, bob))
    key = "spender" if error == "SpenderNotAllowed" else "account"
    raw_reverts(pvp, "settle", (signed.quote.as_tuple(), signed.signature), alice, error, decode_with=t,
                **{key: party[account]})
    assert _balances((cnh_token, alice), (cnh_token, bob), (token, alice), (token, bob)) == before
    assert not pvp.quoteUsed(bob, signed.quote.nonce)
    assert "not allowlisted" in one_line_error(client.settle, signed, sender=alice)


def test_frozen_account_lien_and_pause_stop_both_legs(pvp, token, cnh_token, cnh_bank, compliance, pauser, signed, alice, bob):
    args = (signed.quote.as_tuple(), signed.signature)
    token.freezeAccount(bob, sender=compliance)
    call_reverts(pvp, "settle", args, alice, "ERC7943CannotReceive", decode_with=token, account=bob)
    token.unfreezeAccount(bob, sender=compliance)
    cnh_token.setFrozenTokens(bob, INITIAL - 712_339, sender=cnh_bank["legal"])
    call_reverts(pvp, "settle", args, alice, "ERC7943InsufficientUnfrozenBalance", decode_with=cnh_token,
                 account=bob, amount=712_340, unfrozen=712_339)
    cnh_token.setFrozenTokens(bob, 0, sender=cnh_bank["legal"])
    token.pause(sender=pauser)
    raw_reverts(pvp, "settle", args, alice, "EnforcedPause", decode_with=token)
    token.unpause(sender=pauser)
    pvp.settle(*args, sender=alice)  # all lifted: it settles
    assert token.balanceOf(bob) == INITIAL + 100_000


def test_insufficient_allowance_or_balance_moves_nothing(pvp, client, token, cnh_token, usd, cnh, alice, bob):
    signed = sign_quote(bob, client, _quote(client, usd, cnh, bob, alice))
    token.approve(pvp, 99_999, sender=alice)
    before = _balances((cnh_token, alice), (cnh_token, bob), (token, alice), (token, bob))
    # the maker's leg runs first, then the taker's fails: the whole transaction reverts
    raw_reverts(pvp, "settle", (signed.quote.as_tuple(), signed.signature), alice, "ERC20InsufficientAllowance",
                decode_with=token, spender=pvp, allowance=99_999, needed=100_000)
    assert _balances((cnh_token, alice), (cnh_token, bob), (token, alice), (token, bob)) == before
    token.approve(pvp, MAX_UINT256, sender=alice)
    big = sign_quote(bob, client, _quote(client, usd, cnh, bob, alice, amount="1000.01", rate="1000"))
    call_reverts(pvp, "settle", (big.quote.as_tuple(), big.signature), alice, "ERC20InsufficientBalance",
                 decode_with=cnh_token, sender=bob, balance=INITIAL, needed=100_001_000)
    poor = sign_quote(bob, client, _quote(client, usd, cnh, bob, alice, amount="10000.01", rate="0.01"))
    call_reverts(pvp, "settle", (poor.quote.as_tuple(), poor.signature), alice, "ERC20InsufficientBalance",
                 decode_with=token, sender=alice, balance=INITIAL, needed=1_000_001)
    assert token.balanceOf(pvp) == cnh_token.balanceOf(pvp) == 0


def test_contract_wallet_desk(pvp, client, usd, cnh, token, cnh_token, wallet, alice, bob, carol):
    quote = _quote(client, usd, cnh, wallet, alice, amount="100.00")
    assert "cannot sign for maker" in one_line_error(sign_quote, bob, client, quote)
    signed = sign_quote(carol, client, quote)  # the wallet owner's key
    by_bob = eip712.sign(bob, signed.typed_data)
    call_reverts(pvp, "settle", (quote.as_tuple(), by_bob), alice, "InvalidQuoteSignature", maker=wallet)
    wallet.setAccepting(False, sender=carol)
    call_reverts(pvp, "settle", (quote.as_tuple(), signed.signature), alice, "InvalidQuoteSignature", maker=wallet)
    assert "not maker" in one_line_error(client.settle, signed, sender=alice)
    wallet.setAccepting(True, sender=carol)
    receipt = client.settle(signed, sender=alice)
    assert events(receipt, pvp)[0][0] == "Settled"
    assert _balances((cnh_token, wallet), (cnh_token, alice), (token, wallet), (token, alice)) == [
        100_000 - 71_234, INITIAL + 71_234, 10_000, INITIAL - 10_000]
    # the wallet cancels its own quotes
    other = sign_quote(carol, client, _quote(client, usd, cnh, wallet, alice, amount="1.00"))
    wallet.execute(pvp, pvp.cancelQuote.encode_input(other.quote.nonce), sender=carol)
    assert pvp.quoteUsed(wallet, other.quote.nonce)
    with reverts(wallet.NotOwner, caller=bob):
        wallet.execute(pvp, pvp.cancelQuote.encode_input(b"\x05" * 32), sender=bob)


# ------------------------------------------------------------------ two-step proposals


def _propose(pvp, token, cnh_token, alice, bob, seconds=3600, give=50_000, want=356_170):
    from ape import chain

    expiry = chain.pending_timestamp + seconds
    receipt = pvp.propose(bob, token, give, cnh_token, want, expiry, sender=alice)
    return pvp.proposalCount(), expiry, receipt


def test_propose_then_accept(pvp, token, cnh_token, alice, bob):
    pid, expiry, receipt = _propose(pvp, token, cnh_token, alice, bob)
    assert pid == 1
    assert events(receipt) == [
        ev("Proposed", id=1, proposer=alice, counterparty=bob, giveToken=token, giveAmount=50_000,
           wantToken=cnh_token, wantAmount=356_170, expiry=expiry),
        ev("Transfer", **{"from": alice, "to": pvp, "value": 50_000}),
    ]
    assert token.balanceOf(pvp) == pvp.outstanding(token) == 50_000
    assert tuple(pvp.proposal(1)) == (alice.address, expiry, 1, bob.address, token.address, 50_000, cnh_token.address, 356_170)
    receipt = pvp.accept(1, sender=bob)
    assert events(receipt) == [
        ev("ProposalAccepted", id=1, proposer=alice, counterparty=bob),
        ev("Transfer", **{"from": bob, "to": alice, "value": 356_170}),
        ev("Transfer", **{"from": pvp, "to": bob, "value": 50_000}),
    ]
    assert _balances((token, alice), (token, bob), (cnh_token, alice), (cnh_token, bob)) == [
        INITIAL - 50_000, INITIAL + 50_000, INITIAL + 356_170, INITIAL - 356_170]
    assert token.balanceOf(pvp) == pvp.outstanding(token) == 0 and pvp.proposal(1).status == 2
    with reverts(pvp.ProposalNotOpen, id=1, status=2):
        pvp.accept(1, sender=bob)
    with reverts(pvp.ProposalNotOpen, id=1, status=2):
        pvp.cancel(1, sender=alice)


def test_cancel_by_the_proposer_only(pvp, token, cnh_token, alice, bob, carol):
    pid, _, _ = _propose(pvp, token, cnh_token, alice, bob)
    with reverts(pvp.NotProposer, caller=bob, proposer=alice):
        pvp.cancel(pid, sender=bob)
    receipt = pvp.cancel(pid, sender=alice)
    assert events(receipt) == [ev("ProposalCancelled", id=pid, proposer=alice),
                               ev("Transfer", **{"from": pvp, "to": alice, "value": 50_000})]
    assert token.balanceOf(alice) == INITIAL and token.balanceOf(pvp) == 0 and pvp.proposal(pid).status == 3
    with reverts(pvp.ProposalNotOpen, id=pid, status=3):
        pvp.accept(pid, sender=bob)
    with reverts(pvp.ProposalNotOpen, id=pid, status=3):
        pvp.cancel(pid, sender=alice)
    call_reverts(pvp, "expire", (pid,), carol, "ProposalNotOpen", id=pid, status=3)


def test_accept_by_the_counterparty_until_expiry_then_expire(pvp, token, cnh_token, alice, bob, carol, chain):
    pid, expiry, _ = _propose(pvp, token, cnh_token, alice, bob)
    with reverts(pvp.NotCounterparty, caller=carol, counterparty=bob):
        pvp.accept(pid, sender=carol)
    with reverts(pvp.ProposalNotExpired, id=pid, expiry=expiry):
        pvp.expire(pid, sender=carol)
    set_time(chain, expiry + 1)
    with reverts(pvp.ProposalPastExpiry, id=pid, expiry=expiry):
        pvp.accept(pid, sender=bob)
    receipt = pvp.expire(pid, sender=carol)  # anyone
    assert events(receipt) == [ev("ProposalExpired", id=pid, proposer=alice),
                               ev("Transfer", **{"from": pvp, "to": alice, "value": 50_000})]
    assert token.balanceOf(alice) == INITIAL and pvp.outstanding(token) == 0 and pvp.proposal(pid).status == 4
    with reverts(pvp.ProposalNotOpen, id=pid, status=4):
        pvp.expire(pid, sender=carol)
    with reverts(pvp.UnknownProposal, id=99):
        pvp.accept(99, sender=bob)
    for fn in ("cancel", "expire"):
        call_reverts(pvp, fn, (0,), alice, "UnknownProposal", id=0)


def test_accept_at_the_expiry_second(pvp, token, cnh_token, alice, bob, chain):
    pid, expiry, _ = _propose(pvp, token, cnh_token, alice, bob)
    next_tx_at(chain, expiry)
    pvp.accept(pid, sender=bob)
    assert pvp.proposal(pid).status == 2


def test_propose_refusals(pvp, token, cnh_token, alice, bob, chain):
    later = chain.pending_timestamp + 600
    cases = [
        ((ZERO_ADDRESS, token, 1, cnh_token, 1, later), "InvalidCounterparty", {"counterparty": ZERO_ADDRESS}),
        ((alice, token, 1, cnh_token, 1, later), "InvalidCounterparty", {"counterparty": alice}),
        ((bob, token, 1, token, 1, later), "InvalidToken", {"token": token}),
        ((bob, ZERO_ADDRESS, 1, cnh_token, 1, later), "InvalidToken", {"token": ZERO_ADDRESS}),
        ((bob, token, 0, cnh_token, 1, later), "ZeroAmount", {}),
        ((bob, token, 1, cnh_token, 0, later), "ZeroAmount", {}),
        ((bob, token, 1, cnh_token, 1, chain.pending_timestamp - 1), "InvalidExpiry", {"expiry": chain.pending_timestamp - 1}),
        ((bob, token, INITIAL + 1, cnh_token, 1, later), "ERC20InsufficientBalance", {"sender": alice, "balance": INITIAL, "needed": INITIAL + 1}),
    ]
    for args, error, inputs in cases:
        call_reverts(pvp, "propose", args, alice, error, decode_with=token if error.startswith("ERC20") else None, **inputs)
    with reverts(pvp.InvalidExpiry, expiry=0):
        pvp.propose(bob, token, 1, cnh_token, 1, 0, sender=alice)
    assert pvp.proposalCount() == 0


def test_failed_accept_leaves_the_proposal_open(pvp, token, cnh_token, cnh_bank, alice, bob):
    pid, _, _ = _propose(pvp, token, cnh_token, alice, bob)
    cnh_token.freezeAccount(bob, sender=cnh_bank["compliance"])
    raw_reverts(pvp, "accept", (pid,), bob, "ERC7943CannotSend", decode_with=cnh_token, account=bob)
    assert pvp.proposal(pid).status == 1 and token.balanceOf(pvp) == 50_000
    cnh_token.unfreezeAccount(bob, sender=cnh_bank["compliance"])
    pvp.accept(pid, sender=bob)
    assert token.balanceOf(bob) == INITIAL + 50_000


def test_contract_holds_exactly_the_open_proposals(pvp, token, cnh_token, alice, bob, chain):
    opened = []
    for give_token, want_token, proposer, other, amount in (
        (token, cnh_token, alice, bob, 10_000), (token, cnh_token, bob, alice, 20_000),
        (cnh_token, token, alice, bob, 30_000), (cnh_token, token, bob, alice, 40_000),
        (token, cnh_token, alice, bob, 50_000),
    ):
        pvp.propose(other, give_token, amount, want_token, 1_000, chain.pending_timestamp + 600, sender=proposer)
        opened.append(pvp.proposalCount())
    pvp.accept(opened[0], sender=bob)
    pvp.cancel(opened[2], sender=alice)
    set_time(chain, chain.pending_timestamp + 601)
    pvp.expire(opened[3], sender=alice)
    for t in (token, cnh_token):
        open_sum = sum(p.giveAmount for p in map(pvp.proposal, opened) if p.status == 1 and p.giveToken == t.address)
        assert t.balanceOf(pvp) == pvp.outstanding(t) == open_sum
    assert token.balanceOf(pvp) == 70_000 and cnh_token.balanceOf(pvp) == 0


# ------------------------------------------------------------------ the bank's controls over proposals (issue 9)

SEIZED = 5  # PvPSettlement.Status.Seized


@pytest.fixture
def fresh(accounts, token, cnh_token, compliance, cnh_bank, chain):
    """A fresh address of alice's (after a lost-key recovery): allowlisted on both tokens, holding nothing."""
    account = accounts[12]
    expiry = chain.pending_timestamp + YEAR
    token.allowlist(account, expiry, sender=compliance)
    cnh_token.allowlist(account, expiry, sender=cnh_bank["compliance"])
    return account


def _books(pvp, *tokens):
    """The contract's balance of each token equals what it owes for open proposals; returns the balances."""
    held = [int(t.balanceOf(pvp)) for t in tokens]
    assert held == [int(pvp.outstanding(t)) for t in tokens]
    return held


def test_seize_proposal_closes_exactly_that_proposal(pvp, token, cnh_token, legal, cnh_bank, minter, alice, bob, carol,
                                                      chain):
    """Finding A: a token-level seizure of the pool hits the wrong proposal; the legal exit does not."""
    pid_a, _, _ = _propose(pvp, token, cnh_token, alice, bob, give=30_000)
    pid_b, _, _ = _propose(pvp, token, cnh_token, bob, alice, give=50_000)
    # as reported: the bank seizes alice's 300.00 on the token, from the PvP contract's balance
    snapshot = chain.snapshot()
    token.forcedTransfer(pvp, minter, 30_000, sender=legal)
    pvp.cancel(pid_a, sender=alice)  # the seized proposal still cancels in full ...
    raw_reverts(pvp, "cancel", (pid_b,), bob, "ERC20InsufficientBalance", decode_with=token,  # ... bob's does not
                sender=pvp, balance=20_000, needed=50_000)
    chain.restore(snapshot)
    # the contract's own legal exit: exactly alice's proposal, to the account the bank names
    order = ref("COURT-ORDER-7")
    receipt = pvp.seizeProposal(pid_a, minter, order, sender=legal)
    assert events(receipt) == [
        ev("ProposalSeized", id=pid_a, to=minter, amount=30_000, legalOrderRef=order, by=legal),
        ev("Transfer", **{"from": pvp, "to": minter, "value": 30_000}),
    ]
    assert pvp.proposal(pid_a).status == SEIZED and token.balanceOf(minter) == 30_000
    assert _books(pvp, token, cnh_token) == [50_000, 0]
    for fn, who in (("accept", bob), ("cancel", alice), ("expire", carol)):
        call_reverts(pvp, fn, (pid_a,), who, "ProposalNotOpen", id=pid_a, status=SEIZED)
    with reverts(pvp.ProposalNotOpen, id=pid_a, status=SEIZED):
        pvp.seizeProposal(pid_a, minter, order, sender=legal)
    pvp.cancel(pid_b, sender=bob)  # the other proposer is whole
    assert token.balanceOf(bob) == INITIAL and _books(pvp, token, cnh_token) == [0, 0]
    # the same with a counterparty accepting the other proposal after a seizure
    pid_c, _, _ = _propose(pvp, token, cnh_token, alice, bob, give=10_000)
    pid_d, expiry, _ = _propose(pvp, cnh_token, token, bob, alice, give=20_000, want=1_000)
    pvp.seizeProposal(pid_d, cnh_bank["minter"], order, sender=cnh_bank["legal"])
    pvp.accept(pid_c, sender=bob)
    assert _books(pvp, token, cnh_token) == [0, 0] and cnh_token.balanceOf(cnh_bank["minter"]) == 20_000
    # an open proposal past its expiry can still be seized
    pid_e, expiry, _ = _propose(pvp, token, cnh_token, alice, bob, give=1_000)
    set_time(chain, expiry + 1)
    pvp.seizeProposal(pid_e, minter, order, sender=legal)
    assert _books(pvp, token, cnh_token) == [0, 0]


def test_seize_proposal_refusals(pvp, token, cnh_token, legal, cnh_bank, compliance, minter, alice, bob, outsider):
    pid, _, _ = _propose(pvp, token, cnh_token, alice, bob)
    order = ref("COURT-ORDER-8")
    # the legal role of the token the contract holds for the proposal (USD), not the other bank's
    with reverts(pvp.NotTokenLegalRole, token=token, caller=cnh_bank["legal"]):
        pvp.seizeProposal(pid, minter, order, sender=cnh_bank["legal"])
    for who in (alice, bob, compliance):
        call_reverts(pvp, "seizeProposal", (pid, minter, order), who, "NotTokenLegalRole", token=token, caller=who)
    with reverts(pvp.InvalidLegalOrderRef):
        pvp.seizeProposal(pid, minter, b"\x00" * 32, sender=legal)
    for to in (ZERO_ADDRESS, pvp.address):
        call_reverts(pvp, "seizeProposal", (pid, to, order), legal, "InvalidBeneficiary", account=to)
    call_reverts(pvp, "seizeProposal", (99, minter, order), legal, "UnknownProposal", id=99)
    # the recipient must be able to receive: the token's own check
    raw_reverts(pvp, "seizeProposal", (pid, outsider.address, order), legal, "ERC7943CannotReceive", decode_with=token,
                account=outsider)
    assert pvp.proposal(pid).status == 1 and _books(pvp, token, cnh_token) == [50_000, 0]


def test_token_level_seizure_shows_in_the_books(pvp, token, cnh_token, legal, minter, alice, bob):
    """Not the way, but visible: after a token-level seizure the balance falls short of what the contract owes."""
    _propose(pvp, token, cnh_token, alice, bob)
    token.forcedTransfer(pvp, minter, 20_000, sender=legal)
    assert token.balanceOf(pvp) == 30_000 and pvp.outstanding(token) == 50_000


def test_accept_refuses_a_restricted_proposer(pvp, client, token, cnh_token, compliance, cnh_bank, legal, minter,
                                              alice, bob, chain):
    """Finding B: the proposer's locked money moves to the counterparty on accept, so the proposer
    must be active on the token it gives; a frozen or delisted proposer's proposal waits for the
    bank (seize, or lift the restriction)."""
    pid, _, _ = _propose(pvp, token, cnh_token, alice, bob)
    token.freezeAccount(alice, sender=compliance)
    with reverts(pvp.PartyRestricted, token=token, party=alice):
        pvp.accept(pid, sender=bob)
    assert "proposer " + alice.address + " is frozen on EXUSD" in one_line_error(client.accept, pid, sender=bob)
    token.unfreezeAccount(alice, sender=compliance)
    token.removeFromAllowlist(alice, sender=compliance)
    call_reverts(pvp, "accept", (pid,), bob, "PartyRestricted", token=token, party=alice)
    # its money going back to itself is left to the token's receive check: a delisted proposer cannot cancel
    call_reverts(pvp, "cancel", (pid,), alice, "ERC7943CannotReceive", decode_with=token, account=alice)
    snapshot = chain.snapshot()
    pvp.seizeProposal(pid, minter, ref("SANCTION-1"), sender=legal)  # the bank's exit
    assert _books(pvp, token, cnh_token) == [0, 0]
    chain.restore(snapshot)
    token.allowlist(alice, chain.pending_timestamp + YEAR, sender=compliance)  # lifted: it settles
    pvp.accept(pid, sender=bob)
    assert _books(pvp, token, cnh_token) == [0, 0]


def test_accept_needs_an_active_counterparty(pvp, token, cnh_token, cnh_bank, compliance, alice, bob, chain):
    """Finding B: the counterparty acting must be active: the tokens' own transfer checks refuse it."""
    pid, _, _ = _propose(pvp, token, cnh_token, alice, bob)
    cnh_token.removeFromAllowlist(bob, sender=cnh_bank["compliance"])  # it pays CNH
    call_reverts(pvp, "accept", (pid,), bob, "ERC7943CannotSend", decode_with=cnh_token, account=bob)
    cnh_token.allowlist(bob, chain.pending_timestamp + YEAR, sender=cnh_bank["compliance"])
    token.freezeAccount(bob, sender=compliance)  # it receives USD
    call_reverts(pvp, "accept", (pid,), bob, "ERC7943CannotReceive", decode_with=token, account=bob)
    token.unfreezeAccount(bob, sender=compliance)
    pvp.accept(pid, sender=bob)


def _terms_hash(proposer, counterparty, give_token, give_amount, want_token, want_amount, expiry):
    types = ["address", "address", "address", "uint256", "address", "uint256", "uint256"]
    return keccak(abi_encode(types, [norm(proposer), norm(counterparty), norm(give_token), give_amount,
                                     norm(want_token), want_amount, expiry]))


def test_accept_with_the_expected_terms(pvp, client, token, cnh_token, legal, alice, bob, fresh):
    """Finding C: accept(id, termsHash) settles only the proposal the counterparty read."""
    pid, expiry, _ = _propose(pvp, token, cnh_token, alice, bob)
    expected = _terms_hash(alice, bob, token, 50_000, cnh_token, 356_170, expiry)
    assert pvp.proposalHash(pid) == expected == client.proposal(pid).terms_hash
    with reverts(pvp.ProposalTermsMismatch, id=pid, expected=expected, given=b"\x01" * 32):
        pvp.accept(pid, b"\x01" * 32, sender=bob)
    # the terms change under the counterparty's feet (here: the bank replaces the proposer): refused
    read = client.proposal(pid)
    token.recoverAccount(alice, fresh, sender=legal)
    pvp.replaceParty(pid, alice, fresh, sender=legal)
    changed = _terms_hash(fresh, bob, token, 50_000, cnh_token, 356_170, expiry)
    with reverts(pvp.ProposalTermsMismatch, id=pid, expected=changed, given=read.terms_hash):
        pvp.accept(pid, read.terms_hash, sender=bob)
    assert "terms hash" in one_line_error(client.accept, pid, sender=bob, terms_hash=read.terms_hash)
    receipt = pvp.accept(pid, changed, sender=bob)
    assert events(receipt, pvp) == [ev("ProposalAccepted", id=pid, proposer=fresh, counterparty=bob)]
    assert cnh_token.balanceOf(fresh) == 356_170 and _books(pvp, token, cnh_token) == [0, 0]
    call_reverts(pvp, "proposalHash", (99,), bob, "UnknownProposal", id=99)


def test_replace_party_after_a_lost_key_recovery(pvp, token, cnh_token, legal, cnh_bank, compliance, alice, bob, carol,
                                                 fresh, accounts, chain):
    """Finding D: after recoverAccount the lost address is delisted; the bank moves its side of an
    open proposal to the replacement address."""
    pid, _, _ = _propose(pvp, token, cnh_token, alice, bob)
    token.recoverAccount(alice, fresh, sender=legal)
    call_reverts(pvp, "accept", (pid,), bob, "PartyRestricted", token=token, party=alice)
    # refusals
    with reverts(pvp.NotTokenLegalRole, token=token, caller=cnh_bank["legal"]):
        pvp.replaceParty(pid, alice, fresh, sender=cnh_bank["legal"])
    call_reverts(pvp, "replaceParty", (pid, alice, fresh), compliance, "NotTokenLegalRole", token=token, caller=compliance)
    call_reverts(pvp, "replaceParty", (pid, carol, fresh), legal, "NotAParty", id=pid, account=carol)
    call_reverts(pvp, "replaceParty", (pid, alice, bob), legal, "InvalidCounterparty", counterparty=bob)
    for account in (ZERO_ADDRESS, pvp.address, alice.address):
        call_reverts(pvp, "replaceParty", (pid, alice, account), legal, "InvalidBeneficiary", account=account)
    only_usd = accounts[13]
    token.allowlist(only_usd, chain.pending_timestamp + YEAR, sender=compliance)  # active on the given token, not on the wanted one
    call_reverts(pvp, "replaceParty", (pid, alice, only_usd), legal, "InvalidBeneficiary", account=only_usd)
    call_reverts(pvp, "replaceParty", (99, alice, fresh), legal, "UnknownProposal", id=99)
    # the replacement
    receipt = pvp.replaceParty(pid, alice, fresh, sender=legal)
    assert events(receipt) == [ev("PartyReplaced", id=pid, lost=alice, replacement=fresh)]
    assert pvp.proposal(pid).proposer == fresh.address
    pvp.accept(pid, sender=bob)
    assert cnh_token.balanceOf(fresh) == 356_170 and token.balanceOf(bob) == INITIAL + 50_000
    # a counterparty is replaced alike; a closed proposal no longer
    call_reverts(pvp, "replaceParty", (pid, fresh, carol), legal, "ProposalNotOpen", id=pid, status=2)
    pid2, _, _ = _propose(pvp, token, cnh_token, bob, carol)
    pvp.replaceParty(pid2, carol, fresh, sender=legal)
    assert pvp.proposal(pid2).counterparty == fresh.address
    with reverts(pvp.NotCounterparty, caller=carol, counterparty=fresh):
        pvp.accept(pid2, sender=carol)
    assert _books(pvp, token, cnh_token) == [50_000, 0]


def test_rescue_excess_only(pvp, token, cnh_token, legal, cnh_bank, alice, bob, carol):
    """Tokens sent here by mistake: the token's legal role takes back what exceeds the open proposals, no more."""
    _propose(pvp, token, cnh_token, alice, bob)
    token.transfer(pvp, 1_000, sender=alice)
    with reverts(pvp.RescueExceedsExcess, token=token, amount=1_001, excess=1_000):
        pvp.rescueExcess(token, alice, 1_001, sender=legal)
    with reverts(pvp.NotTokenLegalRole, token=token, caller=cnh_bank["legal"]):
        pvp.rescueExcess(token, alice, 1_000, sender=cnh_bank["legal"])
    call_reverts(pvp, "rescueExcess", (cnh_token, carol, 1), cnh_bank["legal"], "RescueExceedsExcess",
                 token=cnh_token, amount=1, excess=0)
    receipt = pvp.rescueExcess(token, alice, 1_000, sender=legal)
    assert events(receipt) == [ev("ExcessRescued", token=token, to=alice, amount=1_000, by=legal),
                               ev("Transfer", **{"from": pvp, "to": alice, "value": 1_000})]
    assert _books(pvp, token, cnh_token) == [50_000, 0]


# ------------------------------------------------------------------ property: atomicity


def _raw(method, params):
    from ape import chain

    response = chain.provider.web3.provider.make_request(method, params)
    assert "error" not in response, response
    return response["result"]


def _send_raw(sender, to, data):
    """Sends a transaction from an unlocked Anvil account without ape's transaction layer; its receipt."""
    tx_hash = _raw("eth_sendTransaction", [{"from": sender, "to": to, "data": data, "gas": hex(1_000_000)}])
    while (receipt := _raw("eth_getTransactionReceipt", [tx_hash])) is None:
        pass
    return receipt


def _calldata(signature, types, args):
    return "0x" + (keccak(text=signature)[:4] + abi_encode(types, list(args))).hex()


DISRUPTIONS = [
    (kind, who, on) for kind in ("remove", "freeze") for who in ("maker", "taker", "pvp") for on in ("usd", "cnh")
] + [("lien", who, on) for who in ("maker", "taker") for on in ("usd", "cnh")] + [("pause", None, "usd"), ("pause", None, "cnh")]
AMOUNTS = st.one_of(st.integers(1, 5_000), st.integers(1, 1_100_000))
ALLOWANCES = st.one_of(st.just(MAX_UINT256), st.integers(0, 1_100_000))


def test_property_both_legs_or_neither(pvp, client, token, cnh_token, compliance, legal, pauser, cnh_bank, alice, bob,
                                       carol, chain):
    """Random amounts, balances, allowances, allowlist entries, freezes, liens and pauses: a
    settlement (a real transaction) moves both legs exactly, or nothing at all; the settlement
    contract holds nothing either way; and it settles exactly when a model of the rules says so."""
    maker, taker = bob.address, alice.address
    tokens = {"usd": token.address, "cnh": cnh_token.address}
    officers = {"usd": {"remove": compliance, "freeze": compliance, "lien": legal, "pause": pauser},
                "cnh": {"remove": cnh_bank["compliance"], "freeze": cnh_bank["compliance"], "lien": cnh_bank["legal"],
                        "pause": cnh_bank["pauser"]}}
    accounts = {"maker": maker, "taker": taker, "pvp": pvp.address}
    domain = client.domain
    outcomes = []

    def send(sender, to, signature, types, args):
        receipt = _send_raw(sender, to, _calldata(signature, types, args))
        return receipt["status"] == "0x1"

    @settings(max_examples=25, deadline=None, database=None, derandomize=True, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(maker_amount=AMOUNTS, taker_amount=AMOUNTS, maker_allowance=ALLOWANCES, taker_allowance=ALLOWANCES,
           maker_spent=st.one_of(st.just(0), st.integers(0, INITIAL)),
           disruptions=st.lists(st.sampled_from(DISRUPTIONS), max_size=2, unique=True), lien=st.integers(1, INITIAL))
    def run(maker_amount, taker_amount, maker_allowance, taker_allowance, maker_spent, disruptions, lien):
        snapshot = chain.snapshot()
        try:
            if maker_spent:  # the maker's CNH balance: what it did not pay away
                assert send(maker, tokens["cnh"], "transfer(address,uint256)", ["address", "uint256"], [carol.address, maker_spent])
            assert send(maker, tokens["cnh"], "approve(address,uint256)", ["address", "uint256"], [pvp.address, maker_allowance])
            assert send(taker, tokens["usd"], "approve(address,uint256)", ["address", "uint256"], [pvp.address, taker_allowance])
            blocked, liens = False, {}
            for kind, who, on in disruptions:
                officer = officers[on][kind].address
                if kind == "remove":
                    assert send(officer, tokens[on], "removeFromAllowlist(address)", ["address"], [accounts[who]])
                elif kind == "freeze":
                    assert send(officer, tokens[on], "freezeAccount(address)", ["address"], [accounts[who]])
                elif kind == "lien":
                    assert send(officer, tokens[on], "setFrozenTokens(address,uint256)", ["address", "uint256"], [accounts[who], lien])
                    liens[(who, on)] = lien
                else:
                    assert send(officer, tokens[on], "pause()", [], [])
                blocked = blocked or kind != "lien"
            maker_unfrozen = max(INITIAL - maker_spent - liens.get(("maker", "cnh"), 0), 0)
            taker_unfrozen = max(INITIAL - liens.get(("taker", "usd"), 0), 0)
            expected = (not blocked and maker_amount <= min(maker_allowance, maker_unfrozen)
                        and taker_amount <= min(taker_allowance, taker_unfrozen))
            quote = pvp_lib.Quote(maker, taker, tokens["cnh"], maker_amount, tokens["usd"], taker_amount, 10**18,
                                  chain.pending_timestamp + 3600, pvp_lib.random_nonce())
            signature = eip712.sign(bob, quote.typed_data(domain))
            pairs = ((cnh_token, maker), (cnh_token, taker), (token, taker), (token, maker), (token, pvp), (cnh_token, pvp))
            before = _balances(*pairs)
            settled = send(taker, pvp.address, "settle((address,address,address,uint256,address,uint256,uint256,uint256,bytes32),bytes)",
                           QUOTE_TYPE, [quote.as_tuple(), signature])
            after = _balances(*pairs)
            assert settled == expected, (disruptions, maker_amount, taker_amount, maker_allowance, taker_allowance, lien)
            if settled:
                assert after == [before[0] - maker_amount, before[1] + maker_amount, before[2] - taker_amount,
                                 before[3] + taker_amount, 0, 0]
            else:
                assert after == before and after[4:] == [0, 0]
            assert pvp.quoteUsed(maker, quote.nonce) == settled
            outcomes.append(settled)
        finally:
            chain.restore(snapshot)

    run()
    assert len(outcomes) == 25 and 3 <= sum(outcomes) <= 22, outcomes  # both outcomes explored


PROPOSAL_STEPS = st.lists(
    st.tuples(st.sampled_from(["propose", "propose", "accept", "cancel", "expire", "seize", "freeze", "unfreeze", "wait"]),
              st.integers(0, 7), st.integers(1, 300_000)),
    min_size=4, max_size=9,
)


def test_property_proposals_books_and_legal_exits(pvp, token, cnh_token, compliance, legal, minter, cnh_bank, alice,
                                                  bob, chain):
    """Random proposals, accepts, cancels, expiries, legal exits (seizeProposal), freezes and time:
    each call succeeds exactly when a model of the rules says so, every proposal leaves Open once,
    and after every step the contract holds exactly what it owes (balance == outstanding == the
    open proposals' amounts, per token)."""
    usd, cnh = token.address, cnh_token.address
    parties = (alice.address, bob.address)
    banks = {usd: {"compliance": compliance.address, "legal": legal.address, "treasury": minter.address},
             cnh: {"compliance": cnh_bank["compliance"].address, "legal": cnh_bank["legal"].address,
                   "treasury": cnh_bank["minter"].address}}
    contracts = {usd: token, cnh: cnh_token}
    runs = []

    def send(sender, to, signature, types, args):
        return _send_raw(sender, to, _calldata(signature, types, args))["status"] == "0x1"

    def now():
        return int(chain.blocks.head.timestamp)

    @settings(max_examples=10, deadline=None, database=None, derandomize=True, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(steps=PROPOSAL_STEPS)
    def run(steps):
        snapshot = chain.snapshot()
        try:
            proposals, frozen, outcomes = {}, set(), []  # id -> [proposer, other, give, amount, want, expiry, status]
            for action, pick, amount in steps:
                open_ids = [i for i, p in proposals.items() if p[6] == "open"]
                pid = open_ids[pick % len(open_ids)] if open_ids else None
                p = proposals.get(pid)
                if action == "propose":
                    proposer, other = parties[pick % 2], parties[1 - pick % 2]
                    give, want = (usd, cnh) if pick // 2 % 2 == 0 else (cnh, usd)
                    expiry = now() + 3000
                    expected = (proposer, give) not in frozen and amount <= int(contracts[give].balanceOf(proposer))
                    ok = send(proposer, pvp.address, "propose(address,address,uint256,address,uint256,uint64)",
                              ["address", "address", "uint256", "address", "uint256", "uint64"],
                              [other, give, amount, want, amount // 7 + 1, expiry])
                    if ok:
                        proposals[int(pvp.proposalCount())] = [proposer, other, give, amount, want, expiry, "open"]
                elif pid is None or action in ("freeze", "unfreeze", "wait"):
                    expected = ok = True
                    if action == "wait":
                        set_time(chain, now() + 2000)
                    elif action in ("freeze", "unfreeze"):
                        who, on = parties[pick % 2], (usd, cnh)[pick // 2 % 2]
                        if action == "freeze" and (who, on) not in frozen:
                            assert send(banks[on]["compliance"], on, "freezeAccount(address)", ["address"], [who])
                            frozen.add((who, on))
                        elif action == "unfreeze" and (who, on) in frozen:
                            assert send(banks[on]["compliance"], on, "unfreezeAccount(address)", ["address"], [who])
                            frozen.discard((who, on))
                else:
                    proposer, other, give, amount_locked, want, expiry, _ = p
                    live = now() + 1 <= expiry  # the next block is at least a second later; margins are minutes
                    if action == "accept":
                        want_amount = amount_locked // 7 + 1
                        expected = (live and not frozen & {(proposer, give), (other, want), (other, give), (proposer, want)}
                                    and want_amount <= int(contracts[want].balanceOf(other)))
                        ok = send(other, pvp.address, "accept(uint256)", ["uint256"], [pid])
                        status = "accepted"
                    elif action == "cancel":
                        expected = (proposer, give) not in frozen
                        ok = send(proposer, pvp.address, "cancel(uint256)", ["uint256"], [pid])
                        status = "cancelled"
                    elif action == "expire":
                        expected = not live and (proposer, give) not in frozen
                        ok = send(banks[usd]["treasury"], pvp.address, "expire(uint256)", ["uint256"], [pid])
                        status = "expired"
                    else:
                        expected = True  # the legal exit works whoever is frozen, expired or not
                        ok = send(banks[give]["legal"], pvp.address, "seizeProposal(uint256,address,bytes32)",
                                  ["uint256", "address", "bytes32"], [pid, banks[give]["treasury"], ref(pid)])
                        status = "seized"
                    if ok:
                        p[6] = status
                assert ok == expected, (action, pick, amount, steps)
                outcomes.append((action, ok))
                for t in (usd, cnh):
                    owed = sum(q[3] for q in proposals.values() if q[6] == "open" and q[2] == t)
                    assert int(contracts[t].balanceOf(pvp)) == int(pvp.outstanding(t)) == owed, (action, steps)
            for i, q in proposals.items():
                assert pvp_lib.STATUSES[int(pvp.proposal(i).status)] == q[6]
            runs.append(outcomes)
        finally:
            chain.restore(snapshot)

    run()
    done = {a for outcomes in runs for a, ok in outcomes if ok}
    assert len(runs) == 10 and {"propose", "seize"} <= done, done


# ------------------------------------------------------------------ the library


def test_build_quote_computes_and_validates(client, usd, cnh, alice, bob, chain):
    before = chain.pending_timestamp
    q = _quote(client, usd, cnh, bob, alice, amount="1000.00", rate="7.1234")
    after = chain.pending_timestamp  # Anvil's pending block is stamped with the clock: a second may pass
    assert (q.maker_amount, q.taker_amount, q.rate_text) == (712_340, 100_000, "7.1234")
    assert before + 3600 <= q.expiry <= after + 3600 and len(q.nonce) == 32
    # floor in the maker's minor units, exact (no float): 0.01 USD at 0.999999999999999999 -> 0.00 CNH
    odd = _quote(client, usd, cnh, bob, alice, amount="123.45", rate="0.333333333333333333")
    assert odd.maker_amount == 4_114  # 41.149999... CNH
    assert pvp_lib.maker_amount_for(12_345, 333_333_333_333_333_333, maker_decimals=2, taker_decimals=2) == 4_114
    assert pvp_lib.maker_amount_for(1, 10**18, maker_decimals=0, taker_decimals=2) == 0
    bad = [
        (dict(rate=7.1234), "float"),
        (dict(rate="0"), "rate '0' must be positive"),
        (dict(rate="1.0000000000000000001"), "more than 18 decimal places"),
        (dict(rate="1e3"), "plain decimal"),
        (dict(amount="10.001"), "more than 2 decimal places"),
        (dict(amount="0.01", rate="0.1"), "less than one minor unit"),
        (dict(seconds=0), "positive number of seconds"),
    ]
    for kwargs, message in bad:
        amount, rate, seconds = kwargs.get("amount", "10"), kwargs.get("rate", RATE), kwargs.get("seconds", 60)
        assert message in one_line_error(build_quote, client, bob, alice, cnh, usd, amount, rate, expiry_seconds=seconds)
    assert "EIP-55" in one_line_error(build_quote, client, bob.address.lower(), alice, cnh, usd, "1", RATE, expiry_seconds=60)
    assert "same token" in one_line_error(build_quote, client, bob, alice, usd, usd, "1", RATE, expiry_seconds=60)
    assert "same account" in one_line_error(build_quote, client, bob, bob, cnh, usd, "1", RATE, expiry_seconds=60)
    assert "one of them" in one_line_error(build_quote, client, bob, alice, cnh, usd, "1", RATE, expiry_seconds=60, expiry=10**10)
    assert "not in the future" in one_line_error(build_quote, client, bob, alice, cnh, usd, "1", RATE, expiry=1)


def test_quote_file_round_trip_and_tampering(signed, tmp_path):
    path = signed.save(tmp_path / "quote.json")
    raw = json.loads(path.read_text())
    assert raw["typedData"]["message"]["rate"] == "7123400000000000000"  # uint256 as text: exact anywhere
    assert raw["typedData"]["primaryType"] == "Quote" and raw["signature"] == "0x" + signed.signature.hex()
    loaded = SignedQuote.load(path)
    assert loaded == signed and loaded.digest == signed.digest
    assert eip712.recover(raw["typedData"], raw["signature"]) == signed.quote.maker  # any EIP-712 tool reads it
    for mutate, message in [
        (lambda d: d["typedData"]["message"].pop("rate"), "exactly the fields"),
        (lambda d: d["typedData"].update(primaryType="Permit"), "not a quote"),
        (lambda d: d["typedData"]["message"].update(makerAmount="-5"), "non-negative integer"),
        (lambda d: d["typedData"]["message"].update(nonce="0x1234"), "32 bytes"),
        (lambda d: d["typedData"]["types"]["Quote"].reverse(), "types"),
        (lambda d: d.pop("signature"), "not a signed quote file"),
        (lambda d: d["typedData"]["message"].update(maker=signed.quote.maker[:2] + signed.quote.maker[2:].swapcase()), "EIP-55"),
    ]:
        data = json.loads(path.read_text())
        mutate(data)
        assert message in one_line_error(SignedQuote.from_json, json.dumps(data))
    assert "not found" in one_line_error(SignedQuote.load, tmp_path / "missing.json")
    assert "not a signed quote file" in one_line_error(SignedQuote.from_json, "[1, 2]")


def _nothing_sent(chain, *senders):
    return chain.blocks.height, [chain.provider.get_nonce(s.address) for s in senders]


def test_library_refuses_with_nothing_sent(client, pvp, token, cnh_token, usd, cnh, compliance, cnh_bank, pauser,
                                           signed, alice, bob, carol, chain):
    state = _nothing_sent(chain, alice, bob, carol)
    q = signed.quote
    refusals = [
        (lambda: client.settle(signed, sender=carol), "is for taker"),
        (lambda: client.settle(replace(signed, quote=replace(q, maker_amount=q.maker_amount + 1)), sender=alice), "not maker"),
        (lambda: client.settle(replace(signed, domain={**signed.domain, "chainId": 1}), sender=alice), "on chain 1"),
        (lambda: client.settle(sign_quote(bob, client, replace(q, maker_amount=q.maker_amount + 2)), sender=alice), "do not match its rate"),
        (lambda: client.cancel_quote("0x1234", sender=bob), "32 bytes"),
    ]
    for call, message in refusals:
        assert message in one_line_error(call)
    # within one minor unit of the rate is accepted
    client.verify(sign_quote(bob, client, replace(q, maker_amount=q.maker_amount + 1)), sender=alice)
    assert _nothing_sent(chain, alice, bob, carol) == state
    # chain-state refusals, each set up, refused with nothing sent, then undone
    setups = [
        (lambda: token.approve(pvp, 99_999, sender=alice), "approved 999.99 EXUSD for the settlement contract, less than 1,000.00"),
        (lambda: cnh_token.approve(pvp, 0, sender=bob), "maker " + bob.address + " has approved 0.00"),
        (lambda: cnh_token.removeFromAllowlist(pvp, sender=cnh_bank["compliance"]), "the settlement contract " + pvp.address + " is not allowlisted on EXCNH"),
        (lambda: token.removeFromAllowlist(bob, sender=compliance), "maker " + bob.address + " is not allowlisted on EXUSD"),
        (lambda: cnh_token.freezeAccount(alice, sender=cnh_bank["compliance"]), "taker " + alice.address + " is frozen on EXCNH"),
        (lambda: token.pause(sender=pauser), "EXUSD is paused: cannot settle"),
        (lambda: cnh_token.transfer(carol, 300_000, sender=bob), "holds 7,000.00 EXCNH, less than 7,123.40"),
        (lambda: pvp.cancelQuote(q.nonce, sender=bob), "already settled or cancelled"),
    ]
    for setup, message in setups:
        snapshot = chain.snapshot()
        setup()
        state = _nothing_sent(chain, alice, bob, carol)
        assert message in one_line_error(client.settle, signed, sender=alice), message
        assert _nothing_sent(chain, alice, bob, carol) == state
        chain.restore(snapshot)
    set_time(chain, q.expiry + 1)
    assert "expired at" in one_line_error(client.settle, signed, sender=alice)


def test_library_settles_and_cancels(client, pvp, token, cnh_token, usd, cnh, signed, alice, bob):
    token.approve(pvp, 0, sender=alice)
    assert "has approved 0.00 EXUSD" in one_line_error(client.settle, signed, sender=alice)
    receipt = client.settle(signed, sender=alice, approve=True)  # approves exactly its leg, then settles
    assert token.allowance(alice, pvp) == 0
    assert events(receipt, pvp)[0][1]["quoteHash"] == signed.digest
    assert cnh_token.balanceOf(alice) == INITIAL + 712_340 and token.balanceOf(bob) == INITIAL + 100_000
    assert "already settled or cancelled" in one_line_error(client.settle, signed, sender=alice)
    other = sign_quote(bob, client, _quote(client, usd, cnh, bob, alice))
    client.cancel_quote(other.quote.nonce, sender=bob)
    assert client.quote_used(bob, other.quote.nonce)
    assert "already settled or cancelled" in one_line_error(client.cancel_quote, other.quote.nonce, sender=bob)


def test_library_proposals(client, pvp, token, cnh_token, usd, cnh, cnh_bank, alice, bob, carol, outsider, chain):
    state = _nothing_sent(chain, alice, bob, carol)
    refusals = [
        (lambda: client.propose(bob, usd, "100.001", cnh, "1", expires_in=60, sender=alice), "more than 2 decimal places"),
        (lambda: client.propose(alice, usd, "1", cnh, "1", expires_in=60, sender=alice), "another account"),
        (lambda: client.propose(bob, usd, "1", usd, "1", expires_in=60, sender=alice), "same token"),
        (lambda: client.propose(bob, usd, "1", cnh, "1", expiry=1, sender=alice), "not in the future"),
        (lambda: client.propose(bob, usd, "1", cnh, "1", sender=alice), "one of them"),
        (lambda: client.propose(outsider, usd, "1", cnh, "1", expires_in=60, sender=alice), "counterparty " + outsider.address + " is not allowlisted on EXUSD"),
        (lambda: client.propose(bob, usd, "10000.01", cnh, "1", expires_in=60, sender=alice), "holds 10,000.00 EXUSD"),
        (lambda: client.propose(bob, usd, "1", ZERO_ADDRESS, "1", expires_in=60, sender=alice), "zero address"),
        (lambda: client.accept(1, sender=bob), "no proposal #1"),
        (lambda: client.proposal("x"), "positive integer"),
    ]
    for call, message in refusals:
        assert message in one_line_error(call), message
    assert _nothing_sent(chain, alice, bob, carol) == state
    now = chain.pending_timestamp
    pid, receipt = client.propose(bob, usd, "100.00", cnh, "712.34", expires_in=600, sender=alice)
    p = client.proposal(pid)
    assert now + 600 <= p.expiry <= now + 610 and receipt.events[0].event_name == "Proposed"
    assert (p.proposer, p.counterparty, p.give_amount, p.want_amount, p.status) == (alice.address, bob.address, 10_000, 71_234, "open")
    state = _nothing_sent(chain, alice, bob, carol)
    assert "cannot accept it" in one_line_error(client.accept, pid, sender=carol)
    assert "cannot cancel it" in one_line_error(client.cancel, pid, sender=bob)
    assert "not expired yet" in one_line_error(client.expire, pid, sender=carol)
    cnh_token.approve(pvp, 71_233, sender=bob)
    state = _nothing_sent(chain, alice, bob, carol)
    assert "has approved 712.33 EXCNH" in one_line_error(client.accept, pid, sender=bob)
    assert _nothing_sent(chain, alice, bob, carol) == state
    cnh_token.approve(pvp, MAX_UINT256, sender=bob)
    client.accept(pid, sender=bob)
    assert client.proposal(pid).status == "accepted" and cnh_token.balanceOf(alice) == INITIAL + 71_234
    assert "already accepted" in one_line_error(client.accept, pid, sender=bob)
    # cancel and expire through the library
    cnh_token.approve(pvp, 0, sender=alice)
    pid2, _ = client.propose(bob, cnh, "1.00", usd, "0.14", expires_in=60, sender=alice, approve=True)
    assert cnh_token.allowance(alice, pvp) == 0 and cnh_token.balanceOf(pvp) == 100
    client.cancel(pid2, sender=alice)
    assert client.proposal(pid2).status == "cancelled"
    pid3, _ = client.propose(bob, cnh, "2.00", usd, "0.28", expiry=chain.pending_timestamp + 60, sender=alice, approve=True)
    set_time(chain, client.proposal(pid3).expiry + 1)
    assert "expired at" in one_line_error(client.accept, pid3, sender=bob)
    cnh_token.pause(sender=cnh_bank["pauser"])
    assert "EXCNH is paused: cannot expire" in one_line_error(client.expire, pid3, sender=carol)
    cnh_token.unpause(sender=cnh_bank["pauser"])
    client.expire(pid3, sender=carol)
    assert client.proposal(pid3).status == "expired"
    assert cnh_token.balanceOf(alice) == INITIAL + 71_234 and cnh_token.balanceOf(pvp) == 0


def test_parse_and_format_rate():
    assert pvp_lib.parse_rate("7.1234") == 7_123_400_000_000_000_000
    assert pvp_lib.parse_rate(Decimal("0.000000000000000001")) == 1
    assert pvp_lib.format_rate(7_123_400_000_000_000_000) == "7.1234" and pvp_lib.format_rate(10**18) == "1"
    assert "float" in one_line_error(pvp_lib.parse_rate, 1.5)


# ------------------------------------------------------------------ the CLI (in-process)


def test_cli_quote_verify_settle_propose(pvp, token, cnh_token, alice, bob, carol, chain, tmp_path):
    run = deptoken_cli(chain, "pvp")

    out = tmp_path / "quote.json"
    quoted = run("quote", "--pvp", pvp.address, "--to", alice.address, "--maker-token", cnh_token.address,
                 "--taker-token", token.address, "--taker-amount", "1000.00", "--rate", RATE, "--valid-for", "600",
                 "--out", str(out), "--as", "8")
    assert (quoted["maker"], quoted["maker_amount"], quoted["taker_amount"], quoted["rate_text"]) == (bob.address, 712_340, 100_000, RATE)
    assert SignedQuote.load(out).quote.maker_amount == 712_340
    assert run("verify", str(out), "--taker", alice.address)["digest"] == quoted["digest"]
    error = run("settle", str(out), "--as", "9", code=1)
    assert error == f"error: the quote is for taker {alice.address}; {carol.address} cannot settle it"
    settled = run("settle", str(out), "--as", "7")
    assert settled["tx"].startswith("0x") and cnh_token.balanceOf(alice) == INITIAL + 712_340
    assert "already settled or cancelled" in run("settle", str(out), "--as", "7", code=1)
    proposed = run("propose", "--pvp", pvp.address, "--to", bob.address, "--give-token", token.address,
                   "--give-amount", "10.00", "--want-token", cnh_token.address, "--want-amount", "71.23",
                   "--expires-in", "3600", "--as", "7")
    assert (proposed["status"], proposed["give_amount"], proposed["want_amount"]) == ("open", 1_000, 7_123)
    accepted = run("accept", str(proposed["id"]), "--pvp", pvp.address, "--as", "8")
    assert accepted["status"] == "accepted" and token.balanceOf(bob) == INITIAL + 100_000 + 1_000
    assert run("show", str(proposed["id"]), "--pvp", pvp.address)["status"] == "accepted"
    assert run("show", "99", "--pvp", pvp.address, code=1) == "error: no proposal #99 (there are 1)"


def test_library_legal_exit_replacement_rescue_and_positions(client, pvp, token, cnh_token, usd, cnh, legal, cnh_bank,
                                                             minter, alice, bob, carol, fresh, outsider, chain):
    pid, _ = client.propose(bob, usd, "500.00", cnh, "3561.70", expires_in=3600, sender=alice)
    pid2, _ = client.propose(alice, cnh, "10.00", usd, "1.40", expires_in=3600, sender=bob)
    positions = client.open_positions(alice)
    assert [(x.kind, x.contract, x.position_id, x.token, x.amount, x.party, x.role, x.state) for x in positions] == [
        ("pvp-proposal", pvp.address, str(pid), token.address, 50_000, alice.address, "proposer", "open"),
        ("pvp-proposal", pvp.address, str(pid2), cnh_token.address, 1_000, alice.address, "counterparty", "open"),
    ]
    assert client.outstanding(usd) == 50_000 and client.outstanding(cnh_token.address) == 1_000
    state = _nothing_sent(chain, alice, bob, legal, cnh_bank["legal"])
    refusals = [
        (lambda: client.seize(pid, minter, "COURT-1", sender=cnh_bank["legal"]), cnh_bank["legal"].address + " lacks the legal role needed to seize proposal #1 on EXUSD"),
        (lambda: client.seize(pid, minter, "", sender=legal), "legal order reference must not be empty"),
        (lambda: client.seize(pid, outsider, "COURT-1", sender=legal), "recipient " + outsider.address + " is not allowlisted on EXUSD"),
        (lambda: client.seize(pid, pvp.address, "COURT-1", sender=legal), "the settlement contract itself"),
        (lambda: client.seize(99, minter, "COURT-1", sender=legal), "no proposal #99"),
        (lambda: client.replace_party(pid, carol, fresh, sender=legal), carol.address + " is not a party to proposal #1"),
        (lambda: client.replace_party(pid, alice, bob, sender=legal), "already the other party"),
        (lambda: client.replace_party(pid, alice, outsider, sender=legal), "replacement " + outsider.address + " is not allowlisted on EXUSD"),
        (lambda: client.replace_party(pid, alice, fresh, sender=bob), bob.address + " lacks the legal role"),
        (lambda: client.rescue_excess(usd, alice, "0.01", sender=legal), "only 0.00 EXUSD exceeds what the open proposals hold"),
        (lambda: client.rescue_excess(usd, alice, "0.01", sender=alice), alice.address + " lacks the legal role"),
    ]
    for call, message in refusals:
        assert message in one_line_error(call), message
    assert _nothing_sent(chain, alice, bob, legal, cnh_bank["legal"]) == state
    token.recoverAccount(alice, fresh, sender=legal)
    client.replace_party(pid, alice, fresh, sender=legal)
    assert [x.position_id for x in client.open_positions(alice)] == [str(pid2)]
    assert [(x.position_id, x.role) for x in client.open_positions(fresh)] == [(str(pid), "proposer")]
    receipt = client.seize(pid, minter, "COURT-1", sender=legal)
    assert events(receipt, pvp) == [ev("ProposalSeized", id=pid, to=minter, amount=50_000, legalOrderRef=keccak(text="COURT-1"), by=legal)]
    assert client.proposal(pid).status == "seized" and client.open_positions(fresh) == []
    assert f"proposal #{pid} is already seized" in one_line_error(client.seize, pid, minter, "COURT-1", sender=legal)
    token.transfer(pvp, 100, sender=bob)
    client.rescue_excess(usd, bob, "1.00", sender=legal)
    assert token.balanceOf(pvp) == client.outstanding(usd) == 0


def test_cli_terms_hash_replace_and_seize(pvp, token, cnh_token, legal, alice, bob, minter, fresh, chain):
    run = deptoken_cli(chain, "pvp")
    common = ("--pvp", pvp.address)

    def propose():
        return str(run("propose", *common, "--to", bob.address, "--give-token", token.address, "--give-amount", "10.00",
                       "--want-token", cnh_token.address, "--want-amount", "71.23", "--expires-in", "3600", "--as", "7")["id"])

    pid = propose()
    shown = run("show", pid, *common)
    assert shown["terms_hash"] == "0x" + bytes(pvp.proposalHash(int(pid))).hex()
    assert "terms hash" in run("accept", pid, *common, "--terms-hash", "0x" + "11" * 32, "--as", "8", code=1)
    assert run("accept", pid, *common, "--terms-hash", shown["terms_hash"], "--as", "8")["status"] == "accepted"
    pid = propose()
    token.recoverAccount(alice, fresh, sender=legal)
    assert "lacks the legal role" in run("replace-party", pid, *common, "--lost", alice.address, "--replacement",
                                         fresh.address, "--as", "8", code=1)
    replaced = run("replace-party", pid, *common, "--lost", alice.address, "--replacement", fresh.address, "--as", "4")
    assert replaced["proposer"] == fresh.address
    assert [p["id"] for p in run("positions", fresh.address, *common)] == [pid]
    seized = run("seize", pid, *common, "--to", minter.address, "--legal-order", "COURT-ORDER-9", "--as", "4")
    assert seized["status"] == "seized" and token.balanceOf(minter) == 1_000
    assert run("positions", fresh.address, *common) == []
