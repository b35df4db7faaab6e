"""The trade escrow paying out across banks through the interbank network: the buyer banks at A (the
escrow's token), the seller at B (``bank_b``); on release, confirm or an arbiter's split the escrow
burns A-tokens and the network mints B-tokens to the seller in the same transaction, under the
payment ids ``keccak256(abi.encode(orderKey, "seller"))`` / ``(orderKey, "fee")``. Every refusal
leaves the order as it was, payable later; the same-bank path is unchanged.

alice buys (A), ana sells (B only), ben (B only) is the marketplace's fee account at B, test account
31 its fee account at A; test account 30 administers the escrow, 19 arbitrates.
"""

from __future__ import annotations

import pytest
from ape import project
from eth_abi import encode as abi_encode
from eth_utils import keccak

from deptoken.settlement.escrow import EscrowClient, deploy_escrow, payout_payment_id
from deptoken.settlement.interbank import payment_reference
from helpers import (
    DAY,
    INITIAL,
    YEAR,
    ZERO_ADDRESS,
    decode_error_data,
    deptoken_cli,
    eth_call_revert_data,
    ev,
    events,
    norm,
    one_line_error,
    ref,
    set_time,
)

FEE_BPS = 250
AMOUNT = 10_000  # 100.00
FEE = AMOUNT * FEE_BPS // 10_000  # 2.50
NET_AMOUNT = AMOUNT - FEE
WINDOW = 3 * DAY
HAIRCUT = 1_000
COLLATERAL = 1_000_000
NETWORK_ALLOWANCE = 10**12
SHIPPED, DISPUTED, RELEASED, RESOLVED, SEIZED = 2, 3, 4, 6, 7
GAS: dict[str, int] = {}  # measured here; see test_gas


@pytest.fixture(scope="module")
def marketplace(accounts):
    return accounts[30]


@pytest.fixture(scope="module")
def fees(accounts):
    return accounts[31]


@pytest.fixture(scope="module")
def arbiter(accounts):
    return accounts[19]


@pytest.fixture(scope="module")
def asset(interbank_people):
    central = interbank_people["central"]
    a = central.deploy(project.SettlementAsset, "Tokenised USD reserves", "rUSD", 2, central)
    for who in ("operator_a", "operator_b"):
        a.setHolder(interbank_people[who], True, sender=central)
        a.mint(interbank_people[who], 10 * COLLATERAL, sender=central)
    return a


@pytest.fixture(scope="module")
def net(token, bank_b, asset, interbank_people, chain, minter_admin, compliance):
    """A net-mode USD network of banks A (``token``) and B, each with COLLATERAL (10% haircut)."""
    admin = interbank_people["network_admin"]
    n = admin.deploy(project.InterbankNetwork, asset, "USD", 0, HAIRCUT, admin, interbank_people["settler"])
    asset.setHolder(n, True, sender=interbank_people["central"])
    for t, operator in ((token, interbank_people["operator_a"]), (bank_b, interbank_people["operator_b"])):
        n.join(t, operator, sender=admin)
        t.configureMinter(n, NETWORK_ALLOWANCE, sender=minter_admin)
        t.allowlist(n, chain.pending_timestamp + YEAR, sender=compliance)
        asset.approve(n, COLLATERAL, sender=operator)
        n.postCollateral(t, COLLATERAL, sender=operator)
    return n


@pytest.fixture(scope="module")
def other_net(token, asset, interbank_people):
    """A network of which only bank A is a member (B-tokens are not members of it)."""
    admin = interbank_people["network_admin"]
    n = admin.deploy(project.InterbankNetwork, asset, "USD", 0, HAIRCUT, admin, interbank_people["settler"])
    n.join(token, interbank_people["operator_a"], sender=admin)
    return n


@pytest.fixture(scope="module")
def escrow(token, bank_b, net, marketplace, arbiter, fees, compliance, chain, interbank_people):
    """The escrow at 2.5% connected to the network; ana (a client of B only) is paid at B."""
    expiry = chain.pending_timestamp + YEAR
    token.allowlistBatch([fees, arbiter], [expiry, expiry], sender=compliance)
    e = deploy_escrow(marketplace, token, admin=marketplace, admin_delay=2 * DAY, arbiter=arbiter, fee_recipient=fees, fee_bps=FEE_BPS)
    token.allowlist(e, expiry, sender=compliance)
    c = EscrowClient(e)
    c.set_network(net, sender=marketplace)
    c.set_payout_bank(bank_b.address, sender=interbank_people["ana"])
    return e


@pytest.fixture(scope="module")
def client(escrow, other_net):  # every module fixture set up before the first test
    return EscrowClient(escrow)


@pytest.fixture
def ana(interbank_people):
    return interbank_people["ana"]


@pytest.fixture
def ben(interbank_people):
    return interbank_people["ben"]


@pytest.fixture(autouse=True)
def books_balance(request):
    """After every test: the escrow holds exactly what its open orders are owed."""
    yield
    if "escrow" in request.fixturenames:
        e, token = request.getfixturevalue("escrow"), request.getfixturevalue("token")
        assert int(token.balanceOf(e)) == int(e.outstanding(token)), f"balance != outstanding after {request.node.name}"


def ids(key: bytes) -> tuple[bytes, bytes]:
    """The seller's and the fee's payment ids, computed here as the brief defines them."""
    return tuple(keccak(abi_encode(["bytes32", "string"], [key, label])) for label in ("seller", "fee"))  # type: ignore[return-value]


def open_order(client, chain, label, buyer, seller, amount=AMOUNT):
    """A funded order (the buyer approves and funds through the library); its terms and key."""
    terms = client.terms(label, buyer, seller, client.token.to_decimal(amount), ship_by=chain.pending_timestamp + DAY, confirm_window=WINDOW)
    client.fund(terms, sender=buyer, approve=True)
    return terms, client.order_key(terms)


def shipped_order(client, chain, label, buyer, seller, amount=AMOUNT):
    terms, key = open_order(client, chain, label, buyer, seller, amount)
    client.ship(key, f"parcel {label}", sender=seller)
    return terms, key


def position(network, t) -> int:
    return int(network.bank(t).position)


def refused(contract, fn: str, args: tuple, sender, error: str, /, decode_with=None, **inputs) -> None:
    """``contract.fn(*args)`` from ``sender`` reverts with exactly ``error(**inputs)`` (an ``eth_call``);
    ``decode_with``: the contract whose error bubbles up (the network, a token)."""
    data = eth_call_revert_data(contract, fn, args, sender)
    decoded = decode_error_data(data, (decode_with or contract).contract_type)
    assert decoded is not None, f"{fn}: undecodable revert {data!r}"
    name, actual = decoded
    assert name == error, f"{fn}: expected {error}, got {name}({actual})"
    assert {k: norm(v) for k, v in actual.items()} == {k: norm(v) for k, v in inputs.items()}, f"{fn}: {error}{actual}"


def snapshot(escrow, token, key) -> tuple:
    """What a refused payout must leave as it was: the order, the escrow's books and balance."""
    return tuple(escrow.order(key)), int(escrow.outstanding(token)), int(token.balanceOf(escrow))


# ------------------------------------------------------------------ the paths


def test_confirm_pays_a_seller_at_bank_b_through_the_network(client, escrow, token, bank_b, net, alice, ana, fees, chain):
    _, key = shipped_order(client, chain, "confirm at B", alice, ana)
    seller_id, fee_id = ids(key)
    assert escrow.payoutIds(key) == (seller_id, fee_id) and payout_payment_id(key, "seller") == seller_id
    supply_a, supply_b = int(token.totalSupply()), int(bank_b.totalSupply())
    plan = client.payouts(key)
    assert [(p.who, p.payee, p.token, p.amount * 100, p.payment_id) for p in plan] == [
        ("seller", ana.address, bank_b.address, NET_AMOUNT, "0x" + seller_id.hex()),
        ("fee recipient", fees.address, token.address, FEE, None),
    ]
    receipt = client.confirm(key, sender=alice)
    GAS["confirm (seller at B, fee at A)"] = receipt.gas_used
    assert events(receipt, escrow) == [
        ev("OrderReleased", orderKey=key, sellerAmount=NET_AMOUNT, fee=FEE, confirmed=True),
        ev("CrossBankPayout", orderKey=key, paymentId=seller_id, payee=ana, payoutToken=bank_b, amount=NET_AMOUNT),
    ]
    assert events(receipt, net) == [
        ev("InterbankPayment", paymentId=seller_id, fromToken=token, toToken=bank_b, payer=escrow, payee=ana,
           amount=NET_AMOUNT, cycle=1),
    ]
    assert int(escrow.order(key).state) == RELEASED
    assert int(bank_b.balanceOf(ana)) == INITIAL + NET_AMOUNT and int(token.balanceOf(fees)) == FEE
    assert int(token.totalSupply()) == supply_a - NET_AMOUNT and int(bank_b.totalSupply()) == supply_b + NET_AMOUNT
    assert position(net, token) == -NET_AMOUNT and position(net, bank_b) == NET_AMOUNT  # A owes B
    payref = payment_reference(escrow.address, seller_id)  # the escrow pays: its id, scoped by it, on both tokens
    assert net.isPaymentIdUsed(escrow, seller_id) and token.isBurnRefUsed(payref) and bank_b.isDepositRefUsed(payref)
    assert not net.isPaymentIdUsed(escrow, fee_id)  # the fee was paid at A, by transfer
    assert int(token.allowance(escrow, net)) == 0 and int(escrow.outstanding(token)) == 0
    # and once only
    assert "released, not shipped" in one_line_error(client.release, key, sender=alice)


def test_timeout_release_pays_seller_and_fee_at_bank_b(client, escrow, token, bank_b, net, alice, ana, ben, fees, marketplace, chain):
    receipt = client.set_fee_recipient(ben, "EXUSB", sender=marketplace)  # the marketplace's fee account at B
    assert events(receipt, escrow) == [ev("FeePayoutTokenSet", feeRecipient=ben, payoutToken=bank_b),
                                       ev("FeeUpdated", feeRecipient=ben, feeBps=FEE_BPS)]
    assert client.fee() == (ben.address, FEE_BPS) and client.fee_payout_token() == bank_b.address
    _, key = shipped_order(client, chain, "timeout at B", alice, ana)
    seller_id, fee_id = ids(key)
    assert "has not passed" in one_line_error(client.release, key, sender=marketplace)
    set_time(chain, int(escrow.order(key).confirmDeadline) + 1)
    receipt = client.release(key, sender=marketplace)  # anyone, after the window
    GAS["release (seller and fee at B)"] = receipt.gas_used
    assert events(receipt, escrow) == [
        ev("OrderReleased", orderKey=key, sellerAmount=NET_AMOUNT, fee=FEE, confirmed=False),
        ev("CrossBankPayout", orderKey=key, paymentId=seller_id, payee=ana, payoutToken=bank_b, amount=NET_AMOUNT),
        ev("CrossBankPayout", orderKey=key, paymentId=fee_id, payee=ben, payoutToken=bank_b, amount=FEE),
    ]
    assert [e[1]["paymentId"] for e in events(receipt, net)] == [norm(seller_id), norm(fee_id)]
    assert int(bank_b.balanceOf(ana)) == INITIAL + NET_AMOUNT and int(bank_b.balanceOf(ben)) == FEE
    assert position(net, token) == -AMOUNT and position(net, bank_b) == AMOUNT
    assert int(token.balanceOf(fees)) == 0 and int(escrow.order(key).state) == RELEASED


def test_fee_at_bank_b_for_a_seller_at_a(client, escrow, token, bank_b, net, alice, bob, ben, marketplace, chain):
    client.set_fee_recipient(ben, bank_b.address, sender=marketplace)
    _, key = shipped_order(client, chain, "seller at A, fee at B", alice, bob)
    receipt = client.confirm(key, sender=alice)
    assert events(receipt, escrow) == [
        ev("OrderReleased", orderKey=key, sellerAmount=NET_AMOUNT, fee=FEE, confirmed=True),
        ev("CrossBankPayout", orderKey=key, paymentId=ids(key)[1], payee=ben, payoutToken=bank_b, amount=FEE),
    ]
    assert int(token.balanceOf(bob)) == INITIAL + NET_AMOUNT and int(bank_b.balanceOf(ben)) == FEE
    assert position(net, token) == -FEE
    # back to a fee account here: a plain transfer again
    receipt = client.set_fee_recipient(bob, None, sender=marketplace)
    assert events(receipt, escrow)[0] == ev("FeePayoutTokenSet", feeRecipient=bob, payoutToken=token)
    assert client.fee_payout_token() == token.address


def test_resolve_split_buyer_at_a_seller_through_the_network(client, escrow, token, bank_b, net, alice, ana, arbiter, fees, chain):
    _, key = shipped_order(client, chain, "split", alice, ana)
    client.dispute(key, "half of it broke", sender=ana)  # the seller disputes, active at B (not at A)
    buyer_part = 4_000
    seller_gross = AMOUNT - buyer_part
    fee = seller_gross * FEE_BPS // 10_000
    plan = client.payouts(key, "40.00")
    assert [(p.who, p.symbol, p.cross_bank) for p in plan] == [("buyer", "EXUSD", False), ("seller", "EXUSB", True), ("fee recipient", "EXUSD", False)]
    alice_before = int(token.balanceOf(alice))
    receipt = client.resolve(key, "40.00", sender=arbiter)
    assert events(receipt, escrow) == [
        ev("OrderResolved", orderKey=key, arbiter=arbiter, buyerAmount=buyer_part, sellerAmount=seller_gross - fee, fee=fee),
        ev("CrossBankPayout", orderKey=key, paymentId=ids(key)[0], payee=ana, payoutToken=bank_b, amount=seller_gross - fee),
    ]
    assert int(token.balanceOf(alice)) == alice_before + buyer_part and int(token.balanceOf(fees)) == fee
    assert int(bank_b.balanceOf(ana)) == INITIAL + seller_gross - fee and position(net, bank_b) == seller_gross - fee
    assert int(escrow.order(key).state) == RESOLVED
    # all to the buyer: nothing crosses
    _, key2 = shipped_order(client, chain, "all back", alice, ana)
    client.dispute(key2, None, sender=alice)
    receipt = client.resolve(key2, "100.00", sender=arbiter)
    assert [e[0] for e in events(receipt, escrow)] == ["OrderResolved"] and events(receipt, net) == []


def test_same_bank_path_unchanged(client, escrow, token, net, alice, bob, fees, chain):
    assert client.payout_token(bob) == token.address  # never set: the escrow's token
    _, key = shipped_order(client, chain, "same bank", alice, bob)
    assert [p.payment_id for p in client.payouts(key)] == [None, None]
    receipt = client.confirm(key, sender=alice)
    GAS["confirm (same bank)"] = receipt.gas_used
    assert events(receipt, escrow) == [ev("OrderReleased", orderKey=key, sellerAmount=NET_AMOUNT, fee=FEE, confirmed=True)]
    assert events(receipt, net) == [] and position(net, token) == 0
    assert [e[0] for e in events(receipt, token)] == ["Transfer", "Transfer"]
    assert int(token.balanceOf(bob)) == INITIAL + NET_AMOUNT and int(token.balanceOf(fees)) == FEE


def test_gas():
    """What paying across banks costs (this module's run): the network's burn, mint and books on top."""
    if not {"confirm (seller at B, fee at A)", "confirm (same bank)", "release (seller and fee at B)"} <= set(GAS):
        pytest.skip("run with the whole module")
    print("\nTradeEscrow across banks, gas:", ", ".join(f"{k} {v:,}" for k, v in sorted(GAS.items())))
    assert GAS["confirm (same bank)"] <= 80_000  # as tests/settlement/test_escrow.py's bound
    # the network's payment (burn at A, mint at B, positions 0 -> non-zero, the payment id) is most of it
    assert GAS["confirm (seller at B, fee at A)"] <= 300_000
    assert GAS["release (seller and fee at B)"] <= 420_000


def test_payout_bank_setters_and_their_refusals(client, escrow, token, bank_b, net, other_net, asset, alice, ana, bob, marketplace, arbiter, interbank_people):
    assert client.payout_token(ana) == bank_b.address == escrow.payoutToken(ana)
    # not a member; an account that cannot receive there; the caller sets only its own
    refused(escrow, "setPayoutToken", (asset,), bob, "NotANetworkMember", token_=asset)
    assert "not a member" in one_line_error(client.set_payout_bank, asset.address, sender=bob)
    assert "no member bank's token has the symbol 'EXNOPE'" in one_line_error(client.set_payout_bank, "EXNOPE", sender=bob)
    refused(escrow, "setPayoutToken", (bank_b,), alice, "CannotReceive", account=alice)
    assert one_line_error(client.set_payout_bank, "EXUSB", sender=alice).startswith(f"seller {alice.address} is not allowlisted")
    # the seller resets to the escrow's token and back
    receipt = escrow.setPayoutToken(ZERO_ADDRESS, sender=ana)
    assert events(receipt, escrow) == [ev("PayoutTokenSet", account=ana, payoutToken=token)]
    assert client.payout_token(ana) == token.address
    receipt = client.set_payout_bank("EXUSB", sender=ana)
    assert events(receipt, escrow) == [ev("PayoutTokenSet", account=ana, payoutToken=bank_b)]
    # the network: admin only, a contract of which the escrow's bank is a member
    refused(escrow, "setNetwork", (net,), arbiter, "AccessControlUnauthorizedAccount", account=arbiter, neededRole=bytes(32))
    refused(escrow, "setNetwork", (alice,), marketplace, "NotAContract", account=alice)
    lonely = interbank_people["network_admin"].deploy(project.InterbankNetwork, asset, "USD", 0, HAIRCUT,
                                                      interbank_people["network_admin"], interbank_people["settler"])
    refused(escrow, "setNetwork", (lonely,), marketplace, "NotANetworkMember", token_=token)
    assert "is not a member" in one_line_error(client.set_network, lonely, sender=marketplace)
    assert "not the escrow's admin" in one_line_error(client.set_network, net, sender=arbiter)
    # fee recipient: must be able to receive at its bank
    refused(escrow, "setFeeRecipient", (interbank_people["ben"], token), marketplace, "CannotReceive", account=interbank_people["ben"])
    refused(escrow, "setFeeRecipient", (bob, asset), marketplace, "NotANetworkMember", token_=asset)
    refused(escrow, "setFeeRecipient", (bob, bank_b), arbiter, "AccessControlUnauthorizedAccount", account=arbiter, neededRole=bytes(32))
    # without a network: no payout bank but the escrow's own
    receipt = client.set_network(None, sender=marketplace)
    assert events(receipt, escrow) == [ev("NetworkSet", network=ZERO_ADDRESS)] and client.network() is None
    refused(escrow, "setPayoutToken", (bank_b,), ana, "NetworkNotSet")
    assert "no interbank network" in one_line_error(client.set_payout_bank, "EXUSB", sender=ana)
    receipt = client.set_network(other_net.address, sender=marketplace)
    assert events(receipt, escrow) == [ev("NetworkSet", network=other_net)]
    refused(escrow, "setPayoutToken", (bank_b,), ana, "NotANetworkMember", token_=bank_b)


def _refused_then_paid(client, escrow, token, key, buyer, *, error, remedy, lib_says, decode_with=None, inputs=None):
    """Confirming ``key`` is refused with ``error`` (the library says ``lib_says`` first, sending
    nothing); the order stays as it was; after ``remedy()`` the same confirm pays the seller at B."""
    before = snapshot(escrow, token, key)
    assert lib_says in one_line_error(client.confirm, key, sender=buyer)
    refused(escrow, "confirm", (key,), buyer, error, decode_with=decode_with, **(inputs or {}))
    assert snapshot(escrow, token, key) == before and int(escrow.order(key).state) == SHIPPED
    remedy()
    receipt = client.confirm(key, sender=buyer)
    assert int(escrow.order(key).state) == RELEASED
    assert events(receipt, escrow)[1][0] == "CrossBankPayout"


def test_refusals_leave_the_order_payable_later(client, escrow, token, bank_b, net, other_net, asset, alice, ana, marketplace, compliance, pauser, chain, interbank_people):
    seller_id = lambda key: ids(key)[0]  # noqa: E731
    # the seller is no longer allowlisted at B: B refuses the mint
    _, key = shipped_order(client, chain, "seller unlisted at B", alice, ana)
    bank_b.removeFromAllowlist(ana, sender=compliance)
    _refused_then_paid(client, escrow, token, key, alice, error="ERC7943CannotReceive", decode_with=bank_b,
                       lib_says=f"payee {ana.address} is not allowlisted", inputs={"account": ana},
                       remedy=lambda: bank_b.allowlist(ana, chain.pending_timestamp + YEAR, sender=compliance))
    # bank B paused
    _, key = shipped_order(client, chain, "B paused", alice, ana)
    bank_b.pause(sender=pauser)
    _refused_then_paid(client, escrow, token, key, alice, error="EnforcedPause", decode_with=bank_b,
                       lib_says="EXUSB is paused", remedy=lambda: bank_b.unpause(sender=pauser))
    # B suspended from the network
    admin = interbank_people["network_admin"]
    _, key = shipped_order(client, chain, "B suspended", alice, ana)
    net.setBankActive(bank_b, False, sender=admin)
    _refused_then_paid(client, escrow, token, key, alice, error="BankSuspended", decode_with=net,
                       lib_says="suspended", inputs={"token": bank_b}, remedy=lambda: net.setBankActive(bank_b, True, sender=admin))
    # over bank A's debit limit: A withdrew most of its collateral
    operator_a = interbank_people["operator_a"]
    _, key = shipped_order(client, chain, "over the limit", alice, ana)
    net.withdrawCollateral(token, int(net.freeCollateral(token)), operator_a, sender=operator_a)  # what its debit does not need
    headroom = int(net.headroom(token))
    assert headroom < NET_AMOUNT
    _refused_then_paid(client, escrow, token, key, alice, error="DebitLimitExceeded", decode_with=net,
                       lib_says="may pay out", inputs={"token": token, "headroom": headroom, "amount": NET_AMOUNT},
                       remedy=lambda: (asset.approve(net, COLLATERAL, sender=operator_a),
                                       net.postCollateral(token, COLLATERAL, sender=operator_a)))
    # the network disconnected while the seller is paid at B; then a network without B
    _, key = shipped_order(client, chain, "no network", alice, ana)
    client.set_network(None, sender=marketplace)
    _refused_then_paid(client, escrow, token, key, alice, error="NetworkNotSet",
                       lib_says="no interbank network", remedy=lambda: client.set_network(net, sender=marketplace))
    # the escrow moved to a network of which B is no member: the seller's payout bank is refused there
    _, key = shipped_order(client, chain, "B no member", alice, ana)
    client.set_network(other_net, sender=marketplace)
    _refused_then_paid(client, escrow, token, key, alice, error="NotAMember", decode_with=net, inputs={"token": bank_b},
                       lib_says="is not a member of the interbank network", remedy=lambda: client.set_network(net, sender=marketplace))
    # anyone may pay under the escrow's seller id as its own, first: ids are scoped by the payer, so that
    # neither uses up nor blocks the escrow's payout
    _, key = shipped_order(client, chain, "id not blockable", alice, ana)
    token.approve(net, 1, sender=alice)
    net.pay(token, bank_b, ana, 1, seller_id(key), sender=alice)
    assert net.isPaymentIdUsed(alice, seller_id(key)) and not net.isPaymentIdUsed(escrow, seller_id(key))
    client.confirm(key, sender=alice)
    assert int(escrow.order(key).state) == RELEASED and net.isPaymentIdUsed(escrow, seller_id(key))


def test_seller_active_at_its_payout_bank_to_ship_and_dispute(client, escrow, token, bank_b, alice, ana, compliance, chain):
    _, key = open_order(client, chain, "ship at B", alice, ana)
    assert not token.canSend(ana)  # ana banks at B only
    bank_b.freezeAccount(ana, sender=compliance)
    refused(escrow, "ship", (key, ref("parcel")), ana, "PartyRestricted", token=bank_b, party=ana)
    refused(escrow, "dispute", (key, ref("why")), ana, "PartyRestricted", token=bank_b, party=ana)
    assert "(its payout bank)" in one_line_error(client.ship, key, "parcel", sender=ana)
    bank_b.unfreezeAccount(ana, sender=compliance)
    client.ship(key, "parcel", sender=ana)
    assert int(escrow.order(key).state) == SHIPPED


def test_legal_controls_with_a_seller_at_bank_b(client, escrow, token, bank_b, net, alice, ana, ben, carol, legal, chain):
    # seizure: the order's A-tokens go where the legal order says, nothing crosses
    _, key = shipped_order(client, chain, "seized", alice, ana)
    receipt = client.seize_order(key, carol, "COURT-1", sender=legal)
    assert int(escrow.order(key).state) == SEIZED and events(receipt, net) == []
    assert int(token.balanceOf(carol)) == AMOUNT
    # replacement of the seller by an account at B: it names its payout bank first
    _, key = shipped_order(client, chain, "replaced", alice, ana)
    refused(escrow, "replaceParty", (key, ana, ben), legal, "InvalidBeneficiary", account=ben)
    assert one_line_error(client.replace_party, key, ana, ben, sender=legal).startswith(f"replacement {ben.address} is not allowlisted")  # at A: no payout bank yet
    client.set_payout_bank("EXUSB", sender=ben)
    receipt = client.replace_party(key, ana, ben, sender=legal)
    assert events(receipt, escrow) == [ev("PartyReplaced", orderKey=key, lost=ana, replacement=ben)]
    client.confirm(key, sender=alice)
    assert int(bank_b.balanceOf(ben)) == NET_AMOUNT and int(bank_b.balanceOf(ana)) == INITIAL


def test_cli(client, escrow, token, bank_b, net, alice, ana, ben, marketplace, chain):
    run = deptoken_cli(chain, "escrow")
    e = ["--escrow", escrow.address]
    assert run("payout-bank", *e, "--seller", ana.address) == {
        "escrow": escrow.address, "account": ana.address, "payout_token": bank_b.address, "symbol": "EXUSB", "cross_bank": True}
    assert "through the interbank network" in run("payout-bank", *e, "--seller", ana.address, as_json=False)
    shown = run("payout-bank", *e, "--set", "EXUSB", "--as", "11")  # ben, test account 11
    assert (shown["account"], shown["payout_token"], shown["tx"][:2]) == (ben.address, bank_b.address, "0x")
    assert run("payout-bank", *e, "--set", "EXUSD", "--as", "7")["cross_bank"] is False  # alice: the escrow's token, a reset
    assert run("payout-bank", *e, "--set", "here", "--as", "11", code=1).startswith(f"error: seller {ben.address} is not allowlisted")
    _, key = shipped_order(client, chain, "cli", alice, ana)
    plan = run("payouts", "0x" + key.hex(), *e)["payouts"]
    assert [(p["who"], p["symbol"], p["amount"], p["paymentId"]) for p in plan] == [
        ("seller", "EXUSB", NET_AMOUNT, "0x" + ids(key)[0].hex()), ("fee recipient", "EXUSD", FEE, None)]
    fee = run("set-fee-recipient", *e, "--recipient", ben.address, "--bank", "EXUSB", "--as", "30")
    assert (fee["account"], fee["symbol"], fee["fee_bps"]) == (ben.address, "EXUSB", FEE_BPS)
    off = run("set-network", *e, "--none", "--as", "30")
    assert off["network"] is None
    assert run("set-network", *e, "--interbank", net.address, "--as", "30")["network"] == net.address
    assert run("set-network", *e, "--interbank", net.address, "--as", "7", code=1) == f"error: {alice.address} is not the escrow's admin"
