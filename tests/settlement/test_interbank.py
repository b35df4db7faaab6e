"""The interbank network (contracts/settlement/InterbankNetwork.sol) on ape's Anvil: a client of bank A
pays a client of bank B in one transaction (A-tokens burned, B-tokens minted, A owes B), by approval
or with one EIP-3009 signature; every control of either bank stops it; net positions are backed by
collateral in the settlement asset and settle in cycles; gross mode moves the collateral with each
payment."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from ape import project

from constants import INITIAL, YEAR, ZERO_ADDRESS, ZERO_REF
from deptoken.settlement.interbank import payment_reference
from deptoken.token import TokenClient
from deptoken.token.authorizations import sign, transfer_authorization
from helpers import ev, events, ref, reverts

NET, GROSS = 0, 1
HAIRCUT = 1_000  # 10 %
COLLATERAL = 1_000_000  # 10,000.00 in minor units, each bank
NETWORK_ALLOWANCE = 10**12  # what each bank lets the network mint
AMOUNT = 25_000  # 250.00


@pytest.fixture(scope="module")
def asset(interbank_people):
    central = interbank_people["central"]
    a = central.deploy(project.SettlementAsset, "Tokenised USD reserves", "rUSD", 2, central)
    for who in ("operator_a", "operator_b"):
        a.setHolder(interbank_people[who], True, sender=central)
        a.mint(interbank_people[who], 10 * COLLATERAL, sender=central)
    return a


def _network(mode, token, bank_b, asset, interbank_people, chain, minter_admin, compliance):
    admin = interbank_people["network_admin"]
    n = admin.deploy(project.InterbankNetwork, asset, "USD", mode, HAIRCUT, admin, interbank_people["settler"])
    asset.setHolder(n, True, sender=interbank_people["central"])
    for t, operator in ((token, interbank_people["operator_a"]), (bank_b, interbank_people["operator_b"])):
        n.join(t, operator, sender=admin)
        t.configureMinter(n, NETWORK_ALLOWANCE, sender=minter_admin)  # the bank's grant: what the network may mint
        t.allowlist(n, chain.pending_timestamp + YEAR, sender=compliance)  # it receives what payers pay
        asset.approve(n, COLLATERAL, sender=operator)
        n.postCollateral(t, COLLATERAL, sender=operator)
    return n


@pytest.fixture(scope="module")
def net(token, bank_b, asset, interbank_people, chain, minter_admin, compliance):
    return _network(NET, token, bank_b, asset, interbank_people, chain, minter_admin, compliance)


@pytest.fixture(scope="module")
def gross(token, bank_b, asset, interbank_people, chain, minter_admin, compliance):
    return _network(GROSS, token, bank_b, asset, interbank_people, chain, minter_admin, compliance)


@pytest.fixture(scope="module", autouse=True)
def _module_deployments(net, gross, cnh_token):
    """Every module fixture that deploys, made before the first test: a module fixture first made in the
    middle of the module (after other tests' chain snapshots) was seen to leave the network of another
    one missing, or another contract at its address, in the full suite (ape's isolation)."""


def position(network, t) -> tuple[int, int]:
    """(position, collateral) of ``t``'s bank."""
    b = network.bank(t)
    return int(b.position), int(b.collateral)


def test_a_payment_burns_at_the_payers_bank_mints_at_the_payees_and_records_the_debt(net, token, bank_b, alice, interbank_people):
    ana = interbank_people["ana"]
    supplies = token.totalSupply(), bank_b.totalSupply()
    token.approve(net, AMOUNT, sender=alice)
    receipt = net.pay(token, bank_b, ana, AMOUNT, ref("PAY-1"), sender=alice)
    # both tokens book the payment under one reference: the payer's id scoped by the payer
    payref = keccak(abi_encode(["address", "bytes32"], [alice.address, ref("PAY-1")]))
    assert bytes(net.paymentReference(alice, ref("PAY-1"))) == payref == payment_reference(alice.address, ref("PAY-1"))
    assert events(receipt) == [
        ev("Transfer", **{"from": alice, "to": net, "value": AMOUNT}),  # the payer hands it over
        ev("Transfer", **{"from": net, "to": ZERO_ADDRESS, "value": AMOUNT}),
        ev("Burned", account=net, amount=AMOUNT, burnRef=payref),  # bank A owes alice less
        ev("Transfer", **{"from": ZERO_ADDRESS, "to": ana, "value": AMOUNT}),
        ev("Minted", minter=net, to=ana, amount=AMOUNT, depositRef=payref),  # bank B owes ana more
        ev("InterbankPayment", paymentId=ref("PAY-1"), fromToken=token, toToken=bank_b, payer=alice, payee=ana,
           amount=AMOUNT, cycle=1),
    ]
    assert (token.balanceOf(alice), bank_b.balanceOf(ana), token.balanceOf(net)) == (INITIAL - AMOUNT, INITIAL + AMOUNT, 0)
    assert (token.totalSupply(), bank_b.totalSupply()) == (supplies[0] - AMOUNT, supplies[1] + AMOUNT)
    assert position(net, token) == (-AMOUNT, COLLATERAL) and position(net, bank_b) == (AMOUNT, COLLATERAL)  # A owes B
    assert token.isBurnRefUsed(payref) and bank_b.isDepositRefUsed(payref)
    assert not token.isBurnRefUsed(ref("PAY-1")) and not bank_b.isDepositRefUsed(ref("PAY-1"))
    assert net.headroom(token) == COLLATERAL * 9 // 10 - AMOUNT and net.headroom(bank_b) == COLLATERAL * 9 // 10 + AMOUNT
    assert bank_b.minterAllowance(net) == NETWORK_ALLOWANCE - AMOUNT

    # the same payer's id again, to any payee at any bank: refused by the network, nothing moves
    token.approve(net, AMOUNT, sender=alice)
    with reverts("PaymentIdUsed", payer=alice, paymentId=ref("PAY-1")):
        net.pay(token, bank_b, ana, AMOUNT, ref("PAY-1"), sender=alice)
    assert net.isPaymentIdUsed(alice, ref("PAY-1")) and not net.isPaymentIdUsed(alice, ref("PAY-2"))
    # ids are scoped by the payer: another payer's PAY-1 is its own, and nobody can use up (block) alice's
    assert not net.isPaymentIdUsed(ana, ref("PAY-1"))
    bank_b.approve(net, AMOUNT, sender=ana)
    net.pay(bank_b, token, alice, AMOUNT, ref("PAY-1"), sender=ana)
    assert net.isPaymentIdUsed(ana, ref("PAY-1")) and not net.isPaymentIdUsed(ana, ref("PAY-2"))
    assert position(net, token) == (0, COLLATERAL) and position(net, bank_b) == (0, COLLATERAL)
    token.approve(net, AMOUNT, sender=alice)
    net.pay(token, bank_b, ana, AMOUNT, ref("PAY-3"), sender=alice)
    # back the other way, under another id: the positions net out
    bank_b.approve(net, AMOUNT, sender=ana)
    net.pay(bank_b, token, alice, AMOUNT, ref("PAY-2"), sender=ana)
    assert position(net, token) == (0, COLLATERAL) and position(net, bank_b) == (0, COLLATERAL)
    assert token.balanceOf(alice) == INITIAL and bank_b.balanceOf(ana) == INITIAL


def test_one_signature_pays_and_binds_the_payee_and_the_id(net, token, bank_b, alice, interbank_people):
    ana, ben, relayer = interbank_people["ana"], interbank_people["ben"], interbank_people["network_admin"]
    client = TokenClient.from_contract(token)
    nonce = net.paymentNonce(bank_b, ana, ref("PAY-SIG"))
    data = transfer_authorization(client, alice, net.address, client.to_decimal(AMOUNT), valid_for=3600, nonce=nonce, receive=True)
    signed = sign(alice, data)
    m = signed.message
    args = (m["validAfter"], m["validBefore"], signed.signature)
    # a relayer cannot send alice's money elsewhere: the nonce binds the payee, its bank and the id
    with reverts("ERC3009InvalidSignature", decode_with=project.DepositToken, authorizer=alice):  # the token's error
        net.payWithAuthorization(token, bank_b, alice, ben, AMOUNT, ref("PAY-SIG"), *args, sender=relayer)
    receipt = net.payWithAuthorization(token, bank_b, alice, ana, AMOUNT, ref("PAY-SIG"), *args, sender=relayer)
    assert events(receipt, net) == [ev("InterbankPayment", paymentId=ref("PAY-SIG"), fromToken=token, toToken=bank_b,
                                       payer=alice, payee=ana, amount=AMOUNT, cycle=1)]
    assert token.balanceOf(alice) == INITIAL - AMOUNT and bank_b.balanceOf(ana) == INITIAL + AMOUNT
    assert token.authorizationState(alice, nonce)


def test_every_control_of_either_bank_stops_a_payment(net, token, bank_b, alice, bob, interbank_people, compliance, legal, pauser, accounts):
    ana = interbank_people["ana"]
    token.approve(net, 10 * COLLATERAL, sender=alice)
    pid = ref("PAY-X")

    def refused(error, /, payer=alice, payee=ana, units=AMOUNT, frm=token, to=bank_b, payment=pid, **inputs):
        with reverts(error, decode_with=project.DepositToken, **inputs):  # the network's errors, or a token's
            net.pay(frm, to, payee, units, payment, sender=payer)

    refused("SameBank", to=token, token=token)
    refused("NotAMember", to=accounts[19], token=accounts[19])
    refused("InvalidAmount", units=0)
    refused("InvalidPaymentId", payment=ZERO_REF)
    with reverts("DebitLimitExceeded", token=token, headroom=COLLATERAL * 9 // 10, amount=COLLATERAL * 9 // 10 + 1):
        net.pay(token, bank_b, ana, COLLATERAL * 9 // 10 + 1, pid, sender=alice)
    refused("ERC7943CannotReceive", payee=bob, account=bob)  # bob banks at A only: not B's client
    token.freezeAccount(alice, sender=compliance)
    refused("ERC7943CannotSend", account=alice)
    token.unfreezeAccount(alice, sender=compliance)
    token.setFrozenTokens(alice, INITIAL, sender=legal)  # a lien on everything alice holds
    refused("ERC7943InsufficientUnfrozenBalance", account=alice, amount=AMOUNT, unfrozen=0)
    token.setFrozenTokens(alice, 0, sender=legal)
    bank_b.pause(sender=pauser)
    refused("EnforcedPause")
    bank_b.unpause(sender=pauser)
    token.pause(sender=pauser)
    refused("EnforcedPause")
    token.unpause(sender=pauser)
    net.setBankActive(bank_b, False, sender=interbank_people["network_admin"])
    refused("BankSuspended", token=bank_b)
    net.setBankActive(bank_b, True, sender=interbank_people["network_admin"])
    assert position(net, token) == (0, COLLATERAL) and token.balanceOf(alice) == INITIAL  # nothing moved
    net.pay(token, bank_b, ana, AMOUNT, pid, sender=alice)  # every control lifted: it pays


def test_the_network_mints_only_what_the_payees_bank_granted(net, token, bank_b, alice, interbank_people, minter_admin):
    bank_b.configureMinter(net, AMOUNT - 1, sender=minter_admin)
    token.approve(net, AMOUNT, sender=alice)
    with reverts("MinterAllowanceExceeded", minter=net, allowance=AMOUNT - 1, amount=AMOUNT):
        net.pay(token, bank_b, interbank_people["ana"], AMOUNT, ref("PAY-Y"), sender=alice)


def test_membership_needs_the_networks_currency_and_decimals(net, cnh_token, token, interbank_people):
    admin = interbank_people["network_admin"]
    with reverts("CurrencyMismatch", token=cnh_token, currency="CNH"):
        net.join(cnh_token, interbank_people["operator_a"], sender=admin)
    with reverts("AlreadyMember", token=token):
        net.join(token, interbank_people["operator_a"], sender=admin)
    with reverts("AccessControlUnauthorizedAccount", account=interbank_people["operator_a"], neededRole=b"\x00" * 32):
        net.join(cnh_token, interbank_people["operator_a"], sender=interbank_people["operator_a"])


def test_collateral_backs_the_debit_and_only_the_rest_can_leave(net, token, bank_b, alice, interbank_people, asset):
    op_a, op_b = interbank_people["operator_a"], interbank_people["operator_b"]
    token.approve(net, 10 * COLLATERAL, sender=alice)
    net.pay(token, bank_b, interbank_people["ana"], 450_000, ref("PAY-C1"), sender=alice)  # A owes 4,500.00
    needed = 500_000  # 4,500.00 / 0.9
    assert net.freeCollateral(token) == COLLATERAL - needed and net.freeCollateral(bank_b) == COLLATERAL
    with reverts("CollateralLocked", token=token, free=COLLATERAL - needed, amount=COLLATERAL - needed + 1):
        net.withdrawCollateral(token, COLLATERAL - needed + 1, op_a, sender=op_a)
    with reverts("NotBankOperator", token=token, caller=op_b):
        net.withdrawCollateral(token, 1, op_b, sender=op_b)
    before = asset.balanceOf(op_a)
    receipt = net.withdrawCollateral(token, COLLATERAL - needed, op_a, sender=op_a)
    assert events(receipt, net) == [ev("CollateralWithdrawn", token=token, to=op_a, amount=COLLATERAL - needed)]
    assert asset.balanceOf(op_a) == before + COLLATERAL - needed and net.headroom(token) == 0
    with reverts("DebitLimitExceeded", token=token, headroom=0, amount=1):
        net.pay(token, bank_b, interbank_people["ana"], 1, ref("PAY-C2"), sender=alice)
    with reverts("NotAHolder", account=alice):  # only banks hold the settlement asset
        asset.transfer(alice, 1, sender=op_a)


def test_a_cycle_settles_every_position_out_of_collateral(net, token, bank_b, alice, interbank_people):
    ana, settler = interbank_people["ana"], interbank_people["settler"]
    token.approve(net, COLLATERAL, sender=alice)
    bank_b.approve(net, COLLATERAL, sender=ana)
    net.pay(token, bank_b, ana, 70_000, ref("C-1"), sender=alice)
    net.pay(bank_b, token, alice, 20_000, ref("C-2"), sender=ana)
    net.pay(token, bank_b, ana, 10_000, ref("C-3"), sender=alice)  # A owes B 600.00 net
    assert position(net, token)[0] == -60_000 and position(net, bank_b)[0] == 60_000
    receipt = net.settleEarly(token, 10_000, sender=interbank_people["operator_a"])  # A pays down 100.00 now
    assert events(receipt, net) == [ev("EarlySettlement", token=token, amount=10_000, cycle=1)]
    assert position(net, token) == (-50_000, COLLATERAL - 10_000) and net.settledEarly() == 10_000
    with reverts("SettlementExceedsDebit", token=token, debit=50_000, amount=50_001):
        net.settleEarly(token, 50_001, sender=interbank_people["operator_a"])
    with reverts("AccessControlUnauthorizedAccount", account=alice, neededRole=net.SETTLEMENT_OPERATOR_ROLE()):
        net.settleCycle(sender=alice)
    receipt = net.settleCycle(sender=settler)
    assert events(receipt, net) == [ev("CycleSettled", cycle=1, tokens=[token, bank_b], positions=[-50_000, 60_000])]
    assert position(net, token) == (0, COLLATERAL - 60_000) and position(net, bank_b) == (0, COLLATERAL + 60_000)
    assert (net.cycle(), net.settledEarly()) == (2, 0)
    net.pay(token, bank_b, ana, 1, ref("C-4"), sender=alice)
    assert events(net.settleCycle(sender=settler), net) == [ev("CycleSettled", cycle=2, tokens=[token, bank_b], positions=[-1, 1])]


def test_gross_mode_moves_collateral_with_each_payment(gross, token, bank_b, alice, interbank_people):
    ana = interbank_people["ana"]
    token.approve(gross, 2 * COLLATERAL, sender=alice)
    receipt = gross.pay(token, bank_b, ana, AMOUNT, ref("G-1"), sender=alice)
    assert events(receipt, gross)[-1][0] == "InterbankPayment"
    assert position(gross, token) == (0, COLLATERAL - AMOUNT) and position(gross, bank_b) == (0, COLLATERAL + AMOUNT)
    assert gross.headroom(token) == COLLATERAL - AMOUNT  # no haircut: real settlement money moves
    with reverts("InsufficientCollateral", token=token, available=COLLATERAL - AMOUNT, amount=COLLATERAL):
        gross.pay(token, bank_b, ana, COLLATERAL, ref("G-2"), sender=alice)
    with reverts("WrongMode", mode=GROSS):
        gross.settleCycle(sender=interbank_people["settler"])
    assert gross.freeCollateral(token) == COLLATERAL - AMOUNT  # nothing owed: all of it may leave


def test_collateral_is_kept_in_120_bits_with_checks(net, token, bank_b, alice, asset, interbank_people):
    """A bank's status, collateral and position share one storage word: the network holds at most
    2**120 - 1 of the settlement asset (past it, posting reverts rather than wrapping), so a cycle that
    credits a bank at that bound still settles."""
    op_a, op_b, central, ana = (interbank_people[k] for k in ("operator_a", "operator_b", "central", "ana"))
    held = 2 * COLLATERAL  # both banks' collateral
    too_much = 2**120 - held
    asset.mint(op_a, too_much, sender=central)
    asset.approve(net, too_much, sender=op_a)
    with reverts("SafeCastOverflowedUintDowncast", bits=120, value=2**120):
        net.postCollateral(token, too_much, sender=op_a)
    net.postCollateral(token, too_much - 1, sender=op_a)
    assert position(net, token) == (0, 2**120 - 1 - COLLATERAL) and asset.balanceOf(net) == 2**120 - 1
    asset.approve(net, 1, sender=op_b)
    with reverts("SafeCastOverflowedUintDowncast", bits=120, value=2**120):  # bank B cannot add either
        net.postCollateral(bank_b, 1, sender=op_b)
    bank_b.approve(net, AMOUNT, sender=ana)
    net.pay(bank_b, token, alice, AMOUNT, ref("BIG-1"), sender=ana)  # B owes the biggest bank
    net.settleCycle(sender=interbank_people["settler"])
    assert position(net, token) == (0, 2**120 - 1 - COLLATERAL + AMOUNT) and position(net, bank_b) == (0, COLLATERAL - AMOUNT)


def test_admin_controls(net, token, interbank_people):
    admin = interbank_people["network_admin"]
    with reverts("InvalidHaircut", haircutBps=5001):
        net.setHaircut(5001, sender=admin)
    assert events(net.setHaircut(2_000, sender=admin), net) == [ev("HaircutSet", haircutBps=2_000)]
    assert net.headroom(token) == COLLATERAL * 8 // 10
    assert events(net.setBankOperator(token, interbank_people["ana"], sender=admin), net) == [ev("BankOperatorSet", token=token, operator=interbank_people["ana"])]
    with reverts("InvalidOperator"):
        net.setBankOperator(token, ZERO_ADDRESS, sender=admin)
    assert (net.currency(), net.mode(), net.members()) == ("USD", NET, [token.address, net.members()[1]])
