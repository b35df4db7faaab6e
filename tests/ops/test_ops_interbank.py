"""The paying bank's interbank payments through its ledger (deptoken.ops.interbank_payments, ``deptoken interbank
pay|submit --ledger``, ``submit --queue``, ``queue list|run|drop``) on ape's Anvil, with the ledger on SQLite and
PostgreSQL: each payment sent through the outbox and recorded with its transaction, a re-run recognised as paid,
other terms under a used id refused, payments over the bank's headroom queued and submitted in order once
collateral is posted or the cycle settles, expired ones marked. The crashes: tests/ops/test_ops_interbank_faults.py.
"""

from __future__ import annotations

import pytest
from eth_utils import keccak
from sqlalchemy import select

from constants import INITIAL, YEAR
from deptoken.errors import ReferenceUsed
from deptoken.ops import interbank_payments
from deptoken.ops.models import AuditEntry, InterbankPaymentRecord, Transaction
from deptoken.settlement.interbank import deploy_network, deploy_settlement_asset
from deptoken.token import TokenClient
from helpers import deptoken_cli, one_line_error, set_time

COLLATERAL = "10000.00"  # each bank's, in the settlement asset; a 10 % haircut: bank A may pay out 9,000.00


@pytest.fixture(scope="module")
def ib(token, bank_b, interbank_people, chain, minter_admin, compliance):
    people = interbank_people
    central, admin = people["central"], people["network_admin"]
    asset = deploy_settlement_asset(central, "Tokenised USD reserves", "rUSD", 2, central)
    for who in ("operator_a", "operator_b"):
        asset.setHolder(people[who], True, sender=central)
        asset.mint(people[who], 10**8, sender=central)
    usd, usb = TokenClient.from_contract(token), TokenClient.from_contract(bank_b)
    network = deploy_network(admin, asset, "USD", "net", 1_000, admin, people["settler"], tokens=[usd, usb])
    asset.setHolder(network.address, True, sender=central)
    for t, operator in ((token, people["operator_a"]), (bank_b, people["operator_b"])):
        network.join(t.address, operator, sender=admin)
        t.configureMinter(network.address, 10**12, sender=minter_admin)
        t.allowlist(network.address, chain.pending_timestamp + YEAR, sender=compliance)
        network.post_collateral(t.address, COLLATERAL, sender=operator)
    return network


@pytest.fixture
def session(ops, ledger):  # ops: the ledger bound to bank A's token (the paying bank's)
    with ledger.new_session() as s:
        yield s


@pytest.fixture
def cli(chain, ledger, ops, monkeypatch):
    monkeypatch.setenv("DEPTOKEN_DB_URL", ledger.engine.url.render_as_string(hide_password=False))
    return deptoken_cli(chain, "interbank")


def signed_file(ib, alice, to, payee, amount, pid, tmp_path, valid_for=3600):
    signed = ib.sign_payment(alice, ib.token(ib.members()[0]), to, payee, amount, pid, valid_for)
    path = tmp_path / f"{pid}.json"
    signed.save(path)
    return signed, path


def records(session):
    session.expire_all()
    return [(r.payment_id, str(r.status)) for r in session.scalars(select(InterbankPaymentRecord).order_by(InterbankPaymentRecord.id))]


def test_submit_through_the_ledger_is_recorded_with_its_transaction_and_a_rerun_is_already_paid(
        ib, session, token, bank_b, alice, interbank_people, chain, tmp_path):
    ana, relayer = interbank_people["ana"], interbank_people["relayer"]
    usb = ib.token(bank_b.address)
    signed, _ = signed_file(ib, alice, usb, ana, "250.00", "LEDGER-1", tmp_path)
    sent = interbank_payments.submit(session, ib, signed, sender=relayer)
    assert not sent.already and bank_b.balanceOf(ana) == INITIAL + 25_000
    [payment] = ib.payments(payment_id="LEDGER-1")
    assert sent.tx == payment.tx
    row = session.get(InterbankPaymentRecord, sent.record)
    assert (row.status, row.tx_hash, row.amount, row.payer, row.payee, row.signed is not None) == (
        "paid", payment.tx, 25_000, alice.address, ana.address, True)
    tx = session.get(Transaction, row.tx_id)  # stored in the outbox before it was broadcast, by the relayer
    assert (tx.tx_hash, tx.status, tx.sender) == (payment.tx, "mined", relayer.address)
    audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "interbank.paid")).all()
    assert [(e.subject, e.tx_hash) for e in audited] == [(f"interbank payment {row.id}", payment.tx)]

    height, transactions = chain.blocks.height, session.scalars(select(Transaction)).all()
    again = interbank_payments.submit(session, ib, signed, sender=relayer)
    assert (again.already, again.tx) == (True, payment.tx)
    assert chain.blocks.height == height and session.scalars(select(Transaction)).all() == transactions
    assert bank_b.balanceOf(ana) == INITIAL + 25_000

    # the same id under other terms: refused in one line, naming the payment made
    message = one_line_error(interbank_payments.pay, session, ib, alice, token.address, bank_b.address, ana, "1.00", "LEDGER-1")
    assert message == (f"payment id 0x{keccak(text='LEDGER-1').hex()} was already used in the network with other terms: "
                       f"{alice.address} paid {ana.address} 250.00 EXUSD from EXUSD to EXUSB in tx {payment.tx}")
    with pytest.raises(ReferenceUsed):
        interbank_payments.pay(session, ib, alice, token.address, bank_b.address, ana, "1.00", "LEDGER-1")
    assert chain.blocks.height == height


def test_pay_through_the_ledger_sends_the_approval_and_the_payment_through_the_outbox(ib, session, token, bank_b, alice,
                                                                                       interbank_people, pauser):
    ana = interbank_people["ana"]
    bank_b.pause(sender=pauser)  # refused before anything is signed: nothing stored, nothing recorded
    assert "EXUSB is paused" in one_line_error(interbank_payments.pay, session, ib, alice, token.address, bank_b.address,
                                               ana, "10.00", "LEDGER-PAY")
    assert records(session) == [] and session.scalars(select(Transaction)).all() == []
    bank_b.unpause(sender=pauser)
    sent = interbank_payments.pay(session, ib, alice, token.address, bank_b.address, ana, "10.00", "LEDGER-PAY")
    stored = {t.tx_hash: t for t in session.scalars(select(Transaction))}
    assert sent.approve_tx in stored and sent.tx in stored and stored[sent.tx].status == "mined"
    assert stored[sent.approve_tx].sender == stored[sent.tx].sender == alice.address
    assert records(session) == [("0x" + keccak(text="LEDGER-PAY").hex(), "paid")]
    assert interbank_payments.pay(session, ib, alice, token.address, bank_b.address, ana, "10.00", "LEDGER-PAY").already
    message = one_line_error(interbank_payments.pay, session, ib, alice, token.address, token.address, ana, "1.00", "LEDGER-SAME")
    assert message.startswith("a payment within one bank is a plain transfer")


def test_the_ledger_must_be_the_paying_banks(ib, ledger, ops, token, bank_b, alice, interbank_people):
    ana = interbank_people["ana"]
    with ledger.new_session() as session:
        message = one_line_error(interbank_payments.pay, session, ib, ana, bank_b.address, token.address, alice, "1.00", "FROM-B")
    assert message == (f"this ledger belongs to token {token.address}, not the paying bank's EXUSB {bank_b.address}: "
                       "a payment is sent by the paying bank's tooling")


def test_queue_holds_payments_over_the_headroom_and_runs_them_in_order(
        ib, cli, session, token, bank_b, alice, interbank_people, chain, pauser, minter, tmp_path):
    people = interbank_people
    token.mint(alice, INITIAL, keccak(text="Q-FUNDING"), sender=minter)  # 20,000.00 to pay 14,500.00
    ana, operator_a = people["ana"], people["operator_a"]
    usb = ib.token(bank_b.address)
    net = ["--interbank", ib.address]
    relay = ["--ledger", "--queue", "--as", "27"]
    # the payer signs whatever the bank's headroom (it moves; the bank queues what does not fit)
    files = [signed_file(ib, alice, usb, ana, amount, pid, tmp_path)[1]
             for amount, pid in (("5000.00", "Q-1"), ("3000.00", "Q-2"), ("2000.00", "Q-3"), ("4500.00", "Q-4"), ("2500.00", "Q-P"))]

    first = cli("submit", str(files[0]), *relay)
    assert (first["already"], first["amount"]) == (False, 500_000) and first["tx"].startswith("0x")
    assert ib.bank(token.address).headroom == 400_000
    assert cli("submit", str(files[1]), *relay)["tx"]  # 3,000.00 fits: paid at once
    queued = [cli("submit", str(path), *relay) for path in files[2:4]]  # bank A may pay out 1,000.00 more: both wait
    assert [q["status"] for q in queued] == ["queued", "queued"]
    assert queued[0]["reason"] == ("bank EXUSD may pay out 1,000.00 EXUSD more now (its collateral less the haircut and "
                                   "its debit), less than 2,000.00 EXUSD")
    assert cli("submit", str(files[2]), *relay, code=1) == (
        f"error: payment id 0x{keccak(text='Q-3').hex()} is already queued in this ledger (#{queued[0]['record']})")
    without_queue = cli("submit", str(files[4]), "--ledger", "--as", "27", code=1)
    assert without_queue.startswith("error: bank EXUSD may pay out 1,000.00 EXUSD more now")
    # another refusal is not queued: it fails with its error
    bank_b.pause(sender=pauser)
    assert "EXUSB is paused" in cli("submit", str(files[4]), *relay, code=1)
    bank_b.unpause(sender=pauser)

    listed = cli("queue", "list")
    assert cli("queue", "list", as_json=False).splitlines()[1] == (
        f"#{queued[1]['record']} queued: payment {queued[1]['payment_id'][:10]}..., {alice.address} pays {ana.address} 4,500.00 EXUSD")
    assert [(r["record"], r["payment_id"], r["status"], r["amount"]) for r in listed] == [
        (q["record"], q["payment_id"], "queued", amount) for q, amount in zip(queued, (200_000, 450_000), strict=True)]
    # still no headroom: nothing sent, both wait, in order
    height = chain.blocks.height
    assert [(o["status"], o["detail"][:26]) for o in cli("queue", "run", *net, "--as", "27")] == [
        ("queued", "bank EXUSD may pay out 1,0"), ("queued", f"behind #{queued[0]['record']}")]
    assert chain.blocks.height == height

    # collateral posted: 2,000.00 more is 1,800.00 more headroom, 2,800.00 in all: Q-3 fits, Q-4 (4,500.00) waits
    ib.post_collateral(token.address, "2000.00", sender=operator_a)
    ran = cli("queue", "run", *net, "--as", "27")
    assert [(o["record"], o["status"]) for o in ran] == [(queued[0]["record"], "paid"), (queued[1]["record"], "queued")]
    assert ran[0]["tx"] == ib.payments(payment_id="Q-3")[0].tx
    # the cycle settles: bank A's debit (10,000.00) is paid out of its collateral (12,000.00): 1,800.00 headroom
    ib.settle_cycle(sender=people["settler"])
    assert (ib.bank(token.address).position, ib.bank(token.address).headroom) == (0, 180_000)
    assert [o["status"] for o in cli("queue", "run", *net, "--as", "27")] == ["queued"]
    ib.post_collateral(token.address, "3000.00", sender=operator_a)  # 5,000.00: 4,500.00 headroom, Q-4 fits
    ran = cli("queue", "run", *net, "--as", "27")
    assert [(o["record"], o["status"]) for o in ran] == [(queued[1]["record"], "paid")]
    assert cli("queue", "list") == []
    statuses = {r["payment_id"]: r["status"] for r in cli("queue", "list", "--all")}
    assert statuses == {"0x" + keccak(text=p).hex(): "paid" for p in ("Q-1", "Q-2", "Q-3", "Q-4")}
    assert bank_b.balanceOf(ana) == INITIAL + 1_450_000


def test_queue_marks_expired_payments_and_drops_on_request(ib, cli, session, token, bank_b, alice, interbank_people, chain, tmp_path):
    ana = interbank_people["ana"]
    usb = ib.token(bank_b.address)
    net = ["--interbank", ib.address]
    relay = ["--ledger", "--queue", "--as", "27"]
    # a payment of 9,000.00 takes all of bank A's headroom; two more wait
    cli("submit", str(signed_file(ib, alice, usb, ana, "8999.00", "E-0", tmp_path)[1]), *relay)
    soon = cli("submit", str(signed_file(ib, alice, usb, ana, "5.00", "E-1", tmp_path, 600)[1]), *relay)
    later = cli("submit", str(signed_file(ib, alice, usb, ana, "6.00", "E-2", tmp_path, 7200)[1]), *relay)
    assert soon["status"] == later["status"] == "queued"

    set_time(chain, chain.pending_timestamp + 3600)  # the first's signature has expired
    ran = cli("queue", "run", *net, "--as", "27")
    assert [(o["record"], o["status"]) for o in ran] == [(soon["record"], "expired"), (later["record"], "queued")]
    assert "expired" in ran[0]["detail"]
    dropped = cli("queue", "drop", str(later["record"]))
    assert (dropped["record"], dropped["status"]) == (later["record"], "dropped")
    assert cli("queue", "drop", str(later["record"]), code=1) == f"error: interbank payment #{later['record']} is dropped, not queued"
    assert cli("queue", "drop", "999", code=1) == "error: no interbank payment #999 in this ledger"
    assert cli("queue", "list") == []
    assert cli("queue", "run", *net, "--as", "27") == []
    assert ib.payments(payment_id="E-1") == ib.payments(payment_id="E-2") == []
    actions = [e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.action.like("interbank.%")).order_by(AuditEntry.id))]
    assert actions == ["interbank.paid", "interbank.queued", "interbank.queued", "interbank.expired", "interbank.dropped"]


def test_cli_rerun_says_already_paid_and_other_terms_fail_in_one_line(ib, cli, token, bank_b, alice, interbank_people, tmp_path):
    ana = interbank_people["ana"]
    net = ["--interbank", ib.address]
    args = [*net, "--from-token", "EXUSD", "--to-token", "EXUSB", "--to", ana.address, "--id", "CLI-LEDGER", "--ledger", "--as", "7"]
    paid = cli("pay", *args, "--amount", "12.00")
    assert (paid["already"], paid["amount"], paid["approve_tx"] is not None) == (False, 1_200, True)
    again = cli("pay", *args, "--amount", "12.00")
    assert (again["already"], again["tx"], again["record"]) == (True, paid["tx"], paid["record"])
    assert cli("pay", *args, "--amount", "12.00", as_json=False) == f"already paid in tx {paid['tx']}"
    other = cli("pay", *args, "--amount", "13.00", code=1)
    assert other.startswith(f"error: payment id 0x{keccak(text='CLI-LEDGER').hex()} was already used in the network with other terms")
