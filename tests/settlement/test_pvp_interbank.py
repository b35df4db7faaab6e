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
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hexbytes import HexBytes

from constants import INITIAL, MAX_UINT256, YEAR, ZERO_ADDRESS
from deptoken.settlement import pvp as pvp_lib
from deptoken.settlement.interbank import InterbankClient
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
ROUTED_GAS_LIMIT = 330_000  # the cross-bank settlement: measured 319,912 on Anvil 1.7.1 (see test_gas_...)
SAME_BANK_GAS_LIMIT = 150_000


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
def pvp(token, bank_b, cnh_token, cnh_bank, compliance, admin, alice, fx, chain, network):
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
        ev("Burned", account=network, amount=AMOUNT, burnRef=pid),  # bank A owes alice less
        ev("Transfer", **{"from": ZERO_ADDRESS, "to": desk, "value": AMOUNT}),
        ev("Minted", minter=network, to=desk, amount=AMOUNT, depositRef=pid),  # bank B owes the desk more
        ev("InterbankPayment", paymentId=pid, fromToken=token, toToken=bank_b, payer=pvp, payee=desk, amount=AMOUNT, cycle=1),
    ]
    assert cnh_token.balanceOf(payee) == CNH_AMOUNT and cnh_token.balanceOf(maker_desk) == DESK_CNH - CNH_AMOUNT
    assert bank_b.balanceOf(desk) == AMOUNT and token.balanceOf(alice) == INITIAL - AMOUNT
    assert (token.totalSupply(), bank_b.totalSupply(), cnh_token.totalSupply()) == (
        supplies[0] - AMOUNT, supplies[1] + AMOUNT, supplies[2])
    assert [int(network.bank(t).position) for t in (token, bank_b)] == [-AMOUNT, AMOUNT]  # A owes B
    assert token.balanceOf(pvp) == cnh_token.balanceOf(pvp) == bank_b.balanceOf(pvp) == 0
    assert token.allowance(pvp, network) == 0
    assert pvp.quoteUsed(maker_desk, q.nonce) and network.isPaymentIdUsed(pid)
    assert token.isBurnRefUsed(pid) and bank_b.isDepositRefUsed(pid)
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
    assert not network.isPaymentIdUsed(signed.payment_id)
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
