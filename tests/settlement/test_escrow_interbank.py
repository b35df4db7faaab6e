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
from deptoken.settlement.interbank import InterbankClient
from helpers import DAY, INITIAL, YEAR, ZERO_ADDRESS, ev, events, one_line_error, ref, set_time

FEE_BPS = 250
AMOUNT = 10_000  # 100.00
FEE = AMOUNT * FEE_BPS // 10_000  # 2.50
NET_AMOUNT = AMOUNT - FEE
WINDOW = 3 * DAY
HAIRCUT = 1_000
COLLATERAL = 1_000_000
NETWORK_ALLOWANCE = 10**12
SHIPPED, DISPUTED, RELEASED, RESOLVED, SEIZED = 2, 3, 4, 6, 7


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
    assert net.isPaymentIdUsed(seller_id) and token.isBurnRefUsed(seller_id) and bank_b.isDepositRefUsed(seller_id)
    assert not net.isPaymentIdUsed(fee_id)  # the fee was paid at A, by transfer
    assert int(token.allowance(escrow, net)) == 0 and int(escrow.outstanding(token)) == 0
    # and once only
    assert "released, not shipped" in one_line_error(client.release, key, sender=alice)
