"""FX across banks (PvPSettlement.settleThroughNetwork, deptoken.settlement.pvp's routed quotes) on Anvil:
a payer holding USD at bank A pays a payee who wants CNH at bank C against an FX desk's signed quote; the
desk pays CNH from its account at C and is paid USD at its account at a USD bank, through the interbank
network when that is another bank than the payer's (bank B), by plain transfer when it is the same (A).
No address here is a client of two banks (besides the fixture clients alice, bob, carol whom the shared
CNH fixture also lists at C: the CNH payee and the desk's CNH account are accounts of C alone).

One transaction, both legs or nothing: every refusal (replay, expiry, signer, the payee at C, the payer
bank's debit limit, a paused token, a suspended bank, a token outside the network, another network than
the signed one) is a real reverted transaction after which nothing moved, and the library refuses each
first with one line, having sent nothing.
"""

from __future__ import annotations

import pytest
from ape import project
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hexbytes import HexBytes

from constants import INITIAL, MAX_UINT256, YEAR, ZERO_ADDRESS
from deptoken.eip712 import sign as eip712_sign
from deptoken.settlement import pvp as pvp_lib
from deptoken.settlement.interbank import InterbankClient, payment_reference
from deptoken.settlement.pvp import PvPClient, SignedRoutedQuote, build_routed_quote, sign_routed_quote
from deptoken.token import TokenClient
from helpers import decode_error_data, deptoken_cli, ev, events, norm, one_line_error, set_time

RATE = "7.1234"  # CNH per USD
AMOUNT = 100_000  # 1,000.00 USD, minor units
CNH_AMOUNT = 712_340  # 7,123.40 CNH
NET = 0
HAIRCUT = 1_000  # 10 %
COLLATERAL = 1_000_000  # 10,000.00 per bank: bank A may pay out 9,000.00 net
NETWORK_ALLOWANCE = 10**12
DESK_CNH = 1_000_000_00  # 1,000,000.00 CNH at the desk's account at C
# Measured on Anvil 1.7.1, unlimited allowances (test_gas_of_the_plain_settle_and_the_routed_ones): plain settle
# about 119,650; routed at the same bank about 138,800; routed across banks about 320,400 (the quote's random nonce
# moves the calldata cost by a few dozen gas); the network payment alone 220,817.
ROUTED_GAS_LIMIT = 330_000
SAME_BANK_GAS_LIMIT = 145_000


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def fx(accounts):
    """The parties of bank C's FX business: the desk's CNH account at C (29), a manufacturer at C (30)."""
    return {"desk_cnh": accounts[29], "manufacturer": accounts[30]}


@pytest.fixture(scope="module")
def network(token, bank_b, interbank_people, chain, minter_admin, compliance):
    """A USD network (net mode) of banks A (``token``) and B (``bank_b``), each with 10,000.00 collateral."""
    people = interbank_people
    central, admin = people["central"], people["network_admin"]
    asset = central.deploy(project.SettlementAsset, "Tokenised USD reserves", "rUSD", 2, central)
    n = admin.deploy(project.InterbankNetwork, asset, "USD", NET, HAIRCUT, admin, people["settler"])
    asset.setHolder(n, True, sender=central)
    for t, operator in ((token, people["operator_a"]), (bank_b, people["operator_b"])):
        asset.setHolder(operator, True, sender=central)
        asset.mint(operator, COLLATERAL, sender=central)
        n.join(t, operator, sender=admin)
        t.configureMinter(n, NETWORK_ALLOWANCE, sender=minter_admin)
        t.allowlist(n, chain.pending_timestamp + YEAR, sender=compliance)
        asset.approve(n, COLLATERAL, sender=operator)
        n.postCollateral(t, COLLATERAL, sender=operator)
    return n


@pytest.fixture(scope="module")
def pvp(token, bank_b, cnh_token, cnh_bank, compliance, admin, alice, fx, chain, network, outsider):  # outsider: before any test
    """The settlement contract allowlisted at A, B and C; the desk funded at C and having approved it
    there without limit; alice (the payer at A) approved it without limit on A's token."""
    contract = pvp_lib.deploy_pvp(admin)
    expiry = chain.pending_timestamp + YEAR
    for t in (token, bank_b):
        t.allowlist(contract, expiry, sender=compliance)
    c = cnh_bank["compliance"]
    cnh_token.allowlist(contract, expiry, sender=c)
    cnh_token.allowlistBatch([fx["desk_cnh"], fx["manufacturer"]], [expiry] * 2, sender=c)
    cnh_token.mint(fx["desk_cnh"], DESK_CNH, keccak(text="desk funding"), sender=cnh_bank["minter"])
    cnh_token.approve(contract, MAX_UINT256, sender=fx["desk_cnh"])
    token.approve(contract, MAX_UINT256, sender=alice)
    return contract


@pytest.fixture(scope="module")
def usd_a(token):
    return TokenClient.from_contract(token)


@pytest.fixture(scope="module")
def usd_b(bank_b):
    return TokenClient.from_contract(bank_b)


@pytest.fixture(scope="module")
def cnh(cnh_token):
    return TokenClient.from_contract(cnh_token)


@pytest.fixture(scope="module")
def ib(network, usd_a, usd_b):
    return InterbankClient(network, tokens=[usd_a, usd_b])


@pytest.fixture(scope="module")
def client(pvp, usd_a, usd_b, cnh):
    return PvPClient(pvp, tokens=[usd_a, usd_b, cnh])


def _routed(client, ib, fx, receiver, taker_token, taker, *, amount="1000.00", seconds=3600, signer=None):
    quote = build_routed_quote(client, fx["desk_cnh"], receiver, taker, client.token(fx["cnh"]), taker_token, amount, RATE,
                               network=ib, expiry_seconds=seconds)
    return sign_routed_quote(signer or fx["desk_cnh"], client, quote)


@pytest.fixture
def fxp(fx, cnh):
    return {**fx, "cnh": cnh}


@pytest.fixture
def cross(client, ib, fxp, usd_b, alice, interbank_people):
    """The desk's quote to alice (at A), the desk paid at its USD account at B (ben): 7,123.40 CNH for 1,000.00 USD."""
    return _routed(client, ib, fxp, interbank_people["ben"], usd_b, alice)


def _args(signed, network, from_token, payee):
    return (signed.quote.as_tuple(), signed.signature, norm(network), norm(from_token), norm(payee))


def _snapshot(token, bank_b, cnh_token, network, pvp, people):
    """Every balance, supply and bank position a settlement could move."""
    holders = [norm(p) for p in people] + [pvp.address, network.address]
    return ([int(t.balanceOf(h)) for t in (token, bank_b, cnh_token) for h in holders],
            [int(t.totalSupply()) for t in (token, bank_b, cnh_token)],
            [int(network.bank(t).position) for t in (token, bank_b)])


# ------------------------------------------------------------------ settling


def test_interbank_leg_moves_cnh_to_the_payee_and_usd_through_the_network(
        pvp, client, network, token, bank_b, cnh_token, cross, alice, fx, interbank_people):
    desk, maker_desk, payee = interbank_people["ben"], fx["desk_cnh"], fx["manufacturer"]
    q = cross.quote
    assert (q.maker_amount, q.taker_amount, q.network) == (CNH_AMOUNT, AMOUNT, network.address)
    assert pvp.hashRoutedQuote(q.as_tuple()) == cross.digest
    pid = keccak(abi_encode(["bytes32", "string"], [cross.digest, "fx"]))
    payref = payment_reference(pvp.address, pid)  # the PvP contract pays: its id, scoped by it
    assert cross.payment_id == pid == pvp.routedPaymentId(cross.digest)
    supplies = token.totalSupply(), bank_b.totalSupply(), cnh_token.totalSupply()

    receipt = pvp.settleThroughNetwork(*_args(cross, network, token, payee), sender=alice)

    assert events(receipt) == [
        ev("SettledThroughNetwork", quoteHash=cross.digest, maker=maker_desk, paymentId=pid, fromToken=token, payee=payee,
           quote=norm(q.as_tuple())),
        ev("Transfer", **{"from": maker_desk, "to": payee, "value": CNH_AMOUNT}),  # CNH at C: desk -> manufacturer
        ev("Transfer", **{"from": alice, "to": pvp, "value": AMOUNT}),  # the payer's USD at A to the settlement
        ev("Approval", owner=pvp, spender=network, value=AMOUNT),  # exactly that amount for the network
        ev("Transfer", **{"from": pvp, "to": network, "value": AMOUNT}),  # spends that allowance to zero
        ev("Transfer", **{"from": network, "to": ZERO_ADDRESS, "value": AMOUNT}),
        ev("Burned", account=network, amount=AMOUNT, burnRef=payref),  # bank A owes alice less
        ev("Transfer", **{"from": ZERO_ADDRESS, "to": desk, "value": AMOUNT}),
        ev("Minted", minter=network, to=desk, amount=AMOUNT, depositRef=payref),  # bank B owes the desk more
        ev("InterbankPayment", paymentId=pid, fromToken=token, toToken=bank_b, payer=pvp, payee=desk, amount=AMOUNT, cycle=1),
    ]
    assert cnh_token.balanceOf(payee) == CNH_AMOUNT and cnh_token.balanceOf(maker_desk) == DESK_CNH - CNH_AMOUNT
    assert bank_b.balanceOf(desk) == AMOUNT and token.balanceOf(alice) == INITIAL - AMOUNT
    assert (token.totalSupply(), bank_b.totalSupply(), cnh_token.totalSupply()) == (
        supplies[0] - AMOUNT, supplies[1] + AMOUNT, supplies[2])
    assert [int(network.bank(t).position) for t in (token, bank_b)] == [-AMOUNT, AMOUNT]  # A owes B
    assert token.balanceOf(pvp) == cnh_token.balanceOf(pvp) == bank_b.balanceOf(pvp) == 0
    assert token.allowance(pvp, network) == 0
    assert pvp.quoteUsed(maker_desk, q.nonce) and network.isPaymentIdUsed(pvp, pid)
    assert token.isBurnRefUsed(payref) and bank_b.isDepositRefUsed(payref)
    print(f"\nPvPSettlement.settleThroughNetwork gas (across banks, unlimited allowances): {receipt.gas_used:,}")
    assert receipt.gas_used <= ROUTED_GAS_LIMIT


def test_same_bank_leg_is_a_plain_transfer_to_the_desks_usd_account(
        pvp, client, ib, network, token, bank_b, cnh_token, fxp, alice, carol):
    """The desk's USD account at the payer's own bank (carol at A): no network payment, no position moves."""
    signed = _routed(client, ib, fxp, carol, client.token(token), alice)
    payee, maker_desk = fxp["manufacturer"], fxp["desk_cnh"]
    supplies = token.totalSupply(), bank_b.totalSupply()
    receipt = pvp.settleThroughNetwork(*_args(signed, network, token, payee), sender=alice)
    assert events(receipt) == [
        ev("SettledThroughNetwork", quoteHash=signed.digest, maker=maker_desk, paymentId=signed.payment_id, fromToken=token,
           payee=payee, quote=norm(signed.quote.as_tuple())),
        ev("Transfer", **{"from": maker_desk, "to": payee, "value": CNH_AMOUNT}),
        ev("Transfer", **{"from": alice, "to": carol, "value": AMOUNT}),
    ]
    assert token.balanceOf(carol) == AMOUNT and cnh_token.balanceOf(payee) == CNH_AMOUNT
    assert (token.totalSupply(), bank_b.totalSupply()) == supplies
    assert [int(network.bank(t).position) for t in (token, bank_b)] == [0, 0]
    assert not network.isPaymentIdUsed(pvp, signed.payment_id)
    print(f"\nPvPSettlement.settleThroughNetwork gas (same bank, unlimited allowances): {receipt.gas_used:,}")
    assert receipt.gas_used <= SAME_BANK_GAS_LIMIT


def test_library_builds_signs_files_and_settles_a_routed_quote(client, ib, network, token, bank_b, cnh_token, fxp, usd_a,
                                                               usd_b, carol, interbank_people, tmp_path):
    """The demo's story: a supplier at B (ana) pays the manufacturer at C against the desk's quote, the desk paid
    at its USD account at A (carol): B -> A through the network; the library approves ana's leg first."""
    ana, payee, maker_desk = interbank_people["ana"], fxp["manufacturer"], fxp["desk_cnh"]
    quote = build_routed_quote(client, maker_desk, carol, ana, client.token(cnh_token), usd_a, "1000.00", RATE,
                               network=ib, expiry_seconds=300)
    signed = sign_routed_quote(maker_desk, client, quote)
    loaded = SignedRoutedQuote.load(signed.save(tmp_path / "routed.json"))
    assert loaded == signed and loaded.payment_id == signed.payment_id
    assert "has approved 0.00 EXUSB for the settlement contract" in one_line_error(
        client.verify_routed, loaded, from_token=usd_b, payee=payee, sender=ana, network=ib)
    assert client.verify_routed(loaded, from_token=usd_b, payee=payee, sender=ana, network=ib, approve=True)  # must approve
    assert bank_b.allowance(ana, client.address) == 0
    receipt = client.settle_through_network(loaded, from_token=usd_b, payee=payee, sender=ana, network=ib, approve=True)
    [paid] = ib.payments(payment_id=signed.payment_id)
    assert (paid.from_token, paid.to_token, paid.payer, paid.payee, paid.amount, paid.tx) == (
        bank_b.address, token.address, client.address, carol.address, AMOUNT, receipt.txn_hash)
    assert cnh_token.balanceOf(payee) == CNH_AMOUNT and token.balanceOf(carol) == AMOUNT
    assert bank_b.balanceOf(ana) == INITIAL - AMOUNT
    assert [int(network.bank(t).position) for t in (token, bank_b)] == [AMOUNT, -AMOUNT]  # B owes A
    # settled once: the same file again is refused before anything is sent
    assert "already settled or cancelled" in one_line_error(
        client.settle_through_network, loaded, from_token=usd_b, payee=payee, sender=ana, network=ib)


# ------------------------------------------------------------------ refusals: real transactions, nothing moves


def _raw(method, params):
    from ape import chain

    response = chain.provider.web3.provider.make_request(method, params)
    assert "error" not in response, response
    return response["result"]


def refused(pvp, args, sender, error, /, decode_with=None, **inputs):
    """``settleThroughNetwork(*args)`` from ``sender`` reverts with ``error(**inputs)`` (simulated, decoded
    with ``decode_with``'s ABI for a network's or a token's error), then the same call as a real transaction
    (raw JSON-RPC from the unlocked Anvil account) is mined reverted."""
    from helpers import eth_call_revert_data

    data = eth_call_revert_data(pvp, "settleThroughNetwork", args, sender)
    decoded = decode_error_data(data, (decode_with or pvp).contract_type)
    assert decoded is not None, f"undecodable revert {data!r}"
    assert (decoded[0], {k: norm(v) for k, v in decoded[1].items()}) == (error, {k: norm(v) for k, v in inputs.items()})
    calldata = HexBytes(pvp.settleThroughNetwork.encode_input(*args)).to_0x_hex()
    tx_hash = _raw("eth_sendTransaction", [{"from": norm(sender), "to": pvp.address, "data": calldata, "gas": hex(1_000_000)}])
    while (receipt := _raw("eth_getTransactionReceipt", [tx_hash])) is None:
        pass
    assert receipt["status"] == "0x0"


@pytest.fixture
def everyone(alice, bob, carol, fx, interbank_people, outsider):
    return [alice, bob, carol, fx["desk_cnh"], fx["manufacturer"], interbank_people["ana"], interbank_people["ben"], outsider]


def test_refusals_of_the_contract_leave_nothing_moved(
        pvp, client, ib, network, token, bank_b, cnh_token, cnh_bank, fxp, cross, alice, bob, carol, outsider, everyone,
        interbank_people, compliance, pauser, chain):
    from deptoken import eip712

    payee, desk_cnh, q = fxp["manufacturer"], fxp["desk_cnh"], cross.quote
    before = _snapshot(token, bank_b, cnh_token, network, pvp, everyone)
    good = _args(cross, network, token, payee)

    refused(pvp, good, bob, "NotTaker", caller=bob, taker=alice)
    refused(pvp, _args(cross, pvp, token, payee), alice, "NetworkMismatch", signed=network, given=pvp)  # not the signed network
    refused(pvp, _args(cross, network, cnh_token, payee), alice, "NotANetworkMember", network=network, token=cnh_token)
    refused(pvp, _args(cross, network, token, pvp), alice, "InvalidBeneficiary", account=pvp)  # the CNH would be stuck here
    forged = (q.as_tuple(), eip712.sign(alice, cross.typed_data), *good[2:])  # the taker signs the desk's quote itself
    refused(pvp, forged, alice, "InvalidQuoteSignature", maker=desk_cnh)
    altered = ((*q.as_tuple()[:4], q.maker_amount + 1, *q.as_tuple()[5:]), *good[1:])
    refused(pvp, altered, alice, "InvalidQuoteSignature", maker=desk_cnh)
    # the payee at C: not listed there, or frozen
    refused(pvp, _args(cross, network, token, outsider), alice, "ERC7943CannotReceive", decode_with=project.DepositToken,
            account=outsider)
    cnh_token.freezeAccount(payee, sender=cnh_bank["compliance"])
    refused(pvp, good, alice, "ERC7943CannotReceive", decode_with=project.DepositToken, account=payee)
    cnh_token.unfreezeAccount(payee, sender=cnh_bank["compliance"])
    # the payer's bank is suspended, or the desk's
    for suspended in (token, bank_b):
        network.setBankActive(suspended, False, sender=interbank_people["network_admin"])
        refused(pvp, good, alice, "BankSuspended", decode_with=project.InterbankNetwork, token=suspended)
        network.setBankActive(suspended, True, sender=interbank_people["network_admin"])
    # a paused token: the payer's bank's (nothing can leave) or C's
    for paused, who in ((token, pauser), (cnh_token, cnh_bank["pauser"])):
        paused.pause(sender=who)
        refused(pvp, good, alice, "EnforcedPause", decode_with=project.DepositToken)
        paused.unpause(sender=who)
    # over the payer bank's debit limit: A may pay out 9,000.00 net (collateral less the 10 % haircut)
    big = _routed(client, ib, fxp, interbank_people["ben"], client.token(bank_b), alice, amount="9500.00")
    refused(pvp, _args(big, network, token, payee), alice, "DebitLimitExceeded", decode_with=project.InterbankNetwork,
            token=token, headroom=900_000, amount=950_000)
    # expired
    set_time(chain, q.expiry + 1)
    refused(pvp, good, alice, "QuoteExpired", expiry=q.expiry)

    assert _snapshot(token, bank_b, cnh_token, network, pvp, everyone) == before
    assert not pvp.quoteUsed(desk_cnh, q.nonce) and not network.isPaymentIdUsed(pvp, cross.payment_id)


def test_replay_and_cancel_are_refused_once_settled(pvp, client, ib, network, token, bank_b, cnh_token, fxp, cross, alice,
                                                     everyone):
    payee, desk_cnh = fxp["manufacturer"], fxp["desk_cnh"]
    pvp.settleThroughNetwork(*_args(cross, network, token, payee), sender=alice)
    after = _snapshot(token, bank_b, cnh_token, network, pvp, everyone)
    refused(pvp, _args(cross, network, token, payee), alice, "QuoteAlreadyUsed", maker=desk_cnh, nonce=cross.quote.nonce)
    # the same (maker, nonce) as a plain quote is spent too: once per nonce, whichever kind
    plain = pvp_lib.sign_quote(desk_cnh, client, pvp_lib.Quote(desk_cnh, alice.address, cnh_token.address, 1, token.address, 1,
                                                                 cross.quote.rate, cross.quote.expiry, cross.quote.nonce))
    assert "already settled or cancelled" in one_line_error(client.settle, plain, sender=alice)
    assert _snapshot(token, bank_b, cnh_token, network, pvp, everyone) == after


def test_a_cancelled_routed_quote_cannot_be_settled(pvp, client, network, token, fxp, cross, alice):
    client.cancel_quote(cross.quote.nonce, sender=fxp["desk_cnh"])
    refused(pvp, _args(cross, network, token, fxp["manufacturer"]), alice, "QuoteAlreadyUsed", maker=fxp["desk_cnh"],
            nonce=cross.quote.nonce)


# ------------------------------------------------------------------ refusals of the library: one line, nothing sent


def test_library_refuses_with_one_line_before_sending(
        pvp, client, ib, network, token, bank_b, cnh_token, cnh_bank, fxp, cross, usd_a, usd_b, alice, bob, outsider, everyone,
        interbank_people, pauser, chain):
    payee = fxp["manufacturer"]
    before = _snapshot(token, bank_b, cnh_token, network, pvp, everyone)
    nonce_before = alice.nonce

    def refusal(signed=cross, **kwargs):
        args = {"from_token": usd_a, "payee": payee, "sender": alice, "network": ib, **kwargs}
        return one_line_error(client.settle_through_network, signed, **args)

    assert refusal(payee=outsider).startswith(f"payee {outsider.address} ") and refusal(payee=outsider).endswith(" at EXCNH")
    cnh_token.freezeAccount(payee, sender=cnh_bank["compliance"])
    assert refusal().startswith(f"payee {payee.address} ") and "frozen" in refusal()
    cnh_token.unfreezeAccount(payee, sender=cnh_bank["compliance"])
    assert refusal(sender=interbank_people["ana"]).startswith("the quote is for taker")
    assert refusal(payee=pvp).endswith("cannot be the zero address or the settlement contract")
    assert "is not a member of the interbank network" in refusal(from_token=client.token(cnh_token))
    admin = interbank_people["network_admin"]
    elsewhere = admin.deploy(project.InterbankNetwork, network.settlementAsset(), "USD", NET, HAIRCUT, admin, admin)
    assert refusal(network=elsewhere.address) == (
        f"the quote was signed for payment through network {network.address}, not {elsewhere.address}")
    network.setBankActive(bank_b, False, sender=interbank_people["network_admin"])
    assert "EXUSB is suspended" in refusal()
    network.setBankActive(bank_b, True, sender=interbank_people["network_admin"])
    token.pause(sender=pauser)
    assert refusal() == "EXUSD is paused: cannot settle"
    token.unpause(sender=pauser)
    # the taker's balance and allowance
    token.approve(pvp, 99_999, sender=alice)
    assert "has approved 999.99 EXUSD for the settlement contract, less than 1,000.00 EXUSD" in refusal()
    token.approve(pvp, MAX_UINT256, sender=alice)
    big = _routed(client, ib, fxp, interbank_people["ben"], usd_b, alice, amount="9500.00")
    token.transfer(bob, 100_000, sender=alice)  # alice keeps 9,000.00
    assert "holds 9,000.00 EXUSD, less than 9,500.00 EXUSD" in refusal(big)
    token.transfer(alice, 100_000, sender=bob)
    # the payer's bank's debit limit
    assert refusal(big) == "bank EXUSD may pay out 9,000.00 EXUSD more now (its collateral less the haircut and its debit), less than 9,500.00 EXUSD"
    set_time(chain, cross.quote.expiry + 1)
    assert refusal().startswith("the quote expired at ")

    assert _snapshot(token, bank_b, cnh_token, network, pvp, everyone) == before
    assert alice.nonce == nonce_before + 3  # only the test's own two approvals and one transfer


# ------------------------------------------------------------------ an ERC-1271 desk, the CLI, the ABI, gas


def test_the_exported_pvp_abi_decodes_the_networks_refusals_and_has_the_routed_types():
    import json

    from constants import ROOT
    from deptoken.abi import eip712_constants

    abi = json.loads((ROOT / "abi" / "PvPSettlement.json").read_text())
    errors = {e["name"] for e in abi if e["type"] == "error"}
    assert {"DebitLimitExceeded", "BankSuspended", "PaymentIdUsed", "NotAMember", "NetworkMismatch", "NotANetworkMember",
            "ERC7943CannotReceive"} <= errors
    fields = [(f["name"], f["type"]) for f in eip712_constants()["routedQuoteTypes"]["RoutedQuote"]]
    assert fields == list(pvp_lib.ROUTED_QUOTE_FIELDS) and fields[-1] == ("network", "address")


def test_a_desk_signing_with_a_contract_wallet_is_paid_across_banks(
        pvp, client, ib, network, token, bank_b, cnh_token, cnh_bank, fxp, usd_b, alice, carol, interbank_people, chain):
    """The desk's CNH account is an ERC-1271 wallet (carol's key signs for it)."""
    wallet = carol.deploy(project.ERC1271WalletMock, carol.address)
    cnh_token.allowlist(wallet, chain.pending_timestamp + YEAR, sender=cnh_bank["compliance"])
    cnh_token.mint(wallet, CNH_AMOUNT, keccak(text="wallet deposit"), sender=cnh_bank["minter"])
    wallet.execute(cnh_token, cnh_token.approve.encode_input(pvp.address, CNH_AMOUNT), sender=carol)
    quote = build_routed_quote(client, wallet, interbank_people["ben"], alice, client.token(cnh_token), usd_b, "1000.00", RATE,
                               network=ib, expiry_seconds=600)
    signed = sign_routed_quote(carol, client, quote)
    assert "cannot sign for maker" in one_line_error(sign_routed_quote, alice, client, quote)
    client.settle_through_network(signed, from_token=client.token(token), payee=fxp["manufacturer"], sender=alice, network=ib)
    assert cnh_token.balanceOf(wallet) == 0 and cnh_token.balanceOf(fxp["manufacturer"]) == CNH_AMOUNT
    assert bank_b.balanceOf(interbank_people["ben"]) == AMOUNT and pvp.quoteUsed(wallet, quote.nonce)


def test_cli_quotes_verifies_and_settles_across_banks(pvp, network, token, bank_b, cnh_token, fx, alice, interbank_people,
                                                      chain, tmp_path):
    run = deptoken_cli(chain, "pvp")
    out, ben, payee = tmp_path / "routed.json", interbank_people["ben"].address, fx["manufacturer"].address
    quoted = run("quote", "--pvp", pvp.address, "--via-network", network.address, "--receiver", ben, "--to", alice.address,
                 "--maker-token", cnh_token.address, "--taker-token", "EXUSB", "--taker-amount", "1000.00", "--rate", RATE,
                 "--out", str(out), "--as", "29")
    assert (quoted["receiver"], quoted["network"], quoted["taker_token"], quoted["maker_amount"]) == (
        ben, network.address, bank_b.address, CNH_AMOUNT)
    assert quoted["payment_id"] == "0x" + pvp.routedPaymentId(quoted["digest"]).hex()
    assert run("quote", "--pvp", pvp.address, "--via-network", network.address, "--to", alice.address, "--maker-token",
               cnh_token.address, "--taker-token", "EXUSB", "--taker-amount", "1", "--rate", RATE, "--out",
               str(tmp_path / "x.json"), "--as", "29", code=2, as_json=False).endswith("--via-network and --receiver go together")
    common = ("--from-token", "EXUSD", "--payee", payee)
    assert run("verify", str(out), "--taker", alice.address, *common)["digest"] == quoted["digest"]
    ana = interbank_people["ana"].address  # a client of B, not of C
    assert run("verify", str(out), "--taker", alice.address, "--from-token", "EXUSD", "--payee", ana,
               code=1).startswith(f"error: payee {ana} ")
    assert "is a routed quote: settle it with settle-across" in run("settle", str(out), "--as", "7", code=2, as_json=False)
    settled = run("settle-across", str(out), *common, "--as", "7")
    assert (settled["tx"] != "", settled["from_token"], settled["payee"]) == (True, token.address, payee)
    assert cnh_token.balanceOf(payee) == CNH_AMOUNT and bank_b.balanceOf(ben) == AMOUNT
    assert "already settled or cancelled" in run("settle-across", str(out), *common, "--as", "7", code=1)


GAS_CEILINGS = {"plain settle": 130_000, "routed, same bank": SAME_BANK_GAS_LIMIT, "routed, across banks": ROUTED_GAS_LIMIT,
               "network pay alone": 230_000}


@pytest.mark.parametrize("kind", list(GAS_CEILINGS))
def test_gas_of_the_plain_settle_and_the_routed_ones(kind, pvp, client, ib, network, token, bank_b, cnh_token, fxp, usd_a,
                                                     usd_b, alice, bob, carol, interbank_people):
    """The same trade (1,000.00 USD for 7,123.40 CNH), each from the module's state: a plain quote (bob, a client
    of A and C, as the maker), routed to the desk's USD account at the payer's bank, routed across banks (the
    first network payment of the cycle: both positions leave zero), and that network payment alone."""
    payee, ben = fxp["manufacturer"], interbank_people["ben"]
    if kind == "plain settle":
        cnh_token.approve(pvp, MAX_UINT256, sender=bob)
        signed = pvp_lib.sign_quote(bob, client, pvp_lib.build_quote(client, bob, alice, client.token(cnh_token), usd_a,
                                                                     "1000.00", RATE, expiry_seconds=600))
        receipt = pvp.settle(signed.quote.as_tuple(), signed.signature, sender=alice)
    elif kind == "network pay alone":
        token.approve(network, AMOUNT, sender=alice)
        receipt = network.pay(token, bank_b, ben, AMOUNT, keccak(text="gas"), sender=alice)
    else:
        receiver, taker_token = (carol, usd_a) if kind == "routed, same bank" else (ben, usd_b)
        signed = _routed(client, ib, fxp, receiver, taker_token, alice)
        receipt = pvp.settleThroughNetwork(*_args(signed, network, token, payee), sender=alice)
    assert receipt.status == 1 and (kind == "network pay alone" or cnh_token.balanceOf(alice if kind == "plain settle" else payee)
                                    == (INITIAL if kind == "plain settle" else 0) + CNH_AMOUNT)
    print(f"\n{kind}: {receipt.gas_used:,} gas (unlimited allowances)")
    assert receipt.gas_used <= GAS_CEILINGS[kind]


# ------------------------------------------------------------------ property: both legs or neither, across banks

PARTIES = ("maker", "payee", "taker", "receiver", "pvp")
ROUTED_DISRUPTIONS = (
    [(kind, who) for kind in ("remove", "freeze") for who in PARTIES]
    + [("pvp-remove-c", None), ("pause", "A"), ("pause", "B"), ("pause", "C"), ("suspend", "A"), ("suspend", "B")]
)
ROUTED_AMOUNTS = st.one_of(st.integers(1, 5_000), st.integers(1, 1_100_000))
ROUTED_ALLOWANCES = st.one_of(st.just(MAX_UINT256), st.integers(0, 1_100_000))


@pytest.mark.slow
def test_property_routed_settlement_moves_both_legs_or_nothing(
        pvp, client, network, token, bank_b, cnh_token, cnh_bank, compliance, pauser, fx, alice, carol, interbank_people,
        chain):
    """Random amounts, allowances, the desk's USD account at the payer's bank or another, restrictions of any party
    (not listed, frozen), pauses of any of the three tokens and suspensions of either USD bank: a routed settlement
    (a real transaction) moves the CNH to the payee and the USD to the desk exactly, with the banks' supplies and
    positions, or moves nothing; the settlement contract holds nothing and has no allowance left either way; and it
    settles exactly when a model of the rules says so."""
    desk, payee, taker = fx["desk_cnh"].address, fx["manufacturer"].address, alice.address
    admin = interbank_people["network_admin"].address
    tokens = {"A": token, "B": bank_b, "C": cnh_token}
    officers = {"A": (compliance.address, pauser.address), "B": (compliance.address, pauser.address),
                "C": (cnh_bank["compliance"].address, cnh_bank["pauser"].address)}
    domain = client.domain
    outcomes = []

    def send(sender, contract, fn, *args):
        data = HexBytes(getattr(contract, fn).encode_input(*args)).to_0x_hex()
        tx_hash = _raw("eth_sendTransaction", [{"from": sender, "to": contract.address, "data": data, "gas": hex(1_000_000)}])
        while (receipt := _raw("eth_getTransactionReceipt", [tx_hash])) is None:
            pass
        return receipt["status"] == "0x1"

    @settings(max_examples=20, deadline=None, database=None, derandomize=True, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(taker_amount=ROUTED_AMOUNTS, maker_amount=ROUTED_AMOUNTS, taker_allowance=ROUTED_ALLOWANCES,
           maker_allowance=ROUTED_ALLOWANCES, same_bank=st.booleans(),
           disruptions=st.lists(st.sampled_from(ROUTED_DISRUPTIONS), max_size=2, unique=True))
    # over A's debit limit: refused across banks, a plain transfer at the desk's account at A; a suspension likewise
    @example(950_000, 1, MAX_UINT256, MAX_UINT256, False, [])
    @example(950_000, 1, MAX_UINT256, MAX_UINT256, True, [])
    @example(100, 1, MAX_UINT256, MAX_UINT256, True, [("suspend", "A"), ("suspend", "B")])
    @example(100, 1, MAX_UINT256, MAX_UINT256, False, [("suspend", "B")])
    def run(taker_amount, maker_amount, taker_allowance, maker_allowance, same_bank, disruptions):
        snapshot = chain.snapshot()
        try:
            receiver, desk_bank = (carol.address, "A") if same_bank else (interbank_people["ben"].address, "B")
            where = {"maker": ("C", desk), "payee": ("C", payee), "taker": ("A", taker), "receiver": (desk_bank, receiver),
                     "pvp": ("A", pvp.address)}
            assert send(desk, cnh_token, "approve", pvp.address, maker_allowance)
            assert send(taker, token, "approve", pvp.address, taker_allowance)
            blocked = False
            for kind, who in disruptions:
                if kind in ("remove", "freeze", "pvp-remove-c"):
                    bank, account = ("C", pvp.address) if kind == "pvp-remove-c" else where[who]
                    fn = "freezeAccount" if kind == "freeze" else "removeFromAllowlist"
                    assert send(officers[bank][0], tokens[bank], fn, account)
                    blocked = True
                elif kind == "pause":
                    assert send(officers[who][1], tokens[who], "pause")
                    blocked = blocked or who in ("A", "C", desk_bank)
                else:
                    assert send(admin, network, "setBankActive", tokens[who].address, False)
                    blocked = blocked or not same_bank
            expected = (not blocked and taker_amount <= min(taker_allowance, INITIAL)
                        and maker_amount <= min(maker_allowance, DESK_CNH)
                        and (same_bank or taker_amount <= COLLATERAL * 9 // 10))  # A's debit limit
            quote = pvp_lib.RoutedQuote(desk, receiver, taker, cnh_token.address, maker_amount,
                                        tokens[desk_bank].address, taker_amount, 10**18, chain.pending_timestamp + 3600,
                                        pvp_lib.random_nonce(), network.address)
            signed = SignedRoutedQuote(quote, domain, eip712_sign(fx["desk_cnh"], quote.typed_data(domain)))
            holders = [desk, payee, taker, receiver]  # _snapshot adds the settlement contract and the network
            every = [*holders, pvp.address, network.address]
            before = _snapshot(token, bank_b, cnh_token, network, pvp, holders)
            settled = send(taker, pvp, "settleThroughNetwork", *_args(signed, network, token, payee))
            after = _snapshot(token, bank_b, cnh_token, network, pvp, holders)
            assert settled == expected, (disruptions, same_bank, taker_amount, maker_amount, taker_allowance, maker_allowance)
            if settled:
                moved = {(t, h): 0 for t in "ABC" for h in every}
                moved[("C", desk)] -= maker_amount
                moved[("C", payee)] += maker_amount
                moved[("A", taker)] -= taker_amount
                moved[(desk_bank, receiver)] += taker_amount
                expected_balances = [b + moved[(t, h)] for (t, h), b in zip(((t, h) for t in "ABC" for h in every),
                                                                             before[0], strict=True)]
                flow = 0 if same_bank else taker_amount
                assert after == (expected_balances, [before[1][0] - flow, before[1][1] + flow, before[1][2]],
                                 [before[2][0] - flow, before[2][1] + flow])
                assert network.isPaymentIdUsed(pvp, signed.payment_id) == (not same_bank)
            else:
                assert after == before
            assert [tokens[t].balanceOf(pvp) for t in "ABC"] == [0, 0, 0] and token.allowance(pvp, network) == 0
            assert pvp.quoteUsed(desk, quote.nonce) == settled
            outcomes.append(settled)
        finally:
            chain.restore(snapshot)

    run()
    assert len(outcomes) == 24 and 4 <= sum(outcomes) <= 20, outcomes  # both outcomes explored
